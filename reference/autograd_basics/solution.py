"""Reference solutions of the autograd-basics assignment (trusted side only).

Each follows the contract in the assignment spec literally: inputs are never
changed, returned tensors are detached, grad mode is left as found.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def _leaf_copy(t: torch.Tensor) -> torch.Tensor:
    return t.detach().clone().requires_grad_(True)


def f1(t, u):
    return t.pow(2).sum() + u.log().sum()


def grad_f1(t, u):
    t, u = _leaf_copy(t), _leaf_copy(u)
    with torch.enable_grad():
        f1(t, u).backward()
    return t.grad, u.grad


def grad_f1_analytic(t, u):
    t, u = t.detach(), u.detach()
    return 2 * t, 1 / u


def linear_bce_grads(x, y, w, b):
    w, b = _leaf_copy(w), _leaf_copy(b)
    with torch.enable_grad():
        z = x @ w + b
        loss = F.binary_cross_entropy_with_logits(z, y)
        loss.backward()
    return loss.detach(), w.grad, b.grad


def intermediate_grads(x, y, w, b):
    w, b = _leaf_copy(w), _leaf_copy(b)
    with torch.enable_grad():
        z = x @ w + b
        z.retain_grad()
        loss = F.binary_cross_entropy_with_logits(z, y)
        loss.retain_grad()
        loss.backward()
    return z.grad, loss.grad


def grad_f3(x, y, z):
    x, y, z = _leaf_copy(x), _leaf_copy(y), _leaf_copy(z)
    with torch.enable_grad():
        L = torch.sqrt(torch.sin(x * y + z) + 4)
        L.backward()
    return L.detach(), x.grad, y.grad, z.grad


def predict_no_grad(x, w, b):
    with torch.no_grad():
        return x @ w + b


def freeze_weight_(linear):
    linear.weight.requires_grad_(False)
    return linear


def sgd_step_(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p -= lr * p.grad
                p.grad = None


def train_step(linear, X, y, lr):
    with torch.enable_grad():
        linear.zero_grad()
        logits = linear(X).squeeze(1)
        loss = nn.BCEWithLogitsLoss()(logits, y)
        loss.backward()
    with torch.no_grad():
        linear.weight -= lr * linear.weight.grad
        linear.bias -= lr * linear.bias.grad
    return loss.item()


def accuracy(logits, y):
    predicted = (logits >= 0).to(y.dtype)
    return (predicted == y).sum().item() / y.numel()


def train_logreg(X, y, lr, epochs, seed):
    torch.manual_seed(seed)
    linear = nn.Linear(X.shape[1], 1).to(dtype=X.dtype, device=X.device)
    for _ in range(epochs):
        train_step(linear, X, y, lr)
    return linear
