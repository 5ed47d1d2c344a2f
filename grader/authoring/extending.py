"""The classic mistakes of extending autograd: custom Functions, hooks, gradients of gradients.

Any assignment with a custom ``torch.autograd.Function``, a gradient hook or a
second backward invites them, so each is written once here, recognised from
the observed facts alone (no buggy variant of the assignment's solution):

- ``custom_function_not_used(apply)``: the result's ``grad_fn`` is not the
  Function's node (the formula computed with torch operations instead);
- ``backward_ignores_grad_out(returns)``: after ``backward(g)`` with a drawn
  ``g``, the gradient is the local derivative alone, so ``got · g`` equals
  what was expected;
- ``backward_wrong_grad_count(forward, returns)``: torch refused what ``backward``
  returned (too many or too few gradients, or a number where ``None`` belongs);
- ``HOOK_ON_CALLER_TENSOR``: a later backward through the caller's tensor
  alone (``PathBackward``) gives another gradient than plain autograd;
- ``hook_writes_in_place(new, in_place)``: a backward raised because a hook
  wrote into the gradient it was given (expanded from one element by ``.sum()``);
- ``JACOBIAN_TRANSPOSED``: the returned matrix is the expected one transposed;
- ``CREATE_GRAPH_MISSING``: a gradient differentiated again raised "does not
  require grad" (in the call, or in a ``backward()`` on its result);
- ``GRAPH_KEPT_ON_RESULT``: a result that should be detached still requires grad.

The arguments are code shown in the fix (``{apply}`` → ``SoftClip.apply(x, c)``),
never translated; the texts around them are, from the harness's catalogue.
"""

from __future__ import annotations

import numpy as np

from ..i18n import N_
from ..observe.case import Backward
from ..observe.compare import Tolerance, compare_arrays
from ..observe.observation import TensorFact
from .api import Evidence, Misconception
from .autograd import not_detached

NOT_DIFFERENTIABLE = "does not require grad and does not have a grad_fn"
_PRODUCT_TOLERANCE = Tolerance(rtol=1e-4, atol=1e-5)  # float32's rounding, for got · g against the expected


def custom_function_not_used(apply: str) -> Misconception:
    """``apply``: the call the result must come from, as the exercise writes it (``SoftClip.apply(x, c)``)."""
    return Misconception(
        "custom_function_not_used",
        N_("the result is not your Function's output"),
        N_(
            "The result's grad_fn must be your Function's node: return {apply}, not the formula computed with torch "
            "operations (autograd would then use its own gradient, never your backward)."
        ),
        _other_node,
        (("apply", apply),),
    )


def _other_node(ev: Evidence) -> bool:
    return ev.fact("return.node") not in (None, ev.expected_fact("return.node"))


def backward_ignores_grad_out(returns: str) -> Misconception:
    """``returns``: what backward should return, as code (``grad_out * (1 - torch.tanh(x / c) ** 2), None``)."""
    return Misconception(
        "backward_ignores_grad_out",
        N_("backward ignores grad_out"),
        N_(
            "backward receives the gradient of the final result with respect to your output (grad_out) and must "
            "multiply it in (the chain rule): return {returns}. With a tensor of ones as grad_out the mistake hides, "
            "with any other upstream gradient it shows."
        ),
        _ignores_upstream,
        (("returns", returns),),
    )


def _ignores_upstream(ev: Evidence) -> bool:
    """After ``backward(g)``, each differing ``.grad`` times ``g`` is the expected one, on every failing call."""
    paths = [m.path for m in ev.mismatches]
    if _local_only(ev.case, ev.student, ev.expected, paths) is not True:
        return False
    more = zip(ev.more, ev.more_expected, strict=False)  # other failing calls: none may contradict it
    return all(_local_only(case, student, expected, paths) is not False for (case, student), expected in more)


def _local_only(case, student, expected, paths: list[str]) -> bool | None:
    """True: every ``.grad`` that differs after ``backward(g)`` is the expected one divided by ``g``;
    False: one is not; None: none differs on this call."""
    seen = None
    for action in case.then:
        if not isinstance(action, Backward) or action.grad is None or np.all(action.grad == 1):
            continue
        for path in paths:
            stage, _sep, base = path.rpartition(": ")
            if stage != action.label or not base.endswith(".grad"):
                continue
            got, want = student.facts.get(path), expected.facts.get(path)
            if not isinstance(got, TensorFact) or not isinstance(want, TensorFact):
                return False
            if got.values is None or want.values is None or got.values.shape != action.grad.shape:
                return False
            if compare_arrays(got.values, want.values, _PRODUCT_TOLERANCE) is None:
                continue  # right on this call
            product = got.values.astype(np.float64) * action.grad.astype(np.float64)
            if compare_arrays(product, want.values.astype(np.float64), _PRODUCT_TOLERANCE) is not None:
                return False
            seen = True
    return seen


