"""What every autograd assignment checks, written once: side-effect rules, edge inputs, classic mistakes.

A reference package takes these instead of writing its own:

- ``side_effects(*args)``: the part "returned tensors detached, the caller's
  tensors unchanged, grad mode left as found", for a function given ``args``;
- ``edge_arrays`` and ``edge_labels``: fixed, seeded inputs at the edges of a
  domain (the largest sizes, say), checked besides the drawn ones;
- ``MISCONCEPTIONS``: the mistakes any autograd exercise invites, each
  recognised from the observed facts of the smallest failing call alone:
  the caller's tensors changed, grad mode left off, results not detached, a
  prediction that tracks history, ``retain_grad()`` missing, an update recorded in
  the graph, rebinding instead of an in-place update, ``.grad`` left after an
  update step, a float64 result rebuilt as float32. An assignment adds its own
  (those that need a typical buggy variant of its solution) beside them.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from ..i18n import N_
from ..observe.case import LinearArg, TensorArg
from ..observe.compare import Tolerance, compare_arrays
from ..observe.observation import TensorFact
from .api import Evidence, Misconception, Part

LEAF_IN_PLACE = "a leaf Variable that requires grad is being used in an in-place operation"


# -- the rules every function follows ---------------------------------------------------


def unchanged(*names: str) -> tuple[str, ...]:
    """The caller's tensors keep their values, requires_grad and .grad; grad mode is restored."""
    facts = tuple(f"{n}{suffix}" for n in names for suffix in ("", ".requires_grad", ".grad"))
    return facts + ("grad_mode",)


def side_effects(*names: str, detached: str | None = "return[*].requires_grad") -> Part:
    """The part a function earns by leaving everything as it found it (``detached``: None where it returns none)."""
    facts = unchanged(*names) + ((detached,) if detached else ())
    return Part(
        "side_effects",
        N_("returned tensors detached, the caller's tensors unchanged, grad mode left as found"),
        facts,
    )


# -- fixed inputs at the edges of a domain ----------------------------------------------


def edge_arrays(seed: int, *shapes: tuple[int, ...], low: float = -1, high: float = 1) -> list[np.ndarray]:
    """float32 arrays of these shapes, uniform in [low, high), the same for a seed everywhere."""
    rng = np.random.default_rng(seed)
    return [rng.uniform(low, high, shape).astype(np.float32) for shape in shapes]


def edge_labels(seed: int, n: int) -> np.ndarray:
    """n binary labels (float32 0 and 1), the same for a seed everywhere."""
    return np.random.default_rng(seed).integers(0, 2, n).astype(np.float32)


# -- the classic mistakes, recognised from facts ------------------------------------------


def _root(path: str) -> str:
    return re.split(r"[.\[]", path.split(": ")[-1], maxsplit=1)[0]


def caller_tensors_changed(ev: Evidence) -> bool:
    args = {name for name, _ in ev.case.args}
    return any(": " not in m.path and _root(m.path) in args for m in ev.mismatches)


def grad_mode_left_off(ev: Evidence) -> bool:
    return ev.fact("grad_mode") is False and ev.expected_fact("grad_mode") is True


def not_detached(ev: Evidence) -> bool:
    return any(
        path.startswith("return")
        and path.endswith(".requires_grad")
        and fact is True
        and ev.expected_fact(path) is False
        for path, fact in ev.student.facts.items()
    )


def _requires_grad(arg: object) -> bool:
    """Does this argument arrive with a tensor that requires grad (a model's parameters, say)?"""
    if isinstance(arg, TensorArg):
        return arg.requires_grad
    if isinstance(arg, LinearArg):
        return arg.weight_requires_grad or (arg.bias is not None and arg.bias_requires_grad)
    if isinstance(arg, list):
        return any(_requires_grad(item) for item in arg)
    layers = getattr(arg, "layers", None)  # a stack of modules: its linear layers
    return isinstance(layers, tuple) and any(_requires_grad(layer) for layer in layers)


def prediction_tracks_history(ev: Evidence) -> bool:
    """A result computed from the caller's tensors that require grad, outside torch.no_grad(): it has history.

    Unlike ``not_detached`` (a function's own leaf copies, or a loss it forgot to
    detach), the history here comes from the caller's own tensors; grad mode left
    off is its own mistake and never ends up here (nothing would be recorded).
    """
    if ev.error is not None or grad_mode_left_off(ev):
        return False
    if not any(_requires_grad(arg) for _, arg in ev.case.args):
        return False
    return any(
        path.startswith("return")
        and ": " not in path
        and path.endswith((".requires_grad", ".grad_fn"))
        and fact is True
        and ev.expected_fact(path) is False
        for path, fact in ev.student.facts.items()
    )


