"""Which observed facts make up each gradable part of each exercise.

Fact paths are described in ``grader.observe.observation``; ``*`` stands for
one path step. The rubric gives each part its points.
"""

from __future__ import annotations

from grader.authoring import N_, Check, Part, backward_reaches, parameters_kept, side_effects, step, unchanged

from . import domains

_DETACHED = "return.requires_grad"

# Texts a student reads are marked N_ and translated where they are shown; formulas and code
# ("c·tanh(x / c)", "H(x)·v") read the same in every language and are not.
CHECKS = {
    "soft_clip_forward": Check(
        "soft_clip",
        domains.soft_clip_inputs(),
        (
            Part("value", "c·tanh(x / c)", ("return",)),
            Part("node", N_("the result's grad_fn is SoftClip's node"), ("return.requires_grad", "return.node")),
            side_effects("x", detached=None),
        ),
        labels={"return": "soft_clip(x, c)"},
    ),
    "soft_clip_backward": Check(
        "soft_clip",
        domains.soft_clip_inputs(backward=True),
        (
            Part(
                "gradient", N_("x.grad = g·(1 − tanh²(x / c)) for an upstream g"), step("after backward(g)", "x.grad")
            ),
            Part("gradcheck", N_("torch.autograd.gradcheck passes in float64"), step("gradcheck", "value")),
        ),
        labels={"gradcheck: value": N_("gradcheck's verdict")},
    ),
    "grad_reverse": Check(
        "grad_reverse",
        domains.grad_reverse_inputs(),
        (
            Part("value", N_("the values of x"), ("return",)),
            Part(
                "reversed",
                N_("x.grad gains −lam·g from an upstream g"),
                step("after backward(g)", "x.grad") + step("after a second call's .sum().backward()", "x.grad"),
            ),
            Part(
                "no_hook_left",
                N_("a later backward through x alone"),
                step("after another backward through x", "x.grad"),
            ),
            side_effects("x", detached=None),
        ),
    ),
    "hvp": Check(
        "hvp",
        domains.hvp_inputs(),
        (Part("value", N_("H(x)·v, exact up to rounding"), ("return",)), side_effects("x", "v", detached=_DETACHED)),
        labels={"return": "H(x)·v"},
    ),
    "gradient_penalty": Check(
        "gradient_penalty",
        domains.penalty_inputs(),
        (
            Part("value", N_("mean over rows of (‖∂critic(x)ᵢ/∂xᵢ‖ − 1)²"), ("return",)),
            Part(
                "differentiable",
                N_("backward() fills the critic's .grad"),
                backward_reaches("critic", "0.*", "2.weight"),
            ),
            Part(
                "side_effects", N_("the critic and x unchanged"), (*parameters_kept("critic", "*.*"), *unchanged("x"))
            ),
        ),
        labels={"return": N_("the penalty")},
    ),
    "accumulate": Check(
        "accumulate_grads_",
        domains.accumulate_inputs(),
        (
            Part("loss", N_("the full-batch loss as a Python float"), ("return",)),
            Part(
                "gradient",
                N_("exactly the full-batch loss's gradient in .grad"),
                ("model.weight.grad", "model.bias.grad"),
            ),
            Part(
                "parameters",
                N_("not updated; X, y unchanged"),
                ("model.*", "model.*.same_object", "model.*.requires_grad", *unchanged("X", "y")),
            ),
        ),
        labels={"return": N_("the returned loss")},
        examples=30,  # each call runs a whole accumulation loop; grade mutate kills the same mutants with 100
    ),
    "consistency": Check(
        "consistency_loss",
        domains.consistency_inputs(),
        (
            Part("value", "mean((net(x1) − net(x2))²)", ("return",)),
            Part(
                "gradient", N_("backward() reaches the parameters through net(x1) only"), backward_reaches("net", "*")
            ),
            Part("side_effects", N_("net, x1 and x2 unchanged"), (*parameters_kept("net"), *unchanged("x1", "x2"))),
        ),
        labels={"return": N_("the loss")},
    ),
    "jacobian": Check(
        "jacobian",
        domains.jacobian_inputs(),
        (Part("value", N_("J[i, j] = ∂f(x)ᵢ/∂xⱼ, shape (m, n)"), ("return",)), side_effects("x", detached=_DETACHED)),
        labels={"return": N_("the Jacobian")},
    ),
}
