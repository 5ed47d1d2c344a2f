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

from ..i18n import N_, _, decimal, ngettext
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
            mismatches.append(Mismatch(path, _("{name} is missing").format(name=describe(path, labels))))
            broken.append(path)
            continue
        if path not in expected.facts:
            continue  # an extra element shows up as a length mismatch of its parent
        difference = _difference(student.facts[path], expected.facts[path], tolerance)
        if difference is not None:
            message = student.facts.get(path + " message")  # what a step that failed said
            mismatches.append(Mismatch(path, _sentence(path, difference, student.facts[path], labels, message)))
            broken.append(path)
    return mismatches


def _owner(path: str) -> str:
    for suffix in _SUFFIXES:
        if path.endswith(suffix):
            return path[: -len(suffix)]
    return path


def _under(path: str, parent: str) -> bool:
    return path.startswith(parent + "[") or path.startswith(parent + ".")


@dataclass(frozen=True)
class _Difference:
    """What differs, as a whole sentence about the fact, whose subject is ``{name}``.

    ``text`` is already in the run's language; the subject (the fact's name, a
    label, the step it was seen after) is filled in by whoever names the fact.
    """

    text: str
    values: dict[str, object]

    def sentence(self, name: str) -> str:
        return self.text.format(name=name, **self.values)

    def predicate(self) -> str:
        """The sentence without its subject ("has shape (1,), expected (2,)")."""
        return self.sentence("").strip(" :")


def compare_fact(got: Fact, want: Fact, tolerance: Tolerance) -> str | None:
    """None when equal, else what differs (without naming the fact)."""
    difference = _difference(got, want, tolerance)
    return None if difference is None else difference.predicate()


def _difference(got: Fact, want: Fact, tolerance: Tolerance) -> _Difference | None:
    if isinstance(want, TensorFact):
        if not isinstance(got, TensorFact):
            return _Difference(
                _("{name} is {got}, expected a tensor of shape {shape} ({dtype})"),
                {"got": kind_of(got), "shape": _shape(want.shape), "dtype": want.dtype},
            )
        return _tensor_difference(got, want, tolerance)
    if isinstance(want, bool) or want is None or isinstance(want, (int, str)) and not isinstance(want, float):
        if type(got) is type(want) and got == want:
            return None
        return _Difference(_("{name} is {got}, expected {want}"), {"got": _plain(got), "want": _plain(want)})
    if isinstance(want, float):
        if type(got) is not float:
            if isinstance(got, TensorFact):
                text = _("{name} is {got}, expected a Python float (convert with .item())")
            elif isinstance(got, Kind) and got.kind == "number":
                text = _("{name} is {got}, expected a Python float (convert with float(...))")
            else:
                text = _("{name} is {got}, expected a Python float")
            return _Difference(text, {"got": kind_of(got)})
        return _compare_floats(got, want, tolerance)
    if isinstance(want, Kind):
        if not isinstance(got, Kind) or got.kind != want.kind:
            return _Difference(_("{name} is {got}, expected {want}"), {"got": kind_of(got), "want": kind_of(want)})
        if want.kind == "sequence" and got.length != want.length:
            count = got.length or 0
            # The English says "elements" for one too (tests and reports read it so); Polish needs the count.
            text = ngettext(
                "{name} has {got} elements, expected {want}", "{name} has {got} elements, expected {want}", count
            )
            return _Difference(text, {"got": got.length, "want": want.length})
        if want.kind in ("module", "object") and got.cls != want.cls:
            return _Difference(_("{name} is {got}, expected {want}"), {"got": kind_of(got), "want": kind_of(want)})
        return None
    raise TypeError(f"cannot compare facts of type {type(want).__name__}")


def compare_tensors(got: TensorFact, want: TensorFact, tolerance: Tolerance) -> str | None:
    difference = _tensor_difference(got, want, tolerance)
    return None if difference is None else difference.predicate()


