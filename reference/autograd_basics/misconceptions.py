"""Classic autograd mistakes, recognised on the smallest failing input.

The mistakes of any autograd exercise come from ``grader.authoring``; the ones
here are this assignment's own. Each has a typical implementation
(``variants.py``): the detector runs that buggy variant on the smallest failing
input (and a few other failing ones), on the trusted side, and asks whether the
student's function did exactly the same.
"""

from __future__ import annotations

from grader.authoring import AUTOGRAD_MISCONCEPTIONS, N_, Evidence, Misconception

# -- detectors --------------------------------------------------------------------------


def _variants():
    from . import variants  # imports torch: only when a detector needs a variant

    return variants


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


def _weight_replaced(ev: Evidence) -> bool:
    return ev.fact("linear.weight.same_object") is False and ev.expected_fact("linear.weight.same_object") is True


_OWN = {
    m.id: m
    for m in (
        Misconception(
            "weight_replaced",
            N_("the weight replaced by a new parameter"),
            N_(
                "linear.weight = nn.Parameter(...) puts a new tensor into the module: whoever holds the old "
                "one (an optimizer made before, the caller) never sees it frozen. Freeze the weight the module "
                "already has, in place: linear.weight.requires_grad_(False)."
            ),
            _weight_replaced,
        ),
        Misconception(
            "grad_not_cleared",
            N_("gradient not cleared before backward()"),
            N_(
                "backward() adds to .grad instead of overwriting it, so the stale gradient already in "
                ".grad was added to the fresh one. Clear the gradients first (linear.zero_grad(), or "
                "p.grad = None for each parameter), then call loss.backward()."
            ),
            _grad_not_cleared,
        ),
        Misconception(
            "threshold_logits_at_half",
            N_("logits thresholded at 0.5 instead of 0"),
            N_(
                "A logit is log(p / (1 - p)): the probability is at least 0.5 exactly when the logit is "
                "at least 0. Threshold the logits at 0 (logits >= 0), or apply torch.sigmoid first and "
                "threshold the probability at 0.5."
            ),
            _threshold_half,
        ),
        Misconception(
            "zero_logit_as_class_0",
            N_("a logit of exactly 0 counted as class 0"),
            N_(
                "A logit of 0 means probability 0.5, which the task counts as class 1: use logits >= 0, not logits > 0."
            ),
            _zero_logit_as_class_0,
        ),
        Misconception(
            "cross_entropy_for_binary",
            N_("cross_entropy used for a binary target"),
            N_(
                "F.cross_entropy is the multi-class loss: it applies a softmax across the last dimension, "
                "coupling outputs that are independent binary logits here. Use "
                "F.binary_cross_entropy_with_logits(z, y) (or nn.BCEWithLogitsLoss())."
            ),
            _cross_entropy,
        ),
        Misconception(
            "sum_instead_of_mean",
            N_("loss summed instead of averaged"),
            N_(
                "The loss asked for is the mean over all elements (reduction='mean', the default); a sum "
                "scales the loss and its gradients by the number of elements."
            ),
            lambda ev: ev.behaves_like(_variants().linear_bce_sum, parts=("loss", "gradients")),
        ),
        Misconception(
            "sigmoid_applied_twice",
            N_("sigmoid applied before a loss that expects logits"),
            N_(
                "binary_cross_entropy_with_logits applies the sigmoid itself; pass it the raw logits z, "
                "not torch.sigmoid(z)."
            ),
            lambda ev: ev.behaves_like(_variants().linear_sigmoid_twice, parts=("loss", "gradients")),
        ),
    )
}
# The classic mistakes of any autograd exercise, and this assignment's own.
MISCONCEPTIONS = {**AUTOGRAD_MISCONCEPTIONS, **_OWN}
