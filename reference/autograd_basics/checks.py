"""Which observed facts make up each gradable part of each exercise.

Fact paths are described in ``grader.observe.observation``; ``*`` stands for one
path step. The rubric gives each part its points.
"""

from __future__ import annotations

import numpy as np

from grader.authoring import (
    N_,
    Case,
    Check,
    Kind,
    Observation,
    Part,
    TensorArg,
    TensorFact,
    _,
    decimal,
    kind_of,
    side_effects,
    unchanged,
)

from . import domains

# Texts a student reads are marked N_ and translated where they are shown; formulas and code
# ("∂L/∂x", "x @ w + b") read the same in every language and are not.
E1_LABELS = {"return[0]": N_("∂f/∂t (returned value 1)"), "return[1]": N_("∂f/∂u (returned value 2)")}
E2_LABELS = {"return[0]": N_("the loss"), "return[1]": "∂loss/∂w", "return[2]": "∂loss/∂b"}
E3_LABELS = {"return[0]": "∂loss/∂z (z.grad)", "return[1]": "∂loss/∂loss (loss.grad)"}
E4_LABELS = {"return[0]": "L", "return[1]": "∂L/∂x", "return[2]": "∂L/∂y", "return[3]": "∂L/∂z"}


def _training_loss(X: np.ndarray, y: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> float:
    """The BCE loss of trained parameters; nan or inf (diverged training) come back as they are, silently."""
    with np.errstate(all="ignore"):
        z = X.astype(np.float64) @ weight.astype(np.float64).reshape(-1) + float(bias.reshape(-1)[0])
        y = y.astype(np.float64)
        return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))


def _module_loss(obs: Observation, case: Case) -> tuple[float | None, str]:
    args = dict(case.args)
    X, y = args["X"], args["y"]
    assert isinstance(X, TensorArg) and isinstance(y, TensorArg)
    module = obs.facts.get("return")
    if not isinstance(module, Kind) or module.kind != "module":
        return None, _("train_logreg returned {got}, expected the trained nn.Linear").format(got=kind_of(module))
    weight, bias = obs.facts.get("return.weight"), obs.facts.get("return.bias")
    d = X.data.shape[1]
    if not isinstance(weight, TensorFact) or weight.shape != (1, d) or weight.values is None:
        return None, _("the returned module has no weight of shape (1, {d}): expected nn.Linear({d}, 1)").format(d=d)
    if not isinstance(bias, TensorFact) or bias.shape != (1,) or bias.values is None:
        return None, _("the returned module has no bias of shape (1,): expected nn.Linear(d, 1) with a bias")
    return _training_loss(X.data, y.data, weight.values, bias.values), ""


def _trained_as_well(student: Observation, reference: Observation, case: Case) -> list[str]:
    got, problem = _module_loss(student, case)
    if got is None:
        return [problem]
    want = _module_loss(reference, case)[0]
    assert want is not None
    limit = want * 1.01 + 1e-4
    if not np.isfinite(got) or got > limit:
        return [
            _(
                "the returned module's training loss is {got}; the reference reaches {want} "
                "with the same data, lr, epochs and seed (at most {limit} passes)"
            ).format(got=decimal(f"{got:.6g}"), want=decimal(f"{want:.6g}"), limit=decimal(f"{limit:.6g}"))
        ]
    return []


_T_U = ("t", "u")
_XYWB = ("x", "y", "w", "b")
_PARAMS = "params[*]"

