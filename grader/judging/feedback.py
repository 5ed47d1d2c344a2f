"""Turning an item's outcome into points, a status and feedback a student can act on.

Feedback names the part of the behaviour that is wrong, shows the smallest
input found that shows it, what came back and what was expected, and, where
the failure matches a known mistake, names the mistake and its fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..course.rubric import Limits
from ..escape import clean
from ..observe.case import Case
from ..observe.compare import Mismatch
from ..observe.snippet import snippet
from ..result import ItemResult, MisconceptionHit, PartResult
from ..sandbox.execution import TOTAL_LIMIT, budget_text
from .model import RAISED, Example, ItemSetup, Verdict

if TYPE_CHECKING:
    from ..sandbox.calls import CallOutcome

MAX_MESSAGE = 600


@dataclass(frozen=True)
class Failure:
    case: Case
    parts: frozenset[str]
    problems: dict[str, list[Mismatch]] = field(default_factory=dict)
    error: dict | None = None
    misconceptions: tuple[MisconceptionHit, ...] = ()


def _parts(
    setup: ItemSetup, failed: frozenset[str] | None, problems: dict[str, list[Mismatch]]
) -> tuple[PartResult, ...]:
    results = []
    for name, points in setup.parts:
        part = setup.check.part(name)
        passed = failed is not None and name not in failed
        message = ""
        if failed is not None and name in failed and problems.get(name):
            message = problems[name][0].message
        results.append(
            PartResult(
                name=name,
                description=part.description,
                score=points if passed else 0.0,
                max_score=points,
                passed=passed,
                message=clean(_clip(message)),
            )
        )
    return tuple(results)


def _clip(text: str, limit: int = MAX_MESSAGE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _result(setup: ItemSetup, status: str, feedback: str, **extra: Any) -> ItemResult:
    parts = extra.pop("parts", None) or _parts(setup, None, {})
    score = sum(p.score for p in parts)
    return ItemResult(
        id=setup.item.id,
        title=setup.item.title,
        target=setup.item.target,
        score=score,
        max_score=setup.item.points,
        status=status,
        feedback=clean(feedback),
        parts=parts,
        **extra,
    )


def budget_result(setup: ItemSetup, limits: Limits) -> ItemResult:
    """An item whose turn came after the notebook's total time budget ran out."""
    return _result(
        setup,
        "timeout",
        f"Not graded: {budget_text(limits)} before this item's turn (the notebook and the items before it "
        "took that long).",
        limit=TOTAL_LIMIT,
    )


def missing_result(setup: ItemSetup, hint: str) -> ItemResult:
    return _result(setup, "missing", f"The notebook does not define {setup.item.target}().{hint}")


def unavailable_result(setup: ItemSetup, reason: str) -> ItemResult:
    return _result(setup, "crashed", f"{setup.item.target}() could not be called: {reason}.")


def _error_text(error: dict | None) -> str:
    if not error:
        return "an error"
    text = f"{error.get('type', 'an exception')}"
    message = str(error.get("message", "")).strip()
    if message:
        text += f": {_clip(message, 300)}"
    where = error.get("where")
    if isinstance(where, dict):
        text += f" (cell {where.get('cell')}, line {where.get('line')}"
        code = str(where.get("code") or "").strip()
        text += f": `{_clip(code, 120)}`)" if code else ")"
    return text


def _misconception_text(hits: tuple[MisconceptionHit, ...]) -> list[str]:
    return [f"Likely cause: {hit.name}. {hit.fix}" for hit in hits]


def _counterexample(
    setup: ItemSetup,
    case: Case,
    problems: list[dict[str, str]] | None = None,
    *,
    wrong: dict[str, list[Mismatch]] | None = None,
) -> dict[str, Any]:
    """The input, what was wrong on it, and the Python that reproduces it (``snippet``), which prints the
    first wrong fact of each part in ``wrong``."""
    data: dict[str, Any] = {"input": case.to_data()}
    if problems:
        data["problems"] = [{key: clean(value) for key, value in problem.items()} for problem in problems]
    shown = [found[0].path for found in (wrong or {}).values() if found]
    # The seed each call of the item runs with (ItemGrader.call_seed): the snippet seeds torch the same way.
    code = snippet(case, setup.item.target, seed=setup.seed % (1 << 31), show=shown)
    if code is not None:
        data["snippet"] = code
    return data


