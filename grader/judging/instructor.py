"""The instructor's mistakes that show only once the reference runs: caught and named, never graded.

Loading an assignment checks what can be checked without running anything
(``grader.course.assignment``). Two mistakes show only in observations, and
either would grade silently wrong:

- a ``Part``'s fact pattern that matches no fact of the reference's
  observation (a misspelt path: ``"after backward: x.grad"`` for
  ``"after backward(): x.grad"``) compares nothing, so its part passes every
  notebook;
- the reference raising, in its call or in a follow-up step such as
  ``backward()``, on an input its own check draws leaves nothing to compare
  with: a student who raised too would be judged right.

A pattern may rightly match nothing on some inputs (the ``.grad`` of a tensor
that does not require grad, the facts after a ``backward()`` that the check
adds only where something requires grad), so it is an error only when it
matched nothing on every input of the item and on up to ``MORE_INPUTS``
inputs more, drawn for the reference alone while some pattern is still
unmatched (few ``--examples``; a plan's inputs). An input on which the
reference raises is shrunk, on the reference alone, to the smallest one
hypothesis finds. Either is a ``ReferenceBroken``: one line naming the rubric
file, the item, its check and the pattern (with the closest fact path there
is) or the input; exit 2, like any broken course material.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..authoring.api import Check
from ..course.rubric import Item
from ..errors import ReferenceBroken
from ..observe.case import Case
from ..observe.compare import select
from ..observe.observation import Observation, decode
from ..observe.reference import ReferenceFailed, ReferenceRunner
from .model import ItemSetup
from .search import find, run_examples

MORE_INPUTS = 200  # drawn for the reference alone, only while a pattern is still unmatched
_SHOWN_PATHS = 12


class FactCoverage:
    """Which fact patterns of a check's parts some reference observation of the item has matched."""

    def __init__(self, check: Check) -> None:
        self._unmatched = list(dict.fromkeys((part.name, p) for part in check.parts for p in part.facts))
        self._paths: set[str] = set()  # kept only while a pattern is unmatched: for the suggestion
        self.seen = 0

    @property
    def complete(self) -> bool:
        return not self._unmatched

    @property
    def unmatched(self) -> list[tuple[str, str]]:
        """(part, pattern) of every pattern nothing matched yet, in the check's order."""
        return list(self._unmatched)

    def see(self, observation: Observation) -> None:
        self.seen += 1
        if self._unmatched:
            self._paths.update(observation.facts)
            self._unmatched = [(part, p) for part, p in self._unmatched if not select(observation, (p,))]

    def closest(self, pattern: str) -> str | None:
        found = difflib.get_close_matches(pattern, sorted(self._paths), n=1, cutoff=0.6)
        return found[0] if found else None

    def paths(self) -> list[str]:
        return sorted(self._paths)


def _one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class Audit:
    """The checks of one item's reference observations, and the errors that name what they find.

    ``observe`` is the reference's observation of an input (``ReferenceFailed`` where it raises);
    ``seed`` the item's, so that a search on the reference alone draws the item's inputs.
    """

    rubric: Path | str | None
    item: Item
    check: Check
    observe: Callable[[Case], Observation]
    seed: int

    @classmethod
    def of_item(cls, setup: ItemSetup, reference: ReferenceRunner, *, call_seed: int) -> Audit:
        target = setup.item.target

        def observe(case: Case) -> Observation:
            header, blobs = case.request(target, seed=call_seed)
            return decode(*reference.expected(target, header, blobs, case), device_as=reference.device_as)

        return cls(reference.rubric, setup.item, setup.check, observe, setup.seed)

    def where(self) -> str:
        return f"{self.rubric or 'the rubric'}: item {self.item.id} (check '{self.item.check}')"

    def failed(self, first: ReferenceFailed, *, examples: int, seed: int | None = None) -> ReferenceBroken:
        """The error for a reference that raised, on the smallest input of its check that makes it raise."""

        def call(case: Case) -> None:
            self.observe(case)

        error = run_examples(self.check.cases, call, max_examples=examples, seed=self.seed if seed is None else seed)
        found = find(error, ReferenceFailed)
        if error is not None and found is None:
            raise error  # not the reference's failure: a bug here
        shown = found if isinstance(found, ReferenceFailed) else first
        return ReferenceBroken(
            _one_line(
                f"{self.where()}: {shown.what} on an input the check draws: {shown.case.describe()} "
                "(the reference must answer every input of its check: fix the reference or the check's inputs)"
            )
        )

    def vouch(self, observations: Iterable[Observation]) -> None:
        """Every fact pattern of the check matched by some reference observation; ``ReferenceBroken`` if not.

        ``observations``: the reference's, on the item's inputs. Where they leave a pattern unmatched,
        up to ``MORE_INPUTS`` inputs more are drawn for the reference alone before it is an error.
        """
        coverage = FactCoverage(self.check)
        for observation in observations:
            coverage.see(observation)
        if coverage.complete:
            return
        raised: list[ReferenceFailed] = []

        def more(case: Case) -> None:
            if coverage.complete or raised:
                return
            try:
                coverage.see(self.observe(case))
            except ReferenceFailed as exc:
                raised.append(exc)

        error = run_examples(self.check.cases, more, max_examples=MORE_INPUTS, seed=self.seed + 1)
        if error is not None:
            raise error
        if raised:
            raise self.failed(raised[0], examples=MORE_INPUTS, seed=self.seed + 1)
        if not coverage.complete:
            raise self._unmatched(coverage)

    def _unmatched(self, coverage: FactCoverage) -> ReferenceBroken:
        (part, pattern), *others = coverage.unmatched
        closest = coverage.closest(pattern)
        if closest is not None:
            hint = f"did you mean '{closest}'?"
        else:
            paths = coverage.paths()
            hint = "its facts: " + ", ".join(paths[:_SHOWN_PATHS]) + (", …" if len(paths) > _SHOWN_PATHS else "")
        text = (
            f"{self.where()}, part '{part}': the fact pattern '{pattern}' matches no fact of the reference's "
            f"observation on any of {coverage.seen} inputs ({hint})"
        )
        if others:
            text += "; nor do " + ", ".join(f"'{p}' (part '{name}')" for name, p in others)
        return ReferenceBroken(_one_line(text))