def retain_grad_missing(ev: Evidence) -> bool:
    return any(
        path.startswith("return[") and fact is None and isinstance(ev.expected_fact(path), TensorFact)
        for path, fact in ev.student.facts.items()
    )


def update_in_graph(ev: Evidence) -> bool:
    if parameter_assigned(ev):
        return False
    if ev.error_mentions(LEAF_IN_PLACE, "cannot assign", "can't be assigned"):
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


def parameter_assigned(ev: Evidence) -> bool:
    """``linear.weight = linear.weight - lr * grad``: a plain tensor put where a module holds its
    nn.Parameter, which the module refuses ("cannot assign ... as parameter 'weight'")."""
    return ev.error_mentions("as parameter") and ev.error_mentions("cannot assign")


def rebinding(ev: Evidence) -> bool:
    """The update never reached the caller's tensors: a tensor replaced by a new one, or, the step
    seen whole, not one of the tensors the reference moved changed at all.

    Only the whole step counts: one tensor left as it was while the others moved
    (a bias forgotten) is a wrong formula, not this. From the outside, a local
    rebinding (``p = p - lr * p.grad``) and a gradient cleared before the update
    used it look the same; the fix names both.
    """
    if ev.error is not None or update_in_graph(ev):
        return False
    for path, fact in ev.student.facts.items():
        if path.endswith(".same_object") and fact is False and ev.expected_fact(path) is True:
            return True
    # Every failing call, not only the smallest: on an input where only the bias has a gradient,
    # a step that forgets the bias also leaves everything the reference moved where it was.
    others = zip(ev.more, ev.more_expected, strict=False)  # no reference's observations given: this call alone
    calls = [ev, *(replace(ev, case=c, student=s, expected=e) for (c, s), e in others)]
    verdicts = [v for v in map(_nothing_moved, calls) if v is not None]
    return bool(verdicts) and all(verdicts)


def _nothing_moved(ev: Evidence) -> bool | None:
    """Whether none of the caller's tensors the reference moved moved in the student's call (None: the
    reference moved none, or none can be told)."""
    moved = []
    for path, before in ev.initial_values().items():
        got, want = ev.fact(path), ev.expected_fact(path)
        if not (isinstance(got, TensorFact) and isinstance(want, TensorFact)):
            continue
        if got.values is None or want.values is None or got.values.shape != before.shape:
            continue
        if not np.array_equal(want.values, before):
            moved.append(not np.array_equal(got.values, before))
    return None if not moved else not any(moved)


def grad_left_after_step(ev: Evidence) -> bool:
    """The update step changed the caller's tensor in place but left its gradient in .grad.

    Only a tensor the step did move (the same object, its values changed) counts:
    a step that rebinds, or that cleared .grad before using it, is another mistake.
    """
    if ev.error is not None or update_in_graph(ev):
        return False
    initial = ev.initial_values()
    for mismatch in ev.mismatches:
        path = mismatch.path
        if ": " in path or not path.endswith(".grad_cleared"):
            continue
        if ev.fact(path) is not False or ev.expected_fact(path) is not True:
            continue
        owner = path.removesuffix(".grad_cleared")
        got, before = ev.fact(owner), initial.get(owner)
        if ev.fact(f"{owner}.same_object") is False or before is None:
            continue
        if isinstance(got, TensorFact) and got.values is not None and got.values.shape == before.shape:
            if not np.array_equal(got.values, before):
                return True
    return False


# Agreement to float32 precision: the value is right, only its dtype was lost on the way.
_FLOAT32_PRECISION = Tolerance(rtol=1e-4, atol=1e-5)


def float64_lost(ev: Evidence) -> bool:
    """A returned tensor is float32 where the reference's is float64, with the right values to float32 precision.

    The typical cause is a tensor rebuilt from Python numbers: ``torch.tensor(x.item())``,
    ``torch.tensor([float(v) for v in t])`` or ``torch.zeros(n)`` filled in, all of the
    default dtype, float32, whatever the inputs' dtype. The smallest failing input
    can make a wrong formula agree by chance (2t and t² at t = 0), so it must be
    the dtype alone that fails: no failing call has float32 inputs (shrinking ends
    on float32 where one fails).
    """
    if ev.error is not None or any(case.dtype == "float32" for case, _ in ev.more):
        return False
    for mismatch in ev.mismatches:
        path = mismatch.path
        if not path.startswith("return") or ": " in path:
            continue
        got, want = ev.fact(path), ev.expected_fact(path)
        if not (isinstance(got, TensorFact) and isinstance(want, TensorFact)):
            continue
        if (got.dtype, want.dtype) != ("float32", "float64") or got.shape != want.shape:
            continue
        if got.values is None or want.values is None:
            continue
        if compare_arrays(got.values.astype(np.float64), want.values, _FLOAT32_PRECISION) is None:
            return True
    return False


