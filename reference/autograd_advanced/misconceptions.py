"""Classic mistakes of the exercises, recognised on the smallest failing input.

Most run a typical buggy variant (``variants.py``) on the failing inputs and
ask whether the student's function did exactly the same; the rest read the
observed facts. The mistakes of any autograd exercise, and of custom Functions,
hooks and second backwards, come from ``grader.authoring``.
"""

from __future__ import annotations

from grader.authoring import (
    AUTOGRAD_MISCONCEPTIONS,
    CREATE_GRAPH_MISSING,
    GRAPH_KEPT_ON_RESULT,
    HOOK_ON_CALLER_TENSOR,
    JACOBIAN_TRANSPOSED,
    N_,
    Misconception,
    backward_ignores_grad_out,
    backward_wrong_grad_count,
    custom_function_not_used,
    hook_writes_in_place,
    like,
)

_VARIANTS = __package__ + ".variants"
_GENERIC = [
    custom_function_not_used("SoftClip.apply(x, c)"),
    backward_ignores_grad_out("grad_out * (1 - torch.tanh(x / c) ** 2), None"),
    backward_wrong_grad_count("forward(ctx, x, c)", "grad_x, None"),
    HOOK_ON_CALLER_TENSOR,
    CREATE_GRAPH_MISSING,
    GRAPH_KEPT_ON_RESULT,
    hook_writes_in_place("lambda g: -lam * g", "g.mul_(-lam)"),
    JACOBIAN_TRANSPOSED,
]

_OWN = [
    (
        "norm_over_batch",
        N_("norm taken over the whole batch"),
        N_(
            "The penalty uses the norm of each row's gradient: grad.norm(dim=1) gives one norm per row i, then average "
            "(norm − 1)² over the rows. grad.norm() is one norm of the whole (N, d) matrix."
        ),
        like(_VARIANTS, "penalty_norm_over_batch"),
    ),
    (
        "chunks_not_weighted",
        N_("chunk losses not weighted by their size"),
        N_(
            "The mean over N rows is Σ over chunks of (chunk size / N) · chunk mean. Dividing each chunk's mean by the "
            "number of chunks is right only when all chunks have the same size; the last one may be smaller."
        ),
        like(_VARIANTS, "accumulate_unweighted", "gradient"),
    ),
    (
        "zero_grad_in_loop",
        N_("zero_grad() inside the accumulation loop"),
        N_(
            "Accumulation relies on backward() adding to .grad: clearing it in every iteration keeps only the last "
            "chunk's gradient. Clear the gradients once, before the loop."
        ),
        like(_VARIANTS, "accumulate_zero_grad_in_loop", "gradient"),
    ),
    (
        "stale_grads_kept",
        N_("stale gradients not cleared"),
        N_(
            "The model arrives with an old .grad, and backward() adds to it. Clear it first (model.zero_grad(), or "
            "p.grad = None for each parameter), then accumulate."
        ),
        like(_VARIANTS, "accumulate_keeping_stale", "gradient"),
    ),
    (
        "detach_missing",
        N_("detach() missing"),
        N_(
            "net(x2) is the target here: without .detach() the gradient also flows through the x2 branch. Use "
            "net(x2).detach()."
        ),
        like(_VARIANTS, "consistency_without_detach", "gradient"),
    ),
    (
        "detach_wrong_branch",
        N_("detach() on the wrong branch"),
        N_(
            "The gradient must flow through net(x1), the prediction; the target net(x2) is the branch to detach. "
            "Write (net(x1) - net(x2).detach())."
        ),
        like(_VARIANTS, "consistency_detaching_x1", "gradient"),
    ),
]
MISCONCEPTIONS = {
    **AUTOGRAD_MISCONCEPTIONS,
    **{m.id: m for m in _GENERIC},
    **{m[0]: Misconception(*m) for m in _OWN},
}
