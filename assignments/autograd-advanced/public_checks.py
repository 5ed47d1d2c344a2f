"""Public self-checks of the autograd-advanced assignment: `grade check notebook.ipynb`, or `grader.check("a1")`.

They use only what the exercises state (the formulas, the rules for every function) and torch's own autograd on
a few fixed inputs. They are not the grading, which draws many more inputs: passing them is necessary, not sufficient.
The texts a student reads are marked with `_()` and translated in locale/<lang>/LC_MESSAGES/public_checks.po
beside this file; formulas are not.
"""

import torch
import torch.nn as nn

from grader.child.selfcheck import _

# The course's language: what grader.check() speaks where the course's rubric is not at hand.
LANGUAGE = "pl"

EXERCISES = {
    "a1": ["a1.forward", "a1.backward"],
    "a2": ["a2.reverse"],
    "a3": ["a3.hvp", "a3.penalty"],
    "a4": ["a4.accumulate"],
    "a5": ["a5.stop_grad"],
    "a6": ["a6.jacobian"],
}

_rng = torch.Generator().manual_seed(2025)
F32, F64 = torch.float32, torch.float64


def _uniform(shape, low, high, dtype=F32):
    return (low + (high - low) * torch.rand(shape, generator=_rng, dtype=F64)).to(dtype)


def _filled(module, dtype):  # parameters drawn from this file's generator (the global seed untouched)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(_uniform(p.shape, -1, 1))
    return module.to(dtype)


# -- exercise 1 ----------------------------------------------------------------------

_CLIPS = ((torch.tensor([-10, -1, 0, 0.5, 3]), 2.0), (_uniform((3, 4), -50, 50, F64), 0.5), (torch.tensor(1.7), 10.0))


def a1_forward(check, soft_clip):
    for x, c in _CLIPS:
        out = check.call_keeping(soft_clip, x, c, keep={"x": x})
        check.close("soft_clip(x, c) = c·tanh(x/c)", out, c * torch.tanh(x / c))
        out = check.call(soft_clip, x.clone().requires_grad_(True), c)
        node = type(getattr(out, "grad_fn", None)).__name__
        check.expect(
            node == "SoftClipBackward",
            _("the result's grad_fn is SoftClipBackward"),
            _("got {node}: use SoftClip.apply").format(node=node),
        )


def a1_backward(check, soft_clip):
    for x, c in _CLIPS:
        leaf = x.clone().requires_grad_(True)
        out = check.call(soft_clip, leaf, c)
        if not check.requires_grad(out, _("the result"), _("build it with SoftClip.apply(x, c)")):
            return
        g = _uniform(out.shape, -2, 2, x.dtype)  # not all ones: backward must use grad_out
        out.backward(g)
        want = g * (1 - torch.tanh(x / c) ** 2)
        check.close(_("x.grad = g·(1 − tanh²(x/c)) for an upstream gradient g"), leaf.grad, want)
        check.no_hooks_left({"x": leaf})
    x = _uniform((3, 4), -3, 3, F64).requires_grad_(True)
    passed = torch.autograd.gradcheck(lambda t: check.call(soft_clip, t, 1.5), (x,), raise_exception=False)
    check.expect(
        passed, _("torch.autograd.gradcheck passes in float64"), _("backward does not match finite differences")
    )


# -- exercise 2 ----------------------------------------------------------------------


def a2_reverse(check, grad_reverse):
    for shape, lam, dtype in (((5,), 0.5, F32), ((2, 3), 3.0, F64), ((), 0.0, F64)):
        x = _uniform(shape, -100, 100, dtype).requires_grad_(True)
        x.grad = _uniform(shape, -1, 1, dtype) if lam > 1 else None  # a .grad the call must leave as it is
        out = check.call_keeping(grad_reverse, x, lam, keep={"x": x})
        check.close(_("the result has the values of x"), out, x.detach())
        if not check.requires_grad(out, _("the result"), _("do not detach it")):
            return
        g, old = _uniform(shape, -2, 2, dtype), x.grad.clone() if x.grad is not None else torch.zeros_like(x)
        out.backward(g)
        check.close(_("backward() with upstream g adds −lam·g to x.grad"), x.grad, old - lam * g)
        check.no_hooks_left({"x": x})


# -- exercise 3 ----------------------------------------------------------------------


def _scalar_fs(A):
    return lambda x: (torch.sin(x) * x**2).sum(), lambda x: torch.logsumexp(x, 0), lambda x: ((A @ x) ** 4).sum()


def a3_hvp(check, hvp):
    for n, dtype in ((1, F64), (5, F32), (16, F64)):
        for f in _scalar_fs(_uniform((n, n), -1, 1, dtype)):
            x, v = _uniform((n,), -3, 3, dtype), _uniform((n,), -3, 3, dtype)
            got = check.call_keeping(hvp, f, x, v, keep={"x": x, "v": v})
            tol = {"rtol": 1e-7, "atol": 1e-9} if dtype == F64 else {"rtol": 1e-4, "atol": 1e-4}
            want = torch.autograd.functional.hvp(f, x, v)[1]
            check.close(_("H(x) @ v, exact (as torch.autograd.functional.hvp gives it)"), got, want, **tol)
            check.detached(_("the result is detached"), got)


