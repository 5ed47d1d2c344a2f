"""Reference solutions of the autograd-advanced assignment (trusted side only).

Each follows the contract in the assignment spec literally: the caller's tensors are never
changed, returned tensors are detached unless the spec says otherwise, no hook is left behind.
"""

from __future__ import annotations

import torch


class SoftClip(torch.autograd.Function):
    """c·tanh(x/c), with the gradient grad_out·(1 − tanh²(x/c)) written by hand."""

    @staticmethod
    def forward(ctx, x, c):
        ctx.save_for_backward(x)
        ctx.c = c
        return c * torch.tanh(x / c)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * (1 - torch.tanh(x / ctx.c) ** 2), None


def soft_clip(x, c):
    """SoftClip applied to x: the result's grad_fn is SoftClip's node."""
    return SoftClip.apply(x, c)


class _GradReverse(torch.autograd.Function):
    """The identity forward; backward multiplies the upstream gradient by −lam."""

    @staticmethod
    def forward(ctx, x, lam):
        ctx.lam = lam
        return x.clone()

    @staticmethod
    def backward(ctx, grad_out):
        return -ctx.lam * grad_out, None


def grad_reverse(x, lam):
    """The values of x; the gradient reaching x through the result is −lam·g."""
    return _GradReverse.apply(x, lam)


def hvp(f, x, v):
    """H(x) @ v by double backward: grad of (∇f(x) · v) with respect to x, detached."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(f(x), x, create_graph=True)
    (product,) = torch.autograd.grad(grad, x, grad_outputs=v)
    return product.detach()


def gradient_penalty(critic, x):
    """mean over rows of (‖∂critic(x)ᵢ/∂xᵢ‖₂ − 1)², differentiable in the critic's parameters."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return ((grad.norm(dim=1) - 1) ** 2).mean()


def accumulate_grads_(model, X, y, micro_batch):
    """Leaves the full-batch MSE gradient in .grad from micro-batches weighted by size/N; returns the loss."""
    model.zero_grad(set_to_none=True)
    N = X.shape[0]
    for start in range(0, N, micro_batch):
        Xc, yc = X[start : start + micro_batch], y[start : start + micro_batch]
        loss = ((model(Xc).squeeze(1) - yc) ** 2).mean()
        (loss * (Xc.shape[0] / N)).backward()
    with torch.no_grad():
        return float(((model(X).squeeze(1) - y) ** 2).mean())


def consistency_loss(net, x1, x2):
    """mean((net(x1) − net(x2).detach())²): gradient flows only through the x1 branch."""
    return ((net(x1) - net(x2).detach()) ** 2).mean()


def jacobian(f, x):
    """J[i, j] = ∂f(x)ᵢ/∂xⱼ, row by row with one-hot grad_outputs, detached, shape (m, n)."""
    x = x.detach().requires_grad_(True)
    out = f(x)
    eye = torch.eye(out.numel(), dtype=out.dtype, device=out.device)
    rows = [torch.autograd.grad(out, x, grad_outputs=e, retain_graph=True)[0] for e in eye]
    return torch.stack(rows).detach()