CHECKS = {
    "e1_value": Check(
        target="f1",
        cases=domains.f1_inputs(vary_requires_grad=True),
        parts=(
            Part("value", N_("the value of f as a 0-dim tensor"), ("return",)),
            Part(
                "differentiable",
                N_("the result requires grad when t or u do, and backward() reaches them"),
                (
                    "return.requires_grad",
                    "after backward(): error",
                    "after backward(): t.grad",
                    "after backward(): u.grad",
                ),
            ),
            side_effects(*_T_U, detached=None),
        ),
        labels={"return": "f(t, u)"},
    ),
    "e1_autograd": Check(
        target="grad_f1",
        cases=domains.f1_inputs(),
        parts=(
            Part("gradients", N_("∂f/∂t and ∂f/∂u"), ("return", "return[0]", "return[1]")),
            side_effects(*_T_U),
        ),
        labels=E1_LABELS,
    ),
    "e1_analytic": Check(
        target="grad_f1_analytic",
        cases=domains.f1_analytic_inputs(),
        parts=(
            Part("gradients", N_("2t and 1/u, also inside torch.no_grad()"), ("return", "return[0]", "return[1]")),
            side_effects(*_T_U),
        ),
        labels=E1_LABELS,
    ),
    "e2_grads": Check(
        target="linear_bce_grads",
        cases=domains.linear_inputs(),
        parts=(
            Part("loss", N_("the mean binary cross-entropy on the logits z = x @ w + b"), ("return", "return[0]")),
            Part("gradients", N_("∂loss/∂w and ∂loss/∂b"), ("return", "return[1]", "return[2]")),
            side_effects(*_XYWB),
        ),
        labels=E2_LABELS,
    ),
    "e3_retain_grad": Check(
        target="intermediate_grads",
        cases=domains.linear_inputs(),
        parts=(
            Part("z_grad", N_("∂loss/∂z, the .grad of the non-leaf node z"), ("return", "return[0]")),
            Part(
                "loss_grad", N_("∂loss/∂loss, the .grad of loss (a 0-dim tensor equal to 1)"), ("return", "return[1]")
            ),
            side_effects(*_XYWB),
        ),
        labels=E3_LABELS,
    ),
    "e4_grads": Check(
        target="grad_f3",
        cases=domains.f3_inputs(),
        parts=(
            Part("value", "L = sqrt(sin(x·y + z) + 4)", ("return", "return[0]")),
            Part("gradients", N_("∂L/∂x, ∂L/∂y and ∂L/∂z"), ("return", "return[1]", "return[2]", "return[3]")),
            side_effects("x", "y", "z"),
        ),
        labels=E4_LABELS,
    ),
    "e5_no_grad": Check(
        target="predict_no_grad",
        cases=domains.linear_inputs(weights_require_grad=True, with_target=False),
        parts=(
            Part("value", "x @ w + b", ("return",)),
            Part(
                "no_history",
                N_("the result does not require grad and has no grad_fn"),
                ("return.requires_grad", "return.grad_fn"),
            ),
            side_effects("x", "w", "b", detached=None),
        ),
        labels={"return": N_("the prediction")},
    ),
    "e5_freeze": Check(
        target="freeze_weight_",
        cases=domains.freeze_inputs(),
        parts=(
            Part(
                "weight_frozen",
                N_("weight.requires_grad is False and weight.grad stays None after backward()"),
                ("linear.weight.requires_grad", "after a forward and backward pass: linear.weight.grad"),
            ),
            Part(
                "bias_trainable",
                N_("the bias still requires grad and gets its gradient"),
                (
                    "linear.bias.requires_grad",
                    "after a forward and backward pass: error",
                    "after a forward and backward pass: linear.bias.grad",
                ),
            ),
            Part(
                "same_parameters",
                N_("the module keeps its parameter objects and their values"),
                ("linear.weight", "linear.bias", "linear.weight.same_object", "linear.bias.same_object", "grad_mode"),
            ),
        ),
    ),
    "e6_sgd_step": Check(
        target="sgd_step_",
        cases=domains.sgd_inputs(),
        parts=(
            Part(
                "update",
                N_("p ← p − lr·p.grad in place, on the caller's tensor objects"),
                ("params", _PARAMS, f"{_PARAMS}.same_object"),
            ),
            Part(
                "still_leaves",
                N_("the tensors stay leaves that require grad, with no grad_fn"),
                (f"{_PARAMS}.is_leaf", f"{_PARAMS}.requires_grad", f"{_PARAMS}.grad_fn", "grad_mode"),
            ),
            Part("grad_cleared", N_("afterwards .grad is None or all zeros"), (f"{_PARAMS}.grad_cleared",)),
        ),
    ),
    "e7_train_step": Check(
        target="train_step",
        cases=domains.train_step_inputs(),
        parts=(
            Part("loss", N_("the loss before the update, as a Python float"), ("return",)),
            Part(
                "update",
                N_("weight and bias updated in place by lr times their fresh gradient"),
                ("linear.weight", "linear.bias", "linear.weight.same_object", "linear.bias.same_object"),
            ),
            Part(
                "still_leaves",
                N_("the parameters stay leaves that require grad, with no history; X, y and grad mode untouched"),
                (
                    "linear.*.is_leaf",
                    "linear.*.requires_grad",
                    "linear.*.grad_fn",
                    *unchanged("X", "y"),
                ),
            ),
        ),
        labels={"return": N_("the returned loss")},
        edges=domains.train_step_edges(),
    ),
    "e7_accuracy": Check(
        target="accuracy",
        cases=domains.accuracy_inputs(),
        parts=(
            Part(
                "value",
                N_("the fraction of correct predictions (class 1 when logit ≥ 0), as a Python float"),
                ("return",),
            ),
            side_effects("logits", "y", detached=None),
        ),
        labels={"return": N_("the accuracy")},
        edges=domains.accuracy_edges(),
    ),
    "e7_train_logreg": Check(
        target="train_logreg",
        cases=domains.train_logreg_inputs(),
        parts=(
            Part(
                "trained",
                N_("the returned nn.Linear reaches the reference's training loss (× 1.01 + 1e-4)"),
                judge=_trained_as_well,
            ),
            side_effects("X", "y", detached=None),
        ),
        edges=domains.train_logreg_edges(),
        examples=20,  # each call trains for up to 200 epochs; grade mutate kills the same mutants with 100
    ),
}