def _tensor_difference(got: TensorFact, want: TensorFact, tolerance: Tolerance) -> _Difference | None:
    if got.cls not in _PLAIN:
        return _Difference(_("{name} is a {cls}, expected a plain torch.Tensor"), {"cls": got.cls})
    if got.layout != "strided":
        return _Difference(_("{name} has layout {layout}, expected a dense (strided) tensor"), {"layout": got.layout})
    if got.dtype != want.dtype:
        return _Difference(_("{name} has dtype {got}, expected {want}"), {"got": got.dtype, "want": want.dtype})
    if got.shape != want.shape:
        return _Difference(
            _("{name} has shape {got}, expected {want}"), {"got": _shape(got.shape), "want": _shape(want.shape)}
        )
    if got.device != want.device:
        return _Difference(_("{name} is on device {got}, expected {want}"), {"got": got.device, "want": want.device})
    if want.values is None:
        return None
    if got.values is None:
        return _Difference(_("{name} could not be read"), {})
    return _array_difference(got.values, want.values, tolerance)


def compare_arrays(got: np.ndarray, want: np.ndarray, tolerance: Tolerance) -> str | None:
    difference = _array_difference(got, want, tolerance)
    return None if difference is None else difference.predicate()


def _array_difference(got: np.ndarray, want: np.ndarray, tolerance: Tolerance) -> _Difference | None:
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


def _element_report(got: np.ndarray, want: np.ndarray, bad: np.ndarray, diff: np.ndarray | None) -> _Difference:
    count, total = int(np.count_nonzero(bad)), int(bad.size)
    values: dict[str, object] = {
        "details": _difference_details(want, bad, diff),
        "got": format_array(got),
        "want": format_array(want),
    }
    if not bad.ndim:
        return _Difference(_("{name} differs{details}: got {got}, expected {want}"), values)
    values.update(count=count, total=total, index=[int(i) for i in np.argwhere(bad)[0]])
    if total == 1:
        text = _("{name} 1 of 1 element differs{details}, first at index {index}: got {got}, expected {want}")
    else:
        text = ngettext(
            "{name} {count} of {total} elements differs{details}, first at index {index}: got {got}, expected {want}",
            "{name} {count} of {total} elements differ{details}, first at index {index}: got {got}, expected {want}",
            count,
        )
    return _Difference(text, values)


def _difference_details(want: np.ndarray, bad: np.ndarray, diff: np.ndarray | None) -> str:
    """How far off the differing elements are, as a parenthesis after the count (empty for exact dtypes)."""
    if diff is None:
        return ""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        finite_bad = bad & np.isfinite(diff)
        if not np.any(finite_bad):
            return " ({})".format(_("NaN or infinity where the expected value differs"))
        max_abs = decimal(format_number(float(np.max(diff[finite_bad]))))
        scale = np.abs(want.astype(np.float64))
        relative = finite_bad & (scale > 0)
        if not np.any(relative):
            return " ({})".format(_("max abs diff {abs}").format(abs=max_abs))
        rel = decimal(format_number(float(np.max(diff[relative] / scale[relative]))))
        return " ({})".format(_("max abs diff {abs}, max rel diff {rel}").format(abs=max_abs, rel=rel))


def _compare_floats(got: float, want: float, tolerance: Tolerance) -> _Difference | None:
    if _array_difference(np.asarray(got), np.asarray(want), tolerance) is None:
        return None
    # The values are Python's own (code): they keep their decimal point in every language.
    return _Difference(_("{name} is {got}, expected {want}"), {"got": format_number(got), "want": format_number(want)})


def kind_of(fact: Fact) -> str:
    """What kind of value a fact is, for a sentence ("a tensor of shape (2,) (float32)")."""
    if fact is None:
        return "None"
    if isinstance(fact, TensorFact):
        return _("a tensor of shape {shape} ({dtype})").format(shape=_shape(fact.shape), dtype=fact.dtype)
    if isinstance(fact, bool):
        return _("a bool")
    if isinstance(fact, float):
        return _("a Python float")
    if isinstance(fact, int):
        return _("an int")
    if isinstance(fact, str):
        return _("a string")
    if isinstance(fact, Kind):
        if fact.kind == "sequence":
            return ngettext("a {cls} of {n} values", "a {cls} of {n} values", fact.length or 0).format(
                cls=fact.cls, n=fact.length
            )
        if fact.kind == "module":
            return _("a module ({cls})").format(cls=fact.cls)
        if fact.kind == "number":
            return _("a {cls}").format(cls=fact.cls)
        if fact.cls:
            return _("an object of type {cls}").format(cls=fact.cls)
        return _("a {kind}").format(kind=fact.kind)
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
    """'return[1]' -> 'returned value 2' (or the check's label for it), with the step it was seen after."""
    if path in labels:  # a label for the whole path, its step included ("gradcheck: value")
        return _(labels[path])
    stage, _sep, base = path.rpartition(": ")
    name = _name(base, labels)
    return f"{name} {_(stage)}" if stage else name


