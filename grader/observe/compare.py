"""Compare a student's observation with the reference's, fact by fact.

Tensors must match exactly in type, layout, dtype, shape and device before
their values are compared; NaN is accepted only where the reference has NaN
and infinities must match exactly. The comparison runs on numpy arrays
decoded from bytes, in a process that never imported student code, so
nothing the notebook patches can influence it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from .formatting import format_array, format_number
from .observation import Fact, Kind, Observation, TensorFact

_PLAIN = ("Tensor", "Parameter")


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float


@dataclass(frozen=True)
class Mismatch:
    path: str
    message: str


@functools.lru_cache(maxsize=1024)
def _pattern(pattern: str) -> re.Pattern[str]:
    """Fact patterns: ``*`` stands for one path step (no '.', ':' or ']'), ``**`` for anything."""
    parts = re.split(r"(\*\*|\*)", pattern)
    regex = "".join(".*" if part == "**" else r"[^.:\]]*" if part == "*" else re.escape(part) for part in parts)
    return re.compile(regex + r"\Z")


def matches(path: str, patterns: tuple[str, ...]) -> bool:
    return any(_pattern(p).match(path) for p in patterns)


def select(observation: Observation, patterns: tuple[str, ...]) -> list[str]:
    return list(_select(tuple(observation.facts), patterns))


@functools.lru_cache(maxsize=4096)
def _select(paths: tuple[str, ...], patterns: tuple[str, ...]) -> tuple[str, ...]:
    # Observations of one item share their shape, so this is computed once per item.
    return tuple(path for path in paths if matches(path, patterns))


def compare(
    student: Observation,
    expected: Observation,
    patterns: tuple[str, ...],
    tolerance: Tolerance,
    labels: dict[str, str] | None = None,
) -> list[Mismatch]:
    labels = labels or {}
    paths = select(expected, patterns)
    for path in select(student, patterns):
        if path not in expected.facts:
            paths.append(path)
    mismatches: list[Mismatch] = []
    broken: list[str] = []
    for path in paths:
        if any(_under(path, parent) for parent in broken):
            continue
        if path not in student.facts:
            owner = _owner(path)
            if owner in student.facts and not isinstance(student.facts[owner], TensorFact):
                continue  # a flag of a value that is not a tensor: its own fact reports that
            mismatches.append(Mismatch(path, f"{describe(path, labels)} is missing"))
            broken.append(path)
            continue
        if path not in expected.facts:
            continue  # an extra element shows up as a length mismatch of its parent
        message = compare_fact(student.facts[path], expected.facts[path], tolerance)
        if message is not None:
            mismatches.append(Mismatch(path, _sentence(path, message, student.facts[path], labels)))
            broken.append(path)
    return mismatches


def _owner(path: str) -> str:
    for suffix in _SUFFIXES:
        if path.endswith(suffix):
            return path[: -len(suffix)]
    return path


def _under(path: str, parent: str) -> bool:
    return path.startswith(parent + "[") or path.startswith(parent + ".")


def compare_fact(got: Fact, want: Fact, tolerance: Tolerance) -> str | None:
    """None when equal, else what differs (without naming the fact)."""
    if isinstance(want, TensorFact):
        if not isinstance(got, TensorFact):
            return f"is {kind_of(got)}, expected a tensor of shape {_shape(want.shape)} ({want.dtype})"
        return compare_tensors(got, want, tolerance)
    if isinstance(want, bool) or want is None or isinstance(want, (int, str)) and not isinstance(want, float):
        if type(got) is type(want) and got == want:
            return None
        return f"is {_plain(got)}, expected {_plain(want)}"
    if isinstance(want, float):
        if type(got) is not float:
            extra = ""
            if isinstance(got, TensorFact):
                extra = " (convert with .item())"
            elif isinstance(got, Kind) and got.kind == "number":
                extra = " (convert with float(...))"
            return f"is {kind_of(got)}, expected a Python float{extra}"
        return _compare_floats(got, want, tolerance)
    if isinstance(want, Kind):
        if not isinstance(got, Kind) or got.kind != want.kind:
            return f"is {kind_of(got)}, expected {kind_of(want)}"
        if want.kind == "sequence" and got.length != want.length:
            return f"has {got.length} elements, expected {want.length}"
        if want.kind in ("module", "object") and got.cls != want.cls:
            return f"is {kind_of(got)}, expected {kind_of(want)}"
        return None
    raise TypeError(f"cannot compare facts of type {type(want).__name__}")


def compare_tensors(got: TensorFact, want: TensorFact, tolerance: Tolerance) -> str | None:
    if got.cls not in _PLAIN:
        return f"is a {got.cls}, expected a plain torch.Tensor"
    if got.layout != "strided":
        return f"has layout {got.layout}, expected a dense (strided) tensor"
    if got.dtype != want.dtype:
        return f"has dtype {got.dtype}, expected {want.dtype}"
    if got.shape != want.shape:
        return f"has shape {_shape(got.shape)}, expected {_shape(want.shape)}"
    if got.device != want.device:
        return f"is on device {got.device}, expected {want.device}"
    if want.values is None:
        return None
    if got.values is None:
        return "could not be read"
    return compare_arrays(got.values, want.values, tolerance)


def compare_arrays(got: np.ndarray, want: np.ndarray, tolerance: Tolerance) -> str | None:
    if got.dtype == want.dtype and got.shape == want.shape and got.tobytes() == want.tobytes():
        return None  # the common case: bit for bit the same (NaN where NaN included)
    if want.dtype.kind not in "fc":
        bad = got != want
        if not np.any(bad):
            return None
        return _element_report(got, want, bad, None)
    g = got.astype(np.float64) if got.dtype.kind == "f" else got
    w = want.astype(np.float64) if want.dtype.kind == "f" else want
    g_nan, w_nan = np.isnan(g), np.isnan(w)
    g_inf, w_inf = np.isinf(g), np.isinf(w)
    with np.errstate(invalid="ignore", over="ignore"):
        finite = ~(g_nan | w_nan | g_inf | w_inf)
        scale = float(np.max(np.abs(w[finite]))) if np.any(finite) else 0.0
        allowed = tolerance.atol + tolerance.rtol * (np.abs(w) + 0.1 * scale)
        diff = np.abs(g - w)
        bad = (g_nan != w_nan) | (g_inf != w_inf) | (g_inf & w_inf & (g != w))
        bad |= finite & ~(diff <= allowed)
    if not np.any(bad):
        return None
    return _element_report(got, want, bad, diff)


def _element_report(got: np.ndarray, want: np.ndarray, bad: np.ndarray, diff: np.ndarray | None) -> str:
    count, total = int(np.count_nonzero(bad)), int(bad.size)
    first = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
    text = (
        (f"{count} of {total} element{'s' if total != 1 else ''} differ{'s' if count == 1 else ''}")
        if bad.ndim
        else "differs"
    )
    if diff is not None:
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            finite_bad = bad & np.isfinite(diff)
            if np.any(finite_bad):
                max_abs = float(np.max(diff[finite_bad]))
                text += f" (max abs diff {format_number(max_abs)}"
                scale = np.abs(want.astype(np.float64))
                relative = finite_bad & (scale > 0)
                if np.any(relative):
                    rel = float(np.max(diff[relative] / scale[relative]))
                    text += f", max rel diff {format_number(rel)}"
                text += ")"
            else:
                text += " (NaN or infinity where the expected value differs)"
    if bad.ndim:
        text += f", first at index {list(first)}"
    text += f": got {format_array(got)}, expected {format_array(want)}"
    return text


def _compare_floats(got: float, want: float, tolerance: Tolerance) -> str | None:
    message = compare_arrays(np.asarray(got), np.asarray(want), tolerance)
    if message is None:
        return None
    return f"is {format_number(got)}, expected {format_number(want)}"


def kind_of(fact: Fact) -> str:
    if fact is None:
        return "None"
    if isinstance(fact, TensorFact):
        return f"a tensor of shape {_shape(fact.shape)} ({fact.dtype})"
    if isinstance(fact, bool):
        return "a bool"
    if isinstance(fact, float):
        return "a Python float"
    if isinstance(fact, int):
        return "an int"
    if isinstance(fact, str):
        return "a string"
    if isinstance(fact, Kind):
        if fact.kind == "sequence":
            return f"a {fact.cls} of {fact.length} values"
        if fact.kind == "module":
            return f"a module ({fact.cls})"
        if fact.kind == "number":
            return f"a {fact.cls}"
        return f"an object of type {fact.cls}" if fact.cls else f"a {fact.kind}"
    return type(fact).__name__


def _plain(fact: Fact) -> str:
    if isinstance(fact, (bool, int, str)) or fact is None:
        return repr(fact)
    return kind_of(fact)


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


# -- naming facts for people -------------------------------------------------------

_SUFFIXES = (
    ".requires_grad",
    ".grad_fn",
    ".is_leaf",
    ".grad_cleared",
    ".same_object",
    ".grad",
)


def describe(path: str, labels: dict[str, str]) -> str:
    """'return[1]' -> 'returned value 2' (or the check's label for it)."""
    stage, _, base = path.rpartition(": ")
    name = _name(base, labels)
    return f"{name} {stage}" if stage else name


def _name(base: str, labels: dict[str, str]) -> str:
    if base in labels:
        return labels[base]
    for suffix in _SUFFIXES:
        if base.endswith(suffix):
            return f"{_name(base[: -len(suffix)], labels)}{suffix}"
    if base == "return":
        return "the returned value"
    if base.startswith("return[") and base.endswith("]") and base[7:-1].isdigit():
        return f"returned value {int(base[7:-1]) + 1}"
    return f"`{base}`"


def _sentence(path: str, message: str, got: Fact, labels: dict[str, str]) -> str:
    stage, _, base = path.rpartition(": ")
    after = f" {stage}" if stage else ""
    name = describe(path, labels)
    if base == "grad_mode":
        return f"grad mode is {'on' if got else 'off'} after the call, expected {'off' if got else 'on'}"
    if base.endswith("error") and stage:
        return f"{stage.removeprefix('after ')} failed with {got}" if got else f"{stage} should have failed"
    if base.endswith(".same_object"):
        owner = _name(base[: -len(".same_object")], labels)
        if got is False:
            return f"{owner} was replaced by a new tensor{after}; the caller's tensor must be updated in place"
        return f"{owner} is the same object, expected a new one"
    if base.endswith(".grad_cleared"):
        grad = _attr(base[: -len(".grad_cleared")], "grad", labels)
        if got is False:
            return f"{grad} was not cleared{after} (expected None or zeros)"
        return f"{grad} was cleared{after}, expected it to keep its gradient"
    if base.endswith(".grad_fn"):
        owner = _name(base[: -len(".grad_fn")], labels)
        return (
            f"{owner} has a grad_fn{after}: it is a node of a computation graph, expected no history"
            if got
            else f"{owner} has no grad_fn{after}, expected it to be connected to the graph"
        )
    for flag in ("requires_grad", "is_leaf"):
        if base.endswith("." + flag):
            return f"{_attr(base[: -len(flag) - 1], flag, labels)} is {got}{after}, expected {not got}"
    if base.endswith(".grad"):
        grad = _attr(base[: -len(".grad")], "grad", labels)
        if got is None:
            return f"{grad} is None{after}, expected a gradient"
        return f"{grad}{after} {message}"
    return f"{name} {message}"


def _attr(owner: str, attribute: str, labels: dict[str, str]) -> str:
    """`t.grad` for an argument; 'grad of the loss' for a labelled or returned value."""
    if owner in labels or owner.startswith("return"):
        return f"{attribute} of {_name(owner, labels)}"
    return f"`{owner}.{attribute}`"
