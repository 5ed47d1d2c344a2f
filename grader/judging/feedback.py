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
from ..i18n import _, ngettext
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
                description=_(part.description),  # the check's text, marked N_ where it is written
                score=points if passed else 0.0,
                max_score=points,
                passed=passed,
                message=clean(clip(message)),
            )
        )
    return tuple(results)


def clip(text: str, limit: int = MAX_MESSAGE) -> str:
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
        _("Not graded: {budget} before this item's turn (the notebook and the items before it took that long).").format(
            budget=budget_text(limits)
        ),
        limit=TOTAL_LIMIT,
    )


def missing_result(setup: ItemSetup, hint: str) -> ItemResult:
    """``hint``: a sentence more (``grading.missing_hint``, with its leading space), or ""."""
    target = setup.item.target
    if hint.strip():
        text = _("The notebook does not define {target}(). {hint}").format(target=target, hint=hint.strip())
    else:
        text = _("The notebook does not define {target}().").format(target=target)
    return _result(setup, "missing", text)


def unavailable_result(setup: ItemSetup, reason: str) -> ItemResult:
    return _result(
        setup, "crashed", _("{target}() could not be called: {reason}.").format(target=setup.item.target, reason=reason)
    )


def error_place(where: dict) -> dict[str, str]:
    """The cell and line an error names, as the child sent them: bounded (a frame named ``<cell AAA…>``)."""
    cell, line = str(where.get("cell")), where.get("line")
    return {
        "cell": clip(cell, 12),
        "line": str(line) if isinstance(line, int) and not isinstance(line, bool) and 0 <= line < 10**7 else "?",
    }


def error_text(error: dict | None) -> str:
    """The exception as Python wrote it (never translated), and where in the notebook it was raised."""
    if not error:
        return _("an error")
    text = str(error["type"]) if "type" in error else _("an exception")
    message = str(error.get("message", "")).strip()
    if message:
        text += f": {clip(message, 300)}"
    where = error.get("where")
    if isinstance(where, dict):
        code = str(where.get("code") or "").strip()
        place = {"error": text, **error_place(where)}
        if code:
            return _("{error} (cell {cell}, line {line}: `{code}`)").format(**place, code=clip(code, 120))
        return _("{error} (cell {cell}, line {line})").format(**place)
    return text


def _misconception_text(hits: tuple[MisconceptionHit, ...]) -> list[str]:
    # A hit's name and fix are in the run's language already (engine._failure).
    return [_("Likely cause: {name}. {fix}").format(name=hit.name, fix=hit.fix) for hit in hits]


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
    target, count = setup.item.target, len(verdicts)
    if out_of_time and budget is not None:
        return _result(
            setup,
            "timeout",
            ngettext(
                "Checking {target}() was stopped after {count} examples: {budget}.",
                "Checking {target}() was stopped after {count} examples: {budget}.",
                count,
            ).format(target=target, count=count, budget=budget_text(budget)),
            limit=TOTAL_LIMIT,
            **common,
        )
    if out_of_time:
        return _result(
            setup,
            "timeout",
            ngettext(
                "Checking {target}() took longer than the item's time limit after {count} examples; "
                "each call must be fast.",
                "Checking {target}() took longer than the item's time limit after {count} examples; "
                "each call must be fast.",
                count,
            ).format(target=target, count=count),
            limit="time limit",
            **common,
        )
    return _result(
        setup,
        "passed",
        ngettext("Correct on all {count} generated inputs.", "Correct on all {count} generated inputs.", count).format(
            count=count
        ),
        parts=_parts(setup, frozenset(), {}),
        **common,
    )


def _ended_result(setup: ItemSetup, outcome: CallOutcome, example: Example, common: dict[str, Any]) -> ItemResult:
    # A detail made by the sandbox is in the run's language already; DIED_UNDER is marked and translated here.
    values = {"target": setup.item.target, "shown": example.case.describe(), "detail": _(outcome.detail)}
    if outcome.kind == "timeout" and outcome.limit == TOTAL_LIMIT:
        text = _("{target}() was still running, called with {shown}, when {detail}.")
        status = "timeout"
    elif outcome.kind == "timeout":
        text = _("{target}() did not return within the time limit ({detail}) when called with {shown}.")
        status = "timeout"
    elif outcome.limit == "memory limit":
        text = _("{target}() ran out of memory (the memory limit killed it) when called with {shown}.")
        status = "crashed"
    elif outcome.kind == "too_large":
        text = _(
            "{target}() returned an answer too large to check ({detail}) when called with {shown}; "
            "return only what the exercise asks for."
        )
        status = "failed"
    elif outcome.kind == "missing":
        text = _("{target} was no longer a function when called with {shown} (an earlier call removed or replaced it).")
        status = "missing"
    else:
        text = _("{target}() ended its process ({detail}) when called with {shown}.")
        values["detail"] = values["detail"] or _("the process went away")
        status = "crashed"
    text = text.format(**values)
    return _result(
        setup, status, text, counterexample=_counterexample(setup, example.case), limit=outcome.limit, **common
    )


def _raised_result(setup: ItemSetup, failure: Failure, common: dict[str, Any]) -> ItemResult:
    target, error = setup.item.target, failure.error or {}
    if error.get("not_implemented"):
        lead = _("{target}() is not implemented yet: it raises {error}.").format(target=target, error=error_text(error))
    else:
        lead = _("{target}() raised {error}.\nSmallest input that raises: {shown}").format(
            target=target, error=error_text(error), shown=failure.case.describe()
        )
    return _result(
        setup,
        "error",
        "\n".join([lead, *_misconception_text(failure.misconceptions)]),
        counterexample=_counterexample(setup, failure.case, [{"part": "call", "message": error_text(error)}]),
        misconceptions=failure.misconceptions,
        **common,
    )


def mismatch_line(found: list[Mismatch]) -> str:
    """The first difference of a part, and how many more it has."""
    first = clip(found[0].message)
    if len(found) == 1:
        return first
    more = len(found) - 1
    return ngettext("{first} ({more} more difference)", "{first} ({more} more differences)", more).format(
        first=first, more=more
    )


def _failed_result(setup: ItemSetup, failures: list[Failure], common: dict[str, Any]) -> ItemResult:
    failed = frozenset().union(*(f.parts for f in failures))
    problems: dict[str, list[Mismatch]] = {}
    for failure in failures:
        problems.update(failure.problems)
    lines: list[str] = []
    hits: list[MisconceptionHit] = []
    for failure in failures:
        for name, _points in setup.parts:
            found = failure.problems.get(name, []) if name in failure.parts else []
            if not found:
                continue
            description = _(setup.check.part(name).description)
            lines.append(_("Wrong: {part} ({description})").format(part=name, description=description))
            lines.append(f"  {mismatch_line(found)}")
        lines.append(_("Smallest failing input: {shown}").format(shown=failure.case.describe()))
        new_hits = [h for h in failure.misconceptions if h not in hits]
        lines.extend(_misconception_text(tuple(new_hits)))
        hits.extend(new_hits)
    first = failures[0]
    counterexample = _counterexample(
        setup,
        first.case,
        [{"part": n, "message": clip(m[0].message)} for n, m in first.problems.items() if m],
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