def _penalty(critic, x, create_graph=False):  # the exercise's formula: mean over rows of (‖input gradient‖ − 1)²
    x = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x).sum(), x, create_graph=create_graph)
    return ((g.norm(dim=1) - 1) ** 2).mean()


def a3_penalty(check, gradient_penalty):
    for d, h, N, dtype in ((2, 5, 6, F32), (1, 1, 1, F64), (8, 16, 32, F64)):
        critic = _filled(nn.Sequential(nn.Linear(d, h), nn.Tanh(), nn.Linear(h, 1)), dtype)
        params, x = list(critic.parameters()), _uniform((N, d), -3, 3, dtype)
        gp = check.call_keeping(gradient_penalty, critic, x, keep={"x": x})
        check.close(_("mean over rows of (‖∂critic(x)ᵢ/∂xᵢ‖₂ − 1)²"), gp, _penalty(critic, x))
        check.grads_none(params, _("the critic"), _("take the input gradient with torch.autograd.grad, not backward()"))
        if not check.requires_grad(gp, _("the penalty"), _("use create_graph=True and do not detach")):
            return
        gp.backward()
        wanted = torch.autograd.grad(_penalty(critic, x, True), params, allow_unused=True)
        fills = _("penalty.backward() fills the critic's .grad with the penalty's gradient")
        check.close_grads(fills, params, wanted)
        check.no_hooks_left(dict(critic.named_parameters()))


# -- exercise 4 ----------------------------------------------------------------------


def a4_accumulate(check, accumulate_grads_):
    for d, N, micro, dtype in ((3, 10, 3, F32), (2, 7, 7, F64), (4, 5, 1, F64)):
        model = _filled(nn.Linear(d, 1), dtype)
        params, X, y = list(model.parameters()), _uniform((N, d), -3, 3, dtype), _uniform((N,), -3, 3, dtype)
        for p in params:
            p.grad = torch.ones_like(p) if micro < N else None  # a stale .grad must not count
        W, b = (p.detach().clone().requires_grad_(True) for p in params)
        full = (((X @ W.T + b).squeeze(1) - y) ** 2).mean()  # the exercise's full-batch loss
        wanted = torch.autograd.grad(full, (W, b))
        loss = check.call_keeping(accumulate_grads_, model, X, y, micro, keep={"X": X, "y": y})
        check.close(_("returns the full-batch loss as a Python float"), loss, float(full.detach()))
        same = [p is q and torch.equal(p, r) for p, q, r in zip(model.parameters(), params, (W, b), strict=True)]
        check.expect(all(same), _("the parameters: same objects, same values"), _("do not update or replace them"))
        holds = _(".grad holds the full-batch gradient (chunk losses weighted by size/N)")
        check.close_grads(holds, params, wanted)
        check.no_hooks_left(dict(model.named_parameters()))


# -- exercise 5 ----------------------------------------------------------------------


def a5_stop_grad(check, consistency_loss):
    for d, k, N, dtype in ((3, 2, 4, F32), (1, 1, 1, F64), (8, 8, 32, F64)):
        net = _filled(nn.Linear(d, k), dtype)
        params, x1, x2 = list(net.parameters()), _uniform((N, d), -3, 3, dtype), _uniform((N, d), -3, 3, dtype)
        loss = check.call_keeping(consistency_loss, net, x1, x2, keep={"x1": x1, "x2": x2})
        W, b = (p.detach().clone().requires_grad_(True) for p in params)
        want = ((x1 @ W.T + b - (x2 @ W.T + b).detach()) ** 2).mean()  # the x2 branch: a constant
        check.close("mean((net(x1) − net(x2))²)", loss, want.detach())
        check.grads_none(params, _("the net"), _("do not call backward() inside the function"))
        if not check.requires_grad(loss, _("the loss"), _("detach only the x2 branch")):
            return
        loss.backward()
        wanted = torch.autograd.grad(want, (W, b))
        check.close_grads(_("gradient only through the x1 branch (net(x2).detach())"), params, wanted)
        check.no_hooks_left(dict(net.named_parameters()))


# -- exercise 6 ----------------------------------------------------------------------


def _vector_fs(A, b):
    square = [lambda x: torch.softmax(x, 0), lambda x: x * torch.cumsum(x, 0)] if A.shape[0] == A.shape[1] else []
    return [lambda x: torch.tanh(A @ x + b), *square]


def a6_jacobian(check, jacobian):
    for n, m, dtype in ((4, 3, F32), (5, 5, F64), (1, 1, F64)):
        for f in _vector_fs(_uniform((m, n), -1, 1, dtype), _uniform((m,), -1, 1, dtype)):
            x = _uniform((n,), -3, 3, dtype)
            J = check.call_keeping(jacobian, f, x, keep={"x": x})
            check.close(_("J[i, j] = ∂f(x)ᵢ/∂xⱼ, shape (m, n)"), J, torch.autograd.functional.jacobian(f, x))
            check.detached(_("the result is detached"), J)
