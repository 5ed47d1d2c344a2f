"""Grade one rubric item: draw inputs, call student and reference, compare, shrink.

1. Hypothesis draws the item's examples. Each is sent to the student's
   worker at once (calls are pipelined) while the reference's observation is
   computed here.
2. The replies are compared part by part.
3. Only where something failed does hypothesis run again, from the same
   seed: it sees the same examples up to the first failure (their answers
   come from the cache), then shrinks to the smallest input that still fails
   the same way. Parts that fail for other reasons get their own search.

The reference's observations are vouched for before any is compared (see
``instructor``): a fact pattern that matches nothing, or the reference raising
on an input its check draws, is the instructor's error, never a grade.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..authoring.api import Evidence
from ..child.wire import pack
from ..i18n import _
from ..observe.case import Case
from ..observe.compare import Mismatch, Tolerance, compare
from ..observe.observation import Observation, ObservationError, decode
from ..observe.reference import ReferenceFailed, ReferenceRunner, failure_in
from ..result import ItemResult, MisconceptionHit
from ..sandbox.calls import CallOutcome, CallStream
from ..sandbox.execution import TOTAL_LIMIT, WorkerUnavailable
from ..sandbox.session import DIED_UNDER, Session, Worker
from .feedback import Failure, budget_result, build_result, missing_result, unavailable_result
from .instructor import Audit
from .model import RAISED, Example, ItemSetup, Verdict
from .plans import Entry, PlanStore
from .search import find, reject, run_examples

# Plans replayed in this process, by plan key (which names the rubric, reference, seed and item): a batch
# worker grades notebook after notebook of one assignment, and reading, decoding and vouching for the same
# plan each time cost more than the calls it replays. The examples hold only what the reference made of an
# input, the same for every submission; a grader keeps what the student's calls gave in its own dicts.
_REPLAYED: dict[tuple[str, str | None], list[Example]] = {}
_REPLAYED_MAX = 256


def _fails_besides(excluded: frozenset[str]) -> Callable[[frozenset[str]], bool]:
    return lambda failed: bool(failed - {RAISED} - excluded)


class _Interesting(Exception):
    def __init__(self, verdict: Verdict) -> None:
        super().__init__("interesting example")
        self.verdict = verdict


class _Stop(Exception):
    """Stop asking the worker: a call ended it, or the item ran out of time."""


# How many more inputs a search tries once it has found a failing one. Hypothesis's shrinker takes its
# big steps first (dropping elements, zeroing spans, halving numbers); what a long shrink adds after that
# polishes an input already small, at the cost of drawing each candidate and calling both sides on it
# (a training loop's item). The samples' counterexamples need fewer (the most, about 115 on sgd_step_; 60
# left three of them visibly larger), but inputs whose rows must shrink together need more: with 200 an
# accumulation kept 44 rows where 500 reach 5, an accuracy 64 values where 500 reach 8, for about half a
# second more. A count, not a time: the same counterexample on every machine.
SHRINK_TRIES = 500


class _Enough(BaseException):
    """The shrinking budget is spent: the smallest failing input so far is the counterexample.

    A BaseException, so that hypothesis passes it on at once instead of shrinking it as another failure.
    """


@dataclass(frozen=True)
class _Decided:
    """The item's result is known without a call (its function is missing, the time budget is spent)."""

    result: ItemResult


@dataclass(frozen=True)
class _NoWorker:
    """No worker could be opened for the item yet."""

    reason: str


