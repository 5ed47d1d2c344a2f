"""Classic autograd mistakes, recognised on the smallest failing input.

A detector looks at the smallest failing call (and a few other failing
calls). Where a mistake has a typical implementation (``variants.py``), the
detector runs that buggy variant on the same inputs, on the trusted side, and
asks whether the student's function did exactly the same; otherwise it reads
the observed facts.
"""

from __future__ import annotations

import re

import numpy as np

from grader.authoring import Evidence, Misconception
from grader.observation import TensorFact

_LEAF_IN_PLACE = "a leaf Variable that requires grad is being used in an in-place operation"


# -- detectors --------------------------------------------------------------------------


def _variants():
    from . import variants  # imports torch: only when a detector needs a variant

    return variants


def _root(path: str) -> str:
    return re.split(r"[.\[]", path.split(": ")[-1], maxsplit=1)[0]


def _caller_tensors_changed(ev: Evidence) -> bool:
    args = {name for name, _ in ev.case.args}
    return any(": " not in m.path and _root(m.path) in args for m in ev.mismatches)


def _grad_mode_left_off(ev: Evidence) -> bool:
    return ev.fact("grad_mode") is False and ev.expected_fact("grad_mode") is True


def _not_detached(ev: Evidence) -> bool:
    return any(
        path.startswith("return")
        and path.endswith(".requires_grad")
        and fact is True
        and ev.expected_fact(path) is False
        for path, fact in ev.student.facts.items()
    )


def _retain_grad_missing(ev: Evidence) -> bool:
    return any(
        path.startswith("return[") and fact is None and isinstance(ev.expected_fact(path), TensorFact)
        for path, fact in ev.student.facts.items()
    )


def _update_in_graph(ev: Evidence) -> bool:
    if ev.error_mentions(_LEAF_IN_PLACE, "cannot assign", "can't be assigned"):
        return True
    for path, fact in ev.student.facts.items():
        if path.startswith("return") or ": " in path:
            continue
        if path.endswith(".now.grad_fn") and fact is True:
            return True
        if path.endswith(".grad_fn") and fact is True and ev.expected_fact(path) is False:
            return True
        if path.endswith(".is_leaf") and fact is False and ev.expected_fact(path) is True:
            return True
    return False


def _rebinding(ev: Evidence) -> bool:
    if ev.error is not None or _update_in_graph(ev):
        return False
    for path, fact in ev.student.facts.items():
        if path.endswith(".same_object") and fact is False and ev.expected_fact(path) is True:
            return True
    for path, before in ev.initial_values().items():
        got, want = ev.fact(path), ev.expected_fact(path)
        if not (isinstance(got, TensorFact) and isinstance(want, TensorFact)):
            continue
        if got.values is None or want.values is None or got.values.shape != before.shape:
            continue
        reference_moved = not np.array_equal(want.values, before)
        if reference_moved and np.array_equal(got.values, before):
            return True
    return False


def _grad_not_cleared(ev: Evidence) -> bool:
    if ev.case.args and ev.check.target == "train_logreg":
        return ev.behaves_like(_variants().train_logreg_keeps_old_grad, facts=("return.weight", "return.bias"))
    return ev.behaves_like(_variants().train_step_keeps_old_grad, parts=("update",))


def _threshold_half(ev: Evidence) -> bool:
    return any(ev.behaves_like(_variants().accuracy_at(0.5, strict=s), parts=("value",)) for s in (False, True))


def _zero_logit_as_class_0(ev: Evidence) -> bool:
    return ev.behaves_like(_variants().accuracy_at(0.0, strict=True), parts=("value",))


def _cross_entropy(ev: Evidence) -> bool:
    if ev.check.target == "train_step":
        return ev.behaves_like(_variants().train_step_cross_entropy, parts=("loss", "update"))
    return ev.behaves_like(_variants().linear_cross_entropy, parts=("loss", "gradients"))


