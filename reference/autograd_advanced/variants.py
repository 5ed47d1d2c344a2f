"""Typical buggy versions of the reference functions (trusted side only).

The misconception detectors run these on a failing input and ask whether the
student's function did exactly the same.
"""

from __future__ import annotations

import torch


def penalty_norm_over_batch(critic, x):
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return (grad.norm() - 1) ** 2


def _accumulate(model, X, y, micro_batch, *, clear=True, weight=None, zero_each=False):
    if clear:
        model.zero_grad()
    chunks = range(0, len(X), micro_batch)
    for start in chunks:
        if zero_each:
            model.zero_grad()
        Xc, yc = X[start : start + micro_batch], y[start : start + micro_batch]
        share = weight(len(chunks)) if weight else len(Xc) / len(X)
        (((model(Xc).squeeze(1) - yc) ** 2).mean() * share).backward()
    with torch.no_grad():
        return float(((model(X).squeeze(1) - y) ** 2).mean())


def accumulate_unweighted(model, X, y, micro_batch):
    return _accumulate(model, X, y, micro_batch, weight=lambda chunks: 1 / chunks)


def accumulate_zero_grad_in_loop(model, X, y, micro_batch):
    return _accumulate(model, X, y, micro_batch, zero_each=True)


def accumulate_keeping_stale(model, X, y, micro_batch):
    return _accumulate(model, X, y, micro_batch, clear=False)


def consistency_without_detach(net, x1, x2):
    return ((net(x1) - net(x2)) ** 2).mean()


def consistency_detaching_x1(net, x1, x2):
    return ((net(x1).detach() - net(x2)) ** 2).mean()
