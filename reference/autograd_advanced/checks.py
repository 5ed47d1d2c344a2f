"""Which observed facts make up each gradable part of each exercise.

Fact paths are described in ``grader.observe.observation``; ``*`` stands for
one path step, ``**`` for any. The rubric gives each part its points.
"""

from __future__ import annotations

from grader.authoring import Check, Part, side_effects, unchanged

from . import domains

_BACKWARD, _PATH = "after backward(g)", "after another backward through x"


def _frozen(module: str, *params: str) -> tuple[str, ...]:
    """The module's parameters: the same objects, the same values, .grad as given."""
    return tuple(f"{module}.{p}{s}" for p in params for s in ("", ".grad", ".same_object", ".requires_grad"))


def _backward_reaches(module: str, *params: str) -> tuple[str, ...]:
    return (
        "return.requires_grad",
        "after backward(): error",
        *(f"after backward(): {module}.{p}.grad" for p in params),
    )


CHECKS = {
    "soft_clip_forward": Check(
        target="soft_clip",
        cases=domains.soft_clip_inputs(),
        parts=(
            Part("value", "c·tanh(x / c)", ("return",)),
            Part(
                "node",
                "the result's grad_fn is SoftClip's node when x requires grad",
                ("return.requires_grad", "return.node"),
            ),
            side_effects("x", detached=None),
        ),
        labels={"return": "soft_clip(x, c)"},
    ),
    "soft_clip_backward": Check(
        target="soft_clip",
        cases=domains.soft_clip_inputs(backward=True),
        parts=(
            Part(
                "gradient",
                "x.grad = g·(1 − tanh²(x / c)) for an upstream gradient g",
                (f"{_BACKWARD}: error", f"{_BACKWARD}: x.grad"),
            ),
            Part("gradcheck", "torch.autograd.gradcheck passes in float64", ("gradcheck: error", "gradcheck: value")),
        ),
        labels={"gradcheck: value": "gradcheck's verdict"},
    ),
    "grad_reverse": Check(
        target="grad_reverse",
        cases=domains.grad_reverse_inputs(),
        parts=(
            Part("value", "the values of x", ("return",)),
            Part(
                "reversed",
                "x.grad gains −lam·g from an upstream gradient g",
                (f"{_BACKWARD}: error", f"{_BACKWARD}: x.grad"),
            ),
            Part(
                "no_hook_left",
                "a later backward through x alone gives its plain gradient",
                (f"{_PATH}: error", f"{_PATH}: x.grad"),
            ),
            side_effects("x", detached=None),
        ),
    ),
    "hvp": Check(
        target="hvp",
        cases=domains.hvp_inputs(),
        parts=(
            Part("value", "H(x)·v, exact up to rounding", ("return",)),
            side_effects("x", "v", detached="return.requires_grad"),
        ),
        labels={"return": "H(x)·v"},
    ),
    "gradient_penalty": Check(
        target="gradient_penalty",
        cases=domains.penalty_inputs(),
        parts=(
            Part("value", "mean over rows of (‖∂critic(x)ᵢ/∂xᵢ‖ − 1)²", ("return",)),
            Part(
                "differentiable",
                "backward() on the penalty fills the critic's .grad",
                _backward_reaches("critic", "0.weight", "0.bias", "2.weight"),
            ),
            Part(
                "side_effects",
                "the critic's .grad left None, x and grad mode unchanged",
                (*_frozen("critic", "*.*"), *unchanged("x")),
            ),
        ),
        labels={"return": "the penalty"},
    ),
    "accumulate": Check(
        target="accumulate_grads_",
        cases=domains.accumulate_inputs(),
        parts=(
            Part("loss", "the full-batch loss as a Python float", ("return",)),
            Part(
                "gradient",
                "each .grad holds exactly the full-batch loss's gradient",
                ("model.weight.grad", "model.bias.grad"),
            ),
            Part(
                "parameters",
                "the same parameters, not updated; X, y and grad mode unchanged",
                ("model.weight", "model.bias", "model.*.same_object", "model.*.requires_grad", *unchanged("X", "y")),
            ),
        ),
        labels={"return": "the returned loss"},
    ),
    "consistency": Check(
        target="consistency_loss",
        cases=domains.consistency_inputs(),
        parts=(
            Part("value", "mean((net(x1) − net(x2))²)", ("return",)),
            Part(
                "gradient",
                "backward() reaches the parameters through net(x1) only",
                _backward_reaches("net", "weight", "bias"),
            ),
            Part(
                "side_effects",
                "the parameters' .grad left None, x1, x2 and grad mode unchanged",
                (*_frozen("net", "weight", "bias"), *unchanged("x1", "x2")),
            ),
        ),
        labels={"return": "the loss"},
    ),
    "jacobian": Check(
        target="jacobian",
        cases=domains.jacobian_inputs(),
        parts=(
            Part("value", "the (m, n) matrix J[i, j] = ∂f(x)ᵢ/∂xⱼ", ("return",)),
            side_effects("x", detached="return.requires_grad"),
        ),
        labels={"return": "the Jacobian"},
    ),
}