class ItemGrader:
    def __init__(
        self,
        setup: ItemSetup,
        *,
        session: Session,
        reference: ReferenceRunner,
        defined: frozenset[str],
        missing_hint: Callable[[str], str],
        plans: PlanStore | None = None,
    ) -> None:
        self.setup = setup
        self.item = setup.item
        self.check = setup.check
        self.session = session
        self.reference = reference
        self.defined = defined
        self.missing_hint = missing_hint
        self.plans = plans
        self.limits = session.limits
        self.call_seed = setup.seed % (1 << 31)
        self.stream: CallStream | None = None
        self._examples: dict[str, Example] = {}
        self._submitted: dict[str, int] = {}
        self._student: dict[str, Observation] = {}
        self._fatal: tuple[CallOutcome, Example] | None = None
        self._latest: Verdict | None = None
        self._raised_seen: Verdict | None = None
        self._reference_failed: ReferenceFailed | None = None
        self._deadline = 0.0
        self._verdicts: list[Verdict] = []
        self._order: list[Example] = []
        self._state: _Decided | _NoWorker | None = None
        self._began = 0.0
        self.out_of_time = False

    # -- the item ---------------------------------------------------------------
    def grade(self) -> ItemResult:
        self.begin()
        return self.finish()

    def begin(self, *, patience: float = 0.0) -> None:
        """Opens the item's worker and sends it every example (drawing them if need be).

        Split from ``finish`` so that the next item's calls can run in the child
        while this side judges the previous item's answers. Leaves the item in one
        of three states: decided without a call (``_Decided``), no worker yet
        (``_NoWorker``, tried once more in ``finish``), or its examples sent (None).
        """
        self._began = time.monotonic()
        self._deadline = self.session.until(self._began + self.limits.item_s)
        self._state = None
        if self.session.out_of_budget():
            self._state = _Decided(budget_result(self.setup, self.limits))
        elif self.item.target not in self.defined:
            self._state = _Decided(missing_result(self.setup, self.missing_hint(self.item.target)))
        else:
            try:
                worker = self.session.open_worker(patience=patience)
            except WorkerUnavailable as exc:
                self._state = _NoWorker(str(exc))
                return
            self.stream = CallStream(self.session, worker, call_s=self.limits.call_s)
            order = self._replay() if self.plans is not None else None
            self._order = order if order is not None else self._draw()

    def finish(self) -> ItemResult:
        """Judges the answers, shrinks what failed, and scores the item.

        If the notebook's whole process died while the item ran, another item's
        worker may have killed it: the item is graded once more from scratch, and
        the guilty one crashes again.
        """
        result = self._finish_once()
        if result is None:
            self._reset()
            self.begin(patience=3.0)
            result = self._finish_once(may_retry=False)
        assert result is not None
        return result

    def _finish_once(self, *, may_retry: bool = True) -> ItemResult | None:
        """The item's result, or None when it must be graded again (see ``finish``)."""
        decided = self._started()
        if decided is not None:
            return decided
        assert self.stream is not None
        worker = self.stream.worker
        verdicts, failures = self._judge_and_close()
        self._settle_process_death(worker)
        if may_retry and self._fatal is not None and self._fatal[0].kind == "crashed" and self.session.replaced(worker):
            return None
        return build_result(
            self.setup,
            verdicts=verdicts,
            failures=failures,
            fatal=self._fatal,
            out_of_time=self.out_of_time,
            time_s=time.monotonic() - self._began,
            budget=self.limits if self.out_of_time and self.session.out_of_budget() else None,
        )

    def _started(self) -> ItemResult | None:
        """The item's result where it was decided without a call; None once its examples are sent."""
        if isinstance(self._state, _NoWorker):
            self.begin(patience=3.0)  # the previous item is done: its processes no longer crowd the child
            if isinstance(self._state, _NoWorker):
                if self.session.out_of_budget():
                    return budget_result(self.setup, self.limits)
                return unavailable_result(self.setup, self._state.reason)
        if isinstance(self._state, _Decided):
            return self._state.result
        return None

    def _judge_and_close(self) -> tuple[list[Verdict], list[Failure]]:
        """Every answer judged and what failed shrunk, within the item's time; the worker then ended."""
        assert self.stream is not None
        self._deadline = self.session.until(max(self._deadline, time.monotonic() + self.limits.item_s / 2))
        try:
            verdicts = self._judge_all(self._order)
            failures = self._diagnose(verdicts)
            if self.out_of_time:
                self.session.note_limit(TOTAL_LIMIT if self.session.out_of_budget() else "time limit")
        finally:
            if self.out_of_time and self.stream.broken is None:
                self.session.kill_worker(self.stream.worker)  # still busy with calls nobody waits for
            else:
                self.stream.close()
        return verdicts, failures

    def _settle_process_death(self, worker: Worker) -> None:
        """A notebook process that died under this item's calls makes it crashed, the same in every run."""
        if (
            self._fatal is None
            and self._order
            and not self.out_of_time
            and not self.session.outlived_by_notebook(worker)
        ):
            # Every call was answered, but the notebook's process did not survive them.
            self.session.note_limit("exited")
            self._fatal = (CallOutcome("crashed", detail=DIED_UNDER, limit="exited"), self._order[0])
        elif self._fatal is not None and self._fatal[0].detail == DIED_UNDER and self._order:
            # Which call it was, the race decides (the worker may answer a few more before it
            # goes too): the report names the item's first input, the same in every run.
            self._fatal = (self._fatal[0], self._order[0])

    def _reset(self) -> None:
        self.stream = None
        self._submitted.clear()
        self._student.clear()
        self._fatal = None
        self._latest = None
        self._raised_seen = None
        self._reference_failed = None
        self._verdicts = []
        self._order = []
        self.out_of_time = False

    def _judge_all(self, order: list[Example]) -> list[Verdict]:
        verdicts = []
        for example in order:
            if time.monotonic() > self._deadline:
                self.out_of_time = True
                break
            observation = self._collect(example)
            if observation is None:
                break
            verdicts.append(self._judge(example, observation))
        self._verdicts = verdicts
        return verdicts

    def _plan_key(self) -> str:
        assert self.plans is not None
        return self.plans.key(self.item, seed=self.setup.seed, examples=self.setup.examples)

    def _replay(self) -> list[Example] | None:
        """The stored plan's examples, sent to the worker; None if there is no plan."""
        assert self.plans is not None and self.stream is not None
        key = self._plan_key()
        memo = (key, self.reference.device_as)  # the expected observations name the student's device
        order = _REPLAYED.get(memo)
        if order is None:
            order = self._load_plan(key)
            if order is None:
                return None
            _REPLAYED[memo] = order
            while len(_REPLAYED) > _REPLAYED_MAX:
                del _REPLAYED[next(iter(_REPLAYED))]
        for example in order:
            self._examples[example.key] = example
            self._submitted[example.key] = self.stream.submit(example.header, example.blobs)
        return order

    def _load_plan(self, key: str) -> list[Example] | None:
        """A stored plan's examples, their reference observations decoded and vouched for; None if there is
        no plan, or one stored before references were checked (drawn afresh, which names the failure)."""
        assert self.plans is not None
        entries = self.plans.load(key)
        if entries is None:
            return None
        order = []
        for entry in entries:
            header, blobs = entry.request
            example = Example(
                case=Case.from_request(header, blobs),
                header=header,
                blobs=blobs,
                key=hashlib.sha256(pack(header, blobs)).hexdigest(),
                raw_expected=entry.reference,
            )
            if failure_in(self.item.target, entry.reference[0], example.case) is not None:
                return None
            order.append(example)
        self._audit().vouch(self._expected(example) for example in order)
        return order

    def _draw(self) -> list[Example]:
        """Draws the item's examples with hypothesis, sending each to the worker at once."""
        order: list[Example] = []
        complete = True

        def record(case: Case, *, drawn: bool = True) -> None:
            nonlocal complete
            if self._reference_failed is not None:
                return  # the item ends in the instructor's error: nothing more to draw
            if time.monotonic() > self._deadline:
                self.out_of_time = True
                complete = False
                return
            example = self._prepare(case)
            if example.key in self._submitted:
                if drawn:
                    reject()  # an input drawn twice does not count: every example is a distinct call
                return
            order.append(example)
            if self.stream is not None and self.stream.broken is None:
                self._submitted[example.key] = self.stream.submit(example.header, example.blobs)
            else:
                self._submitted[example.key] = -1
            try:
                self._expected(example)
            except ReferenceFailed as exc:
                self._reference_failed = exc

        error = run_examples(self.check.cases, record, max_examples=self.setup.examples, seed=self.setup.seed)
        if error is not None:
            raise error
        for case in self.check.edges:
            record(case, drawn=False)
        if self._reference_failed is not None:
            raise self._audit().failed(self._reference_failed, examples=self.setup.examples)
        if complete:  # an item cut short has not seen enough to be sure; its next full drawing checks
            self._audit().vouch(self._expected(example) for example in order)
        if complete and self.plans is not None:
            self.plans.save(
                self._plan_key(),
                [Entry((e.header, e.blobs), e.raw_expected) for e in order if e.raw_expected is not None],
            )
        return order

    def _diagnose(self, verdicts: list[Verdict]) -> list[Failure]:
        if self._fatal is not None:
            return []
        failures: list[Failure] = []
        failing = frozenset().union(*(v.failed for v in verdicts)) - {RAISED}
        excluded: frozenset[str] = frozenset()
        while failing - excluded and self._fatal is None:
            found = self._shrink(_fails_besides(excluded))
            if found is None:  # the search was cut short: report the first failing example as drawn
                found = next((v for v in verdicts if v.failed - {RAISED} - excluded), None)
                if found is None:
                    break
            new = found.failed - {RAISED} - excluded
            failures.append(self._failure(found, new))
            excluded |= new
        if self._fatal is None and (any(RAISED in v.failed for v in verdicts) or self._raised_seen):
            found = self._shrink(lambda failed: RAISED in failed) or self._raised_seen
            if found is not None:
                return [self._failure(found, frozenset({RAISED}))]
        return failures

    # -- examples and calls -----------------------------------------------------
    def _prepare(self, case: Case) -> Example:
        header, blobs = case.request(self.item.target, seed=self.call_seed)
        key = hashlib.sha256(pack(header, blobs)).hexdigest()
        example = self._examples.get(key)
        if example is None:
            example = Example(case, header, blobs, key)
            self._examples[key] = example
        return example

    def _expected(self, example: Example) -> Observation:
        if example.expected is None:
            if example.raw_expected is None:
                example.raw_expected = self.reference.expected(
                    self.item.target, example.header, example.blobs, example.case
                )
            example.expected = decode(*example.raw_expected, device_as=self.reference.device_as)
        return example.expected

    def _collect(self, example: Example) -> Observation | None:
        """The student's observation for an example, calling the worker if need be."""
        cached = self._student.get(example.key)
        if cached is not None:
            return cached
        if self._fatal is not None or self.stream is None:
            return None
        index = self._submitted.get(example.key)
        if index is None or index < 0:
            if self.stream.broken is not None:
                return None
            index = self._submitted[example.key] = self.stream.submit(example.header, example.blobs)
        outcome = self.stream.result(index)
        if outcome.kind == "void":
            return None
        if outcome.kind != "ok":
            self._fatal = (outcome, example)
            return None
        assert outcome.header is not None
        try:
            observation = decode(outcome.header, outcome.blobs)
        except ObservationError as exc:
            detail = _("the worker sent a malformed answer ({error})").format(error=exc)
            self._fatal = (CallOutcome("crashed", detail=detail), example)
            return None
        self._student[example.key] = observation
        return observation

    def _judge(self, example: Example, student: Observation) -> Verdict:
        if student.raised:
            return Verdict(example, student, frozenset({RAISED}))
        expected = self._expected(example)
        tolerance = self.item.tolerance(example.case.dtype)
        problems: dict[str, list[Mismatch]] = {}
        for name, _points in self.setup.parts:
            part = self.check.part(name)
            if part.judge is not None:
                found = [Mismatch("", text) for text in part.judge(student, expected, example.case)]
            else:
                found = compare(student, expected, part.facts, tolerance, dict(self.check.labels))
            if found:
                problems[name] = found
        return Verdict(example, student, frozenset(problems), problems)

    def _shrink(self, interesting: Callable[[frozenset[str]], bool]) -> Verdict | None:
        self._latest = None
        seen: set[str] = set()
        tries = 0

        def test(case: Case) -> None:
            nonlocal tries
            if self._latest is not None:
                tries += 1
                if tries > SHRINK_TRIES:
                    raise _Enough()
            if self._fatal is not None or self._reference_failed is not None or time.monotonic() > self._deadline:
                raise _Stop()
            example = self._prepare(case)
            if self._latest is None:
                # Until the first failure this run must see exactly the drawing run's
                # examples, so it rejects repeated inputs the same way.
                if example.key in seen:
                    reject()
                seen.add(example.key)
            student = self._collect(example)
            if student is None:
                raise _Stop()
            try:
                verdict = self._judge(example, student)
            except ReferenceFailed as exc:  # an input this drawing had not reached before
                self._reference_failed = exc
                raise _Stop() from None
            if RAISED in verdict.failed and self._raised_seen is None:
                self._raised_seen = verdict
            if interesting(verdict.failed):
                self._latest = verdict
                raise _Interesting(verdict)

        try:
            error = run_examples(self.check.cases, test, max_examples=self.setup.examples, seed=self.setup.seed)
        except _Enough:
            return self._latest
        if self._reference_failed is not None:
            raise self._audit().failed(self._reference_failed, examples=self.setup.examples)
        found = find(error, _Interesting)
        if isinstance(found, _Interesting):
            return found.verdict
        if error is not None and find(error, _Stop) is None:
            raise error
        return self._latest

    # -- the instructor's mistakes -------------------------------------------------
    def _audit(self) -> Audit:
        return Audit.of_item(self.setup, self.reference, call_seed=self.call_seed)

    # -- misconceptions ---------------------------------------------------------
    def _failure(self, verdict: Verdict, parts: frozenset[str]) -> Failure:
        expected = self._expected(verdict.example)
        mismatches = tuple(m for name in sorted(parts) for m in verdict.problems.get(name, ()))
        hits = []
        more = [v for v in self._verdicts if v.failed & parts and v.example.key != verdict.example.key][:3]
        evidence = Evidence(
            case=verdict.example.case,
            student=verdict.student,
            expected=expected,
            failed=frozenset(parts),
            mismatches=mismatches,
            check=self.check,
            run_alternative=self._run_alternative,
            same=self._same(verdict.example.case),
            more=tuple((v.example.case, v.student) for v in more),
            more_expected=tuple(self._expected(v.example) for v in more),
        )
        for misconception in self.setup.misconceptions:
            if misconception.detect(evidence):
                # Shown in the run's language (the name and fix are marked N_ where they are written);
                # the id stays as it is, for the report's machines.
                hits.append(MisconceptionHit(misconception.id, *misconception.shown()))
        return Failure(
            case=verdict.example.case,
            parts=parts,
            problems={name: verdict.problems.get(name, []) for name in self._in_rubric_order(parts)},
            error=verdict.student.error,
            misconceptions=tuple(hits),
        )

    def _in_rubric_order(self, parts: frozenset[str]) -> list[str]:
        """``parts`` in the order the rubric lists them (then any other, sorted): never the frozenset's own
        order, which changes with the interpreter's hash seed, and with it the report."""
        ordered = [name for name, _ in self.setup.parts if name in parts]
        return ordered + sorted(parts - set(ordered))

    def _run_alternative(self, fn: Callable, case: Case) -> Observation:
        header, blobs = case.request(self.item.target, seed=self.call_seed)
        return self.reference.observe(fn, header, blobs)

    def _same(self, case: Case) -> Callable[[Observation, Observation, tuple[str, ...]], bool]:
        tolerance: Tolerance = self.item.tolerance(case.dtype)

        def same(a: Observation, b: Observation, patterns: tuple[str, ...]) -> bool:
            return not compare(a, b, patterns, tolerance)

        return same