def _name(base: str, labels: dict[str, str]) -> str:
    if base in labels:
        return _(labels[base])  # the check's label, marked N_ where the check is written
    for suffix in _SUFFIXES:
        if base.endswith(suffix):
            return f"{_name(base[: -len(suffix)], labels)}{suffix}"
    if base == "return":
        return _("the returned value")
    if base.startswith("return[") and base.endswith("]") and base[7:-1].isdigit():
        return _("returned value {n}").format(n=int(base[7:-1]) + 1)
    return f"`{base}`"


# A follow-up step's name where a sentence says it failed ("backward() failed with …"): its label
# without "after ", for the labels this module and grader.authoring give (translated where shown).
_STEP_NAMES = (N_("another backward through x"), N_("a forward and backward pass"))
# The labels of this module's steps (case.py); a check's own are marked where it is written.
_STAGES = (N_("after backward()"), N_("after another backward through x"), N_("after a forward and backward pass"))


def _sentence(path: str, difference: _Difference, got: Fact, labels: dict[str, str], message: Fact = None) -> str:
    stage, _sep, base = path.rpartition(": ")
    # The step the fact was seen after, as it ends a sentence's subject (" after backward()").
    after = f" {_(stage)}" if stage else ""
    if base == "grad_mode":
        return (
            _("grad mode is on after the call, expected off")
            if got
            else _("grad mode is off after the call, expected on")
        )
    if base.endswith("error") and stage:
        if not got:
            return _("{stage} should have failed").format(stage=_(stage))
        step = _(stage.removeprefix("after "))
        said = message.strip().splitlines()[0] if isinstance(message, str) and message.strip() else ""
        if said:  # its first line, as torch's errors say what went wrong there
            said = said if len(said) <= 240 else said[:240] + "…"
            return _("{step} failed with {error}: {message}").format(step=step, error=got, message=said)
        return _("{step} failed with {error}").format(step=step, error=got)
    if base.endswith(".same_object"):
        owner = _name(base[: -len(".same_object")], labels)
        if got is False:
            return _(
                "{owner} was replaced by a new tensor{after}; the caller's tensor must be updated in place"
            ).format(owner=owner, after=after)
        return _("{owner} is the same object, expected a new one").format(owner=owner)
    if base.endswith(".grad_cleared"):
        grad = _attr(base[: -len(".grad_cleared")], "grad", labels)
        if got is False:
            return _("{grad} was not cleared{after} (expected None or zeros)").format(grad=grad, after=after)
        return _("{grad} was cleared{after}, expected it to keep its gradient").format(grad=grad, after=after)
    if base.endswith(".grad_fn"):
        owner = _name(base[: -len(".grad_fn")], labels)
        if got:
            return _("{owner} has a grad_fn{after}: it is a node of a computation graph, expected no history").format(
                owner=owner, after=after
            )
        return _("{owner} has no grad_fn{after}, expected it to be connected to the graph").format(
            owner=owner, after=after
        )
    for flag in ("requires_grad", "is_leaf"):
        if base.endswith("." + flag):
            attribute = _attr(base[: -len(flag) - 1], flag, labels)
            return _("{attribute} is {got}{after}, expected {want}").format(
                attribute=attribute, got=got, after=after, want=not got
            )
    if base.endswith(".grad"):
        grad = _attr(base[: -len(".grad")], "grad", labels)
        if got is None:
            return _("{grad} is None{after}, expected a gradient").format(grad=grad, after=after)
        return difference.sentence(f"{grad}{after}")
    return difference.sentence(describe(path, labels))


def _attr(owner: str, attribute: str, labels: dict[str, str]) -> str:
    """`t.grad` for an argument; 'grad of the loss' for a labelled or returned value."""
    if owner in labels or owner.startswith("return"):
        return _("{attribute} of {name}").format(attribute=attribute, name=_name(owner, labels))
    return f"`{owner}.{attribute}`"
