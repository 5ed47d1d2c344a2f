"""What every autograd assignment checks, written once: side-effect rules, edge inputs, classic mistakes.

A reference package takes these instead of writing its own:

- ``side_effects(*args)``: the part "returned tensors detached, the caller's
  tensors unchanged, grad mode left as found", for a function given ``args``;
- ``edge_arrays`` and ``edge_labels``: fixed, seeded inputs at the edges of a
  domain (the largest sizes, say), checked besides the drawn ones;
- ``MISCONCEPTIONS``: the mistakes any autograd exercise invites, each
  recognised from the observed facts of the smallest failing call alone:
  the caller's tensors changed, grad mode left off, results not detached,
  ``retain_grad()`` missing, an update recorded in the graph, rebinding instead
  of an in-place update. An assignment adds its own (those that need a typical
  buggy variant of its solution) beside them.
"""

from __future__ import annotations

import re

import numpy as np

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
        "returned tensors detached, the caller's tensors unchanged, grad mode left as found",
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


def retain_grad_missing(ev: Evidence) -> bool:
    return any(
        path.startswith("return[") and fact is None and isinstance(ev.expected_fact(path), TensorFact)
        for path, fact in ev.student.facts.items()
    )


def update_in_graph(ev: Evidence) -> bool:
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


def rebinding(ev: Evidence) -> bool:
    if ev.error is not None or update_in_graph(ev):
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


MISCONCEPTIONS = {
    m.id: m
    for m in (
        Misconception(
            "update_in_graph",
            "parameter update recorded in the graph or done outside torch.no_grad()",
            "An update of a parameter must not become part of the computation graph: the parameter "
            "has to stay a leaf. Do it in place inside torch.no_grad(): "
            "`with torch.no_grad(): p -= lr * p.grad`.",
            update_in_graph,
        ),
        Misconception(
            "rebinding",
            "rebinding p = p - lr * p.grad instead of updating in place",
            "`p = p - lr * p.grad` creates a new tensor and binds the name p to it; the caller's "
            "tensor (the one the model and optimizer hold) does not change. Change the tensor "
            "itself: `with torch.no_grad(): p -= lr * p.grad` (or p.sub_(lr * p.grad)).",
            rebinding,
        ),
        Misconception(
            "retain_grad_missing",
            "retain_grad() missing",
            "PyTorch keeps .grad only for leaf tensors; for an intermediate node such as z or loss "
            "it stays None. Call z.retain_grad() and loss.retain_grad() before loss.backward().",
            retain_grad_missing,
        ),
        Misconception(
            "caller_tensors_mutated",
            "the caller's tensors were changed",
            "The function changed a tensor it was given (its values, requires_grad or .grad). Work "
            "on copies: `t = t.detach().clone().requires_grad_(True)` instead of t.requires_grad_(), "
            "and never write into the inputs.",
            caller_tensors_changed,
        ),
        Misconception(
            "grad_mode_left_off",
            "grad mode left off",
            "torch.set_grad_enabled(False) switches gradient tracking off for everything that runs "
            "afterwards, also outside your function. Use `with torch.no_grad():`, which restores the "
            "previous mode when the block ends.",
            grad_mode_left_off,
        ),
        Misconception(
            "returns_not_detached",
            "returned tensors still attached to the graph",
            "A returned tensor requires grad, so it keeps the whole computation graph alive. Return "
            "loss.detach() (or loss.item() for a number) and gradients taken from .grad.",
            not_detached,
        ),
    )
}