def backward_wrong_grad_count(forward: str, returns: str) -> Misconception:
    """``forward``: its signature (``forward(ctx, x, c)``); ``returns``: what backward returns (``grad_x, None``)."""
    return Misconception(
        "backward_wrong_grad_count",
        N_("backward returns the wrong gradients for forward's inputs"),
        N_(
            "backward must return one gradient per input of forward (after ctx), None for inputs that need none: "
            "for {forward}, return {returns}."
        ),
        # too many or too few; or a number (0) for a float argument, which is no tensor: "... not a Variable"
        lambda ev: ev.step_error_mentions("incorrect number of gradients", "forward input was not a Variable"),
        (("forward", forward), ("returns", returns)),
    )


def _after_path_backward(ev: Evidence) -> bool:
    return any(m.path.startswith("after another backward through x: ") for m in ev.mismatches)


HOOK_ON_CALLER_TENSOR = Misconception(
    "hook_on_caller_tensor",
    N_("hook registered on the caller's tensor"),
    N_(
        "x.register_hook(...) changes every gradient that ever reaches the caller's x, also through paths that do not "
        "go through your result, and it stays after your function returns. Register the hook on a tensor you make "
        "and return (out = x.clone(); out.register_hook(...)), or write a custom autograd.Function."
    ),
    _after_path_backward,
)

CREATE_GRAPH_MISSING = Misconception(
    "create_graph_missing",
    N_("create_graph=True missing"),
    N_(
        "A gradient you want to differentiate again must itself be part of a graph: torch.autograd.grad(y, x, "
        "create_graph=True). Without it the gradient is a constant, so the second backward finds nothing to "
        "differentiate."
    ),
    lambda ev: ev.error_mentions(NOT_DIFFERENTIABLE) or ev.step_error_mentions(NOT_DIFFERENTIABLE),
)

GRAPH_KEPT_ON_RESULT = Misconception(
    "graph_kept_on_result",
    N_("the result keeps its graph"),
    N_(
        "The result still requires grad: it holds the graph built with create_graph=True (or for the gradients) "
        "and everything it references. Return result.detach()."
    ),
    not_detached,
)


IN_PLACE_ON_EXPANDED = "more than one element of the written-to tensor refers to a single memory location"


def hook_writes_in_place(new: str, in_place: str) -> Misconception:
    """``new``: the hook as it should be (``lambda g: -lam * g``); ``in_place``: the mistake (``g.mul_(-lam)``)."""
    return Misconception(
        "hook_writes_in_place",
        N_("the hook writes into its gradient in place"),
        N_(
            "A hook must return a new gradient ({new}), never change the one it receives ({in_place}): that tensor "
            "may be the caller's upstream gradient, shared with other paths, or expanded from one element as .sum() "
            "passes it on, where writing into it fails."
        ),
        lambda ev: ev.step_error_mentions(IN_PLACE_ON_EXPANDED),
        (("new", new), ("in_place", in_place)),
    )


def _transposed(ev: Evidence) -> bool:
    """The returned matrix is the expected one transposed, on the failing call and on no other against it."""
    calls = [(ev.student, ev.expected), *zip((s for _c, s in ev.more), ev.more_expected, strict=False)]
    verdicts = [_is_transpose(student.facts.get("return"), expected.facts.get("return")) for student, expected in calls]
    return verdicts[0] is True and False not in verdicts[1:]


def _is_transpose(got, want) -> bool | None:
    """None where the result was right on this call."""
    if not isinstance(got, TensorFact) or not isinstance(want, TensorFact) or got.values is None:
        return False
    if want.values is None or want.values.ndim != 2 or got.values.ndim != 2:
        return False
    if got.values.shape == want.values.shape and compare_arrays(got.values, want.values, _PRODUCT_TOLERANCE) is None:
        return None
    if got.values.shape != want.values.T.shape:
        return False
    return compare_arrays(got.values, np.ascontiguousarray(want.values.T), _PRODUCT_TOLERANCE) is None


JACOBIAN_TRANSPOSED = Misconception(
    "jacobian_transposed",
    N_("Jacobian transposed"),
    N_(
        "J[i, j] = ∂f(x)ᵢ/∂xⱼ: one row per output, one column per input, shape (m, n). Row i is the gradient of "
        "output i, torch.autograd.grad(y, x, grad_outputs=one-hot eᵢ)."
    ),
    _transposed,
)
