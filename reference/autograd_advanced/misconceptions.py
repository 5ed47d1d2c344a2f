"""Classic mistakes of the exercises, recognised on the smallest failing input.

Most run a typical buggy variant (``variants.py``) on the failing inputs and
ask whether the student's function did exactly the same; the rest read the
observed facts. The mistakes of any autograd exercise come from ``grader.authoring``.
"""

from __future__ import annotations

from grader.authoring import AUTOGRAD_MISCONCEPTIONS, N_, Misconception, like

_VARIANTS = __package__ + ".variants"


def _create_graph_missing(ev) -> bool:
    if ev.check.target == "hvp":
        return ev.error_mentions("does not require grad and does not have a grad_fn")
    return like(_VARIANTS, "penalty_without_create_graph", "differentiable")(ev)


_OWN = [
    (
        "custom_function_not_used",
        N_("the result is not SoftClip's output"),
        N_(
            "The result's grad_fn must be SoftClip's node: return SoftClip.apply(x, c), not the formula computed with "
            "torch operations (autograd would then use its own gradient, never your backward)."
        ),
        lambda ev: ev.fact("return.node") not in (None, ev.expected_fact("return.node")),
    ),
    (
        "backward_ignores_grad_out",
        N_("backward ignores grad_out"),
        N_(
            "backward receives the gradient of the final result with respect to your output (grad_out) and must "
            "multiply it in (the chain rule): return grad_out * (1 - torch.tanh(x / c) ** 2), None. With a tensor of "
            "ones as grad_out the mistake hides, with any other upstream gradient it shows."
        ),
        like(_VARIANTS, "soft_clip_ignoring_grad_out", "gradient"),
    ),
    (
        "backward_wrong_grad_count",
        N_("backward returns the wrong gradients for forward's inputs"),
        N_(
            "backward must return one gradient per input of forward (after ctx), None for inputs that need none: "
            "forward(ctx, x, c) takes two, so return grad_x, None."
        ),
        # too many or too few; or a number (0) for c, which is no tensor: "... not a Variable"
        lambda ev: ev.step_error_mentions("incorrect number of gradients", "forward input was not a Variable"),
    ),
    (
        "hook_on_caller_tensor",
        N_("hook registered on the caller's tensor"),
        N_(
            "x.register_hook(...) changes every gradient that ever reaches the caller's x, also through paths that do "
            "not go through your result, and it stays after your function returns. Reverse the gradient on the tensor "
            "you return (out = x.clone(); out.register_hook(...)) or with a custom autograd.Function."
        ),
        like(_VARIANTS, "grad_reverse_hook_on_x", "no_hook_left"),
    ),
    (
        "hook_writes_in_place",
        N_("the hook writes into its gradient in place"),
        N_(
            "A hook must return a new gradient (lambda g: -lam * g), never change the one it receives "
            "(g.mul_(-lam)): that tensor may be the caller's upstream gradient, shared with other paths, or "
            "expanded from one element as .sum() passes it on, where writing into it fails."
        ),
        like(_VARIANTS, "grad_reverse_hook_in_place", "reversed"),
    ),
    (
        "create_graph_missing",
        N_("create_graph=True missing"),
        N_(
            "A gradient you want to differentiate again must itself be part of a graph: torch.autograd.grad(y, x, "
            "create_graph=True). Without it the gradient is a constant, so the second backward finds nothing to "
            "differentiate."
        ),
        _create_graph_missing,
    ),
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
    (
        "jacobian_transposed",
        N_("Jacobian transposed"),
        N_(
            "J[i, j] = ∂f(x)ᵢ/∂xⱼ: one row per output, one column per input, shape (m, n). Row i is the gradient of "
            "output i, torch.autograd.grad(y, x, grad_outputs=one-hot eᵢ)."
        ),
        like(_VARIANTS, "jacobian_transposed", "value"),
    ),
    (
        "graph_kept_on_result",
        N_("the result keeps its graph"),
        N_(
            "The result still requires grad: it holds the graph built with create_graph=True (or for the gradients) "
            "and everything it references. Return result.detach()."
        ),
        AUTOGRAD_MISCONCEPTIONS["returns_not_detached"].detect,
    ),
]
MISCONCEPTIONS = {**AUTOGRAD_MISCONCEPTIONS, **{m[0]: Misconception(*m) for m in _OWN}}