MISCONCEPTIONS = {
    m.id: m
    for m in (
        Misconception(
            "grad_not_cleared",
            "gradient not cleared before backward()",
            "backward() adds to .grad instead of overwriting it, so the stale gradient already in "
            ".grad was added to the fresh one. Clear the gradients first (linear.zero_grad(), or "
            "p.grad = None for each parameter), then call loss.backward().",
            _grad_not_cleared,
        ),
        Misconception(
            "update_in_graph",
            "parameter update recorded in the graph or done outside torch.no_grad()",
            "An update of a parameter must not become part of the computation graph: the parameter "
            "has to stay a leaf. Do it in place inside torch.no_grad(): "
            "`with torch.no_grad(): p -= lr * p.grad`.",
            _update_in_graph,
        ),
        Misconception(
            "rebinding",
            "rebinding p = p - lr * p.grad instead of updating in place",
            "`p = p - lr * p.grad` creates a new tensor and binds the name p to it; the caller's "
            "tensor (the one the model and optimizer hold) does not change. Change the tensor "
            "itself: `with torch.no_grad(): p -= lr * p.grad` (or p.sub_(lr * p.grad)).",
            _rebinding,
        ),
        Misconception(
            "retain_grad_missing",
            "retain_grad() missing",
            "PyTorch keeps .grad only for leaf tensors; for an intermediate node such as z or loss "
            "it stays None. Call z.retain_grad() and loss.retain_grad() before loss.backward().",
            _retain_grad_missing,
        ),
        Misconception(
            "caller_tensors_mutated",
            "the caller's tensors were changed",
            "The function changed a tensor it was given (its values, requires_grad or .grad). Work "
            "on copies: `t = t.detach().clone().requires_grad_(True)` instead of t.requires_grad_(), "
            "and never write into the inputs.",
            _caller_tensors_changed,
        ),
        Misconception(
            "grad_mode_left_off",
            "grad mode left off",
            "torch.set_grad_enabled(False) switches gradient tracking off for everything that runs "
            "afterwards, also outside your function. Use `with torch.no_grad():`, which restores the "
            "previous mode when the block ends.",
            _grad_mode_left_off,
        ),
        Misconception(
            "returns_not_detached",
            "returned tensors still attached to the graph",
            "A returned tensor requires grad, so it keeps the whole computation graph alive. Return "
            "loss.detach() (or loss.item() for a number) and gradients taken from .grad.",
            _not_detached,
        ),
        Misconception(
            "threshold_logits_at_half",
            "logits thresholded at 0.5 instead of 0",
            "A logit is log(p / (1 - p)): the probability is at least 0.5 exactly when the logit is "
            "at least 0. Threshold the logits at 0 (logits >= 0), or apply torch.sigmoid first and "
            "threshold the probability at 0.5.",
            _threshold_half,
        ),
        Misconception(
            "zero_logit_as_class_0",
            "a logit of exactly 0 counted as class 0",
            "A logit of 0 means probability 0.5, which the task counts as class 1: use logits >= 0, not logits > 0.",
            _zero_logit_as_class_0,
        ),
        Misconception(
            "cross_entropy_for_binary",
            "cross_entropy used for a binary target",
            "F.cross_entropy is the multi-class loss: it applies a softmax across the last dimension, "
            "coupling outputs that are independent binary logits here. Use "
            "F.binary_cross_entropy_with_logits(z, y) (or nn.BCEWithLogitsLoss()).",
            _cross_entropy,
        ),
        Misconception(
            "sum_instead_of_mean",
            "loss summed instead of averaged",
            "The loss asked for is the mean over all elements (reduction='mean', the default); a sum "
            "scales the loss and its gradients by the number of elements.",
            lambda ev: ev.behaves_like(_variants().linear_bce_sum, parts=("loss", "gradients")),
        ),
        Misconception(
            "sigmoid_applied_twice",
            "sigmoid applied before a loss that expects logits",
            "binary_cross_entropy_with_logits applies the sigmoid itself; pass it the raw logits z, "
            "not torch.sigmoid(z).",
            lambda ev: ev.behaves_like(_variants().linear_sigmoid_twice, parts=("loss", "gradients")),
        ),
    )
}