def build_result(
    setup: ItemSetup,
    *,
    verdicts: list[Verdict],
    failures: list[Failure],
    fatal: tuple[CallOutcome, Example] | None,
    out_of_time: bool,
    time_s: float,
    budget: Limits | None = None,
) -> ItemResult:
    """``budget``: the limits whose total time budget ran out while this item was graded, if it did."""
    common: dict[str, Any] = {"examples": len(verdicts), "time_s": time_s}
    if fatal is not None:
        return _ended_result(setup, *fatal, common)
    if failures and RAISED in failures[0].parts:
        return _raised_result(setup, failures[0], common)
    if failures:
        return _failed_result(setup, failures, common)
    if out_of_time and budget is not None:
        return _result(
            setup,
            "timeout",
            f"Checking {setup.item.target}() was stopped after {len(verdicts)} examples: {budget_text(budget)}.",
            limit=TOTAL_LIMIT,
            **common,
        )
    if out_of_time:
        return _result(
            setup,
            "timeout",
            f"Checking {setup.item.target}() took longer than the item's time limit after "
            f"{len(verdicts)} examples; each call must be fast.",
            limit="time limit",
            **common,
        )
    return _result(
        setup,
        "passed",
        f"Correct on all {len(verdicts)} generated inputs.",
        parts=_parts(setup, frozenset(), {}),
        **common,
    )


def _ended_result(setup: ItemSetup, outcome: CallOutcome, example: Example, common: dict[str, Any]) -> ItemResult:
    target, shown = setup.item.target, example.case.describe()
    if outcome.kind == "timeout" and outcome.limit == TOTAL_LIMIT:
        text = f"{target}() was still running, called with {shown}, when {outcome.detail}."
        status = "timeout"
    elif outcome.kind == "timeout":
        text = f"{target}() did not return within the time limit ({outcome.detail}) when called with {shown}."
        status = "timeout"
    elif outcome.limit == "memory limit":
        text = f"{target}() ran out of memory (the memory limit killed it) when called with {shown}."
        status = "crashed"
    elif outcome.kind == "too_large":
        text = (
            f"{target}() returned an answer too large to check ({outcome.detail}) when called with {shown}; "
            "return only what the exercise asks for."
        )
        status = "failed"
    elif outcome.kind == "missing":
        text = f"{target} was no longer a function when called with {shown} (an earlier call removed or replaced it)."
        status = "missing"
    else:
        text = f"{target}() ended its process ({outcome.detail or 'the process went away'}) when called with {shown}."
        status = "crashed"
    return _result(
        setup, status, text, counterexample=_counterexample(setup, example.case), limit=outcome.limit, **common
    )


def _raised_result(setup: ItemSetup, failure: Failure, common: dict[str, Any]) -> ItemResult:
    target, error = setup.item.target, failure.error or {}
    if error.get("not_implemented"):
        lead = f"{target}() is not implemented yet: it raises {_error_text(error)}."
    else:
        lead = f"{target}() raised {_error_text(error)}.\nSmallest input that raises: {failure.case.describe()}"
    return _result(
        setup,
        "error",
        "\n".join([lead, *_misconception_text(failure.misconceptions)]),
        counterexample=_counterexample(setup, failure.case, [{"part": "call", "message": _error_text(error)}]),
        misconceptions=failure.misconceptions,
        **common,
    )


def _failed_result(setup: ItemSetup, failures: list[Failure], common: dict[str, Any]) -> ItemResult:
    failed = frozenset().union(*(f.parts for f in failures))
    problems: dict[str, list[Mismatch]] = {}
    for failure in failures:
        problems.update(failure.problems)
    lines: list[str] = []
    hits: list[MisconceptionHit] = []
    for failure in failures:
        for name, _ in setup.parts:
            found = failure.problems.get(name, []) if name in failure.parts else []
            if not found:
                continue
            more = f" ({len(found) - 1} more difference{'s' if len(found) > 2 else ''})" if len(found) > 1 else ""
            lines.append(f"Wrong: {name} ({setup.check.part(name).description})")
            lines.append(f"  {_clip(found[0].message)}{more}")
        lines.append(f"Smallest failing input: {failure.case.describe()}")
        new_hits = [h for h in failure.misconceptions if h not in hits]
        lines.extend(_misconception_text(tuple(new_hits)))
        hits.extend(new_hits)
    first = failures[0]
    counterexample = _counterexample(
        setup,
        first.case,
        [{"part": n, "message": _clip(m[0].message)} for n, m in first.problems.items() if m],
        wrong=first.problems,
    )
    return _result(
        setup,
        "failed",
        "\n".join(lines),
        parts=_parts(setup, failed, problems),
        counterexample=counterexample,
        misconceptions=tuple(hits),
        **common,
    )