MISCONCEPTIONS = {
    m.id: m
    for m in (
        Misconception(
            "update_in_graph",
            N_("parameter update recorded in the graph or done outside torch.no_grad()"),
            N_(
                "An update of a parameter must not become part of the computation graph: the parameter "
                "has to stay a leaf. Do it in place inside torch.no_grad(): "
                "`with torch.no_grad(): p -= lr * p.grad`."
            ),
            update_in_graph,
        ),
        Misconception(
            "rebinding",
            N_("the update never reaches the caller's tensors"),
            N_(
                "`p = p - lr * p.grad` creates a new tensor and binds the name p to it; the caller's "
                "tensor (the one the model and optimizer hold) does not change. Change the tensor "
                "itself: `with torch.no_grad(): p -= lr * p.grad` (or p.sub_(lr * p.grad)). The step "
                "also moves nothing when the gradient is cleared before the update uses it "
                "(optimizer.zero_grad() between backward() and step(), p.grad.zero_() before p -= …): "
                "clear it after the update, or before the next backward()."
            ),
            rebinding,
        ),
        Misconception(
            "parameter_assigned",
            N_("a new tensor assigned to a module's parameter"),
            N_(
                "`linear.weight = linear.weight - lr * linear.weight.grad` puts a plain tensor where the "
                "module holds its nn.Parameter, and the module refuses it (TypeError: cannot assign … as "
                "parameter). Update the parameter itself, in place: `with torch.no_grad(): "
                "linear.weight -= lr * linear.weight.grad`."
            ),
            parameter_assigned,
        ),
        Misconception(
            "retain_grad_missing",
            N_("retain_grad() missing"),
            N_(
                "PyTorch keeps .grad only for leaf tensors; for an intermediate node such as z or loss "
                "it stays None. Call z.retain_grad() and loss.retain_grad() before loss.backward()."
            ),
            retain_grad_missing,
        ),
        Misconception(
            "caller_tensors_mutated",
            N_("the caller's tensors were changed"),
            N_(
                "The function changed a tensor it was given (its values, requires_grad or .grad). Work "
                "on copies: `t = t.detach().clone().requires_grad_(True)` instead of t.requires_grad_(), "
                "and never write into the inputs."
            ),
            caller_tensors_changed,
        ),
        Misconception(
            "grad_mode_left_off",
            N_("grad mode left off"),
            N_(
                "torch.set_grad_enabled(False) switches gradient tracking off for everything that runs "
                "afterwards, also outside your function. Use `with torch.no_grad():`, which restores the "
                "previous mode when the block ends."
            ),
            grad_mode_left_off,
        ),
        Misconception(
            "returns_not_detached",
            N_("returned tensors still attached to the graph"),
            N_(
                "A returned tensor requires grad, so it keeps the whole computation graph alive. Return "
                "loss.detach() (or loss.item() for a number) and gradients taken from .grad."
            ),
            not_detached,
        ),
        Misconception(
            "prediction_tracks_history",
            N_("prediction computed while autograd records history"),
            N_(
                "The inputs include tensors that require grad (a model's parameters), so every operation on "
                "them is recorded: the result requires grad and has a grad_fn, and keeps the graph alive. "
                "Compute a prediction inside a `with torch.no_grad():` block (note the `with`: a bare "
                "`torch.no_grad()` call does nothing), or return `result.detach()`."
            ),
            prediction_tracks_history,
        ),
        Misconception(
            "grad_left_after_step",
            N_("gradient left in .grad after the update step"),
            N_(
                "The step updates p in place but leaves the gradient it used in p.grad. backward() adds to "
                ".grad, so the next step would use the sum of the old and the new gradient. After updating p, "
                "clear its gradient in the same loop: `p.grad = None` (or `p.grad.zero_()`, with the "
                "parentheses)."
            ),
            grad_left_after_step,
        ),
        Misconception(
            "float64_lost",
            N_("float64 result rebuilt as a float32 tensor"),
            N_(
                "The values are right but the result is float32 where the inputs are float64. "
                "torch.tensor(x.item()), torch.tensor([float(v) for v in t]) and torch.zeros(n) make a "
                "tensor of the default dtype, float32, whatever the inputs' dtype, and .item() or float() "
                "also cut it off from the graph. Compute with tensor operations on the inputs (2 * t, "
                "1 / u, loss.detach()), or pass dtype=t.dtype, device=t.device when you must build one."
            ),
            float64_lost,
        ),
    )
}
