"""Typical buggy versions of the reference functions (trusted side only).

The misconception detectors run these on a failing input and ask whether
the student's function did exactly the same.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def train_step_keeps_old_grad(linear, X, y, lr):
    logits = linear(X).squeeze(1)
    loss = nn.BCEWithLogitsLoss()(logits, y)
    loss.backward()
    with torch.no_grad():
        linear.weight -= lr * linear.weight.grad
        linear.bias -= lr * linear.bias.grad
    return loss.item()


def train_logreg_keeps_old_grad(X, y, lr, epochs, seed):
    torch.manual_seed(seed)
    linear = nn.Linear(X.shape[1], 1).to(dtype=X.dtype, device=X.device)
    for _ in range(epochs):
        train_step_keeps_old_grad(linear, X, y, lr)
    return linear


def train_step_cross_entropy(linear, X, y, lr):
    linear.zero_grad()
    loss = F.cross_entropy(linear(X).squeeze(1), y)
    loss.backward()
    with torch.no_grad():
        linear.weight -= lr * linear.weight.grad
        linear.bias -= lr * linear.bias.grad
    return loss.item()


def _bce_variant(loss_of):
    def variant(x, y, w, b):
        w = w.detach().clone().requires_grad_(True)
        b = b.detach().clone().requires_grad_(True)
        loss = loss_of(x @ w + b, y)
        loss.backward()
        return loss.detach(), w.grad, b.grad

    return variant


linear_cross_entropy = _bce_variant(F.cross_entropy)
linear_bce_sum = _bce_variant(lambda z, y: F.binary_cross_entropy_with_logits(z, y, reduction="sum"))
linear_sigmoid_twice = _bce_variant(lambda z, y: F.binary_cross_entropy_with_logits(torch.sigmoid(z), y))


def accuracy_at(threshold: float, *, strict: bool):
    def variant(logits, y):
        predicted = (logits > threshold) if strict else (logits >= threshold)
        return (predicted.to(y.dtype) == y).sum().item() / y.numel()

    return variant
