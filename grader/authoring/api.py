"""The classes a reference package builds its checks and misconceptions from (see ``grader.authoring``)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st

from ..observe.case import (
    Backward,
    Case,
    ForwardBackward,
    FunctionArg,
    GradCheck,
    LinearArg,
    PathBackward,
    SequentialArg,
    TensorArg,
)
from ..observe.compare import Mismatch
from ..observe.observation import Fact, Observation

__all__ = [
    "Backward",
    "Case",
    "Check",
    "Evidence",
    "ForwardBackward",
    "FunctionArg",
    "GradCheck",
    "LinearArg",
    "Misconception",
    "Part",
    "PathBackward",
    "SequentialArg",
    "TensorArg",
    "like",
]


@dataclass(frozen=True)
class Part:
    """One gradable part of a function's behaviour.

    ``facts`` are glob patterns over observation paths (see
    ``grader.observation``) compared with the reference's. A ``judge`` replaces
    that comparison where the rule is not equality (for example "the final
    loss is at most the reference's"): it gets (student, reference, case) and
    returns the problems it found, as sentences.
    """

    name: str
    description: str
    facts: tuple[str, ...] = ()
    judge: Callable[[Observation, Observation, Case], list[str]] | None = None

    def __post_init__(self) -> None:
        if not self.facts and self.judge is None:
            raise ValueError(f"part {self.name!r} needs facts or a judge")


@dataclass(frozen=True)
class Check:
    """How to test one function.

    ``cases`` draws the inputs; ``edges`` are fixed inputs at the edges of the
    domain (the largest data set, the most epochs) that are always checked
    after the drawn ones, since drawing favours small inputs; ``labels``
    name observed values for feedback (``{"return[0]": "the loss"}``).
    ``examples`` is how many inputs the check's input space needs, where that
    is fewer than the rubric's ``examples:`` (a training loop of a hundred
    epochs gains little from its hundredth data set); a rubric item's own
    ``examples:`` still wins, and ``grade mutate`` says when a budget lets a
    mutant through that the rubric's number would catch.
    """

    target: str
    cases: st.SearchStrategy[Case]
    parts: tuple[Part, ...]
    labels: Mapping[str, str] = field(default_factory=dict)
    edges: tuple[Case, ...] = ()
    examples: int | None = None

    def part(self, name: str) -> Part:
        for part in self.parts:
            if part.name == name:
                return part
        raise KeyError(name)


@dataclass(frozen=True)
class Evidence:
    """What a misconception detector may look at: one failing call."""

    case: Case
    student: Observation
    expected: Observation
    failed: frozenset[str]
    mismatches: tuple[Mismatch, ...]
    check: Check
    run_alternative: Callable[[Callable, Case], Observation]
    same: Callable[[Observation, Observation, tuple[str, ...]], bool]
    # Other failing calls of the same kind, so that a variant must explain
    # them too before the mistake is named: one tiny input often fits several.
    more: tuple[tuple[Case, Observation], ...] = ()
    # The reference's observation of each of ``more``'s calls, in the same order.
    more_expected: tuple[Observation, ...] = ()

    @property
    def error(self) -> dict | None:
        return self.student.error

    def error_mentions(self, *fragments: str) -> bool:
        if self.error is None:
            return False
        text = f"{self.error.get('type', '')}: {self.error.get('message', '')}"
        return any(fragment in text for fragment in fragments)

    def step_error_mentions(self, *fragments: str) -> bool:
        """Did a follow-up step (a backward() on the result, say) raise with one of these in its message?"""
        return any(
            path.endswith(": error message") and any(f in str(message) for f in fragments)
            for path, message in self.student.facts.items()
        )

    def fact(self, path: str) -> Fact:
        return self.student.facts.get(path)

    def expected_fact(self, path: str) -> Fact:
        return self.expected.facts.get(path)

    def initial_values(self) -> dict[str, np.ndarray]:
        """The values the caller's tensors had before the call, by fact path."""
        out: dict[str, np.ndarray] = {}
        for name, arg in self.case.args:
            if isinstance(arg, TensorArg):
                out[name] = arg.data
            elif isinstance(arg, LinearArg):
                out.update(_layer_values(name, arg))
            elif isinstance(arg, SequentialArg):
                for i, layer in enumerate(arg.layers):
                    if isinstance(layer, LinearArg):
                        out.update(_layer_values(f"{name}.{i}", layer))
            elif isinstance(arg, list):
                for i, item in enumerate(arg):
                    if isinstance(item, TensorArg):
                        out[f"{name}[{i}]"] = item.data
        return out

    def behaves_like(
        self,
        alternative: Callable,
        *,
        parts: Iterable[str] | None = None,
        facts: Iterable[str] | None = None,
    ) -> bool:
        """Does the student's observation match ``alternative``'s on these parts (or facts)?

        By default the comparison covers the facts of the parts that failed
        (none when the call itself raised). The alternative must also differ
        from the reference there on one of the calls at least: where the
        mistake changes nothing (a transposed Jacobian of one input and one
        output), behaving like it says nothing.
        """
        if facts is not None:
            patterns = tuple(facts)
        else:
            known = {part.name for part in self.check.parts}
            names = tuple(parts) if parts is not None else tuple(n for n in self.failed if n in known)
            patterns = tuple(p for name in names for p in self.check.part(name).facts)
        if not patterns:
            return False
        expected: list[Observation | None] = [self.expected, *self.more_expected]
        telling = False
        for i, (case, student) in enumerate(((self.case, self.student), *self.more)):
            other = self.run_alternative(alternative, case)
            if other.raised or not self.same(student, other, patterns):
                return False
            reference = expected[i] if i < len(expected) else None
            telling = telling or (reference is not None and not self.same(reference, other, patterns))
        return telling


def like(module: str, variant: str, *parts: str) -> Callable[[Evidence], bool]:
    """A detector: the student's function behaves like the buggy ``variant`` of ``module``.

    ``module`` is imported on first use (variants import torch), for example
    ``like(__package__ + ".variants", "jacobian_transposed", "value")``;
    ``parts`` default to the parts that failed.
    """

    def detect(ev: Evidence) -> bool:
        return ev.behaves_like(getattr(importlib.import_module(module), variant), parts=parts or None)

    return detect


def _layer_values(path: str, layer: LinearArg) -> dict[str, np.ndarray]:
    out = {f"{path}.weight": layer.weight}
    if layer.bias is not None:
        out[f"{path}.bias"] = layer.bias
    return out


@dataclass(frozen=True)
class Misconception:
    """A known mistake: its ``name`` and ``fix`` (marked ``N_``, translated where shown) and its detector.

    ``values``: code put into the translated texts' ``{placeholders}`` (``{apply}`` → ``SoftClip.apply(x, c)``),
    for the generic mistakes of ``grader.authoring`` that an assignment fills in with its own code.
    """

    id: str
    name: str
    fix: str
    detect: Callable[[Evidence], bool]
    values: tuple[tuple[str, str], ...] = ()

    def shown(self) -> tuple[str, str]:
        """The name and the fix in the current run's language, the values in place."""
        from ..i18n import _

        name, fix = _(self.name), _(self.fix)
        if self.values:
            values = dict(self.values)
            name, fix = name.format(**values), fix.format(**values)
        return name, fix
