"""``grade check``: the assignment's public checks on a notebook, in the sandbox.

Nothing secret takes part: no reference solution, no hidden inputs, no seed.
The notebook runs exactly as for grading, then each rubric item gets a
fresh worker. Hand-written checks (``public_checks.py``) run in it on the
student's functions and send back plain findings; derived ones
(``public_checks.examples``: the reference's answers on a few public inputs,
``grader.selfcheck.examples``) send it their inputs as grading's calls, and
the answers are judged here as grading judges them. Items are isolated and
under the item time limit, as in grading.

What the student reads is in the language ``grade check --lang`` names, else
the rubric's ``language:``; the checks' side gets its translations as plain
data (``grader.selfcheck.catalogue``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import RubricError
from ..escape import clean
from ..i18n import _, language
from ..result import CHECK_STATUSES, LATER, SelfCheckItem, SelfCheckReport
from .catalogue import translations
from .examples import PublicExamples, PublicItem, is_derived, judge, read

if TYPE_CHECKING:
    from ..course.rubric import Rubric
    from ..notebook import Notebook


def load_public_checks(path: Path | None, rubric_path: Path, items: list[str]) -> str:
    """The checks' source, after checking that it loads and covers the rubric's items."""
    if path is None:
        raise RubricError(f"{rubric_path}: public_checks: this assignment has no public checks")
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RubricError(f"{rubric_path}: public_checks: cannot read {path}: {exc}") from None
    from ..child import selfcheck

    try:
        namespace = selfcheck.load(source, str(path))
    except Exception as exc:
        raise RubricError(f"{path}: the public checks do not load: {type(exc).__name__}: {exc}") from None
    exercises = namespace.get("EXERCISES")
    if not isinstance(exercises, dict):
        raise RubricError(f"{path}: EXERCISES is missing (a mapping from exercise to rubric item ids)")
    listed = [item for group in exercises.values() for item in group]
    unknown = sorted(set(listed) - set(items))
    if unknown:
        raise RubricError(f"{path}: EXERCISES names items the rubric does not have: {', '.join(unknown)}")
    return source


def check_notebook(
    path: str, *, assignment: str | None, device: str, sandbox: str, lang: str | None = None
) -> SelfCheckReport:
    """``lang``: what the student reads; None: the rubric's ``language:``."""
    from ..grading import read_with_rubric

    started = time.monotonic()
    notebook, rubric = read_with_rubric(path, assignment=assignment)
    shown_in = lang or rubric.language
    with language(shown_in):
        return _check(path, notebook, rubric, device=device, sandbox=sandbox, started=started, shown_in=shown_in)


def _check(
    path: str, notebook: Notebook, rubric: Rubric, *, device: str, sandbox: str, started: float, shown_in: str
) -> SelfCheckReport:
    from ..grading import start_session
    from ..notebook import to_python
    from ..sandbox.calls import CallOutcome, CallStream
    from ..sandbox.execution import WorkerUnavailable, budget_text
    from ..sandbox.launch import NO_SANDBOX
    from ..sandbox.session import DIED_UNDER

    if rubric.public_checks is None:
        raise RubricError(f"{rubric.path}: public_checks: this assignment has no public checks")
    # The child starts first: its start-up (importing torch) overlaps loading the checks here, which
    # imports torch too.
    session = start_session(rubric, device=device, sandbox=sandbox, plain=sandbox == NO_SANDBOX, started=started)
    items = []
    try:
        derived = load_examples(rubric) if is_derived(rubric.public_checks) else None
        if derived is None:
            source = load_public_checks(rubric.public_checks, rubric.path, [item.id for item in rubric.items])
            spoken = translations(shown_in, rubric.public_checks)
        run = session.start(to_python(notebook.cells))
        for item in rubric.items:
            if session.out_of_budget():
                why = _("not checked: {why}").format(why=budget_text(rubric.limits))
                items.append(SelfCheckItem(item.id, item.title, "timeout", why))
                continue
            examples = derived.item(item.id) if derived is not None else None
            if derived is not None and (examples is None or item.target not in run.defined):
                items.append(_without_calls(item.id, item.title, item.target, examples))
                continue
            try:
                worker = session.open_worker(patience=3.0)
            except WorkerUnavailable as exc:
                why = _("could not be checked: {reason}").format(reason=exc)
                items.append(SelfCheckItem(item.id, item.title, "crashed", why))
                continue
            if derived is not None and examples is not None:
                stream = CallStream(session, worker, call_s=rubric.limits.call_s)
                items.append(
                    _derived_item(session, stream, item.id, item.title, examples, derived.messages, run.device)
                )
                continue
            stream = CallStream(session, worker, call_s=rubric.limits.item_s)
            call = {"op": "selfcheck", "source": source, "item": item.id, "translations": spoken}
            outcome = stream.result(stream.submit(call, []))
            stream.close()
            if outcome.kind == "ok" and not session.outlived_by_notebook(worker):
                outcome = CallOutcome("crashed", detail=DIED_UNDER)  # the same verdict whoever won the race
            items.append(_item(item.id, item.title, outcome, run.defined, item.target))
    finally:
        session.close()
    return SelfCheckReport(
        assignment=rubric.assignment,
        submission=str(path),
        sha256=notebook.sha256,
        items=tuple(items),
        sandbox=sandbox,
        timings={"total": round(time.monotonic() - started, 3)},
        language=shown_in,
    )


def load_examples(rubric: Rubric) -> PublicExamples:
    """The rubric's derived public checks, after checking that they belong to its assignment and items."""
    assert rubric.public_checks is not None
    examples = read(rubric.public_checks)
    where = f"{rubric.public_checks}: "
    if examples.assignment != rubric.assignment:
        raise RubricError(where + f"public examples of {examples.assignment!r}, not {rubric.assignment!r}")
    unknown = sorted({item.id for item in examples.items} - {item.id for item in rubric.items})
    if unknown:
        raise RubricError(where + f"items the rubric does not have: {', '.join(unknown)}: run grade assign again")
    return examples


def _without_calls(item_id: str, title: str, target: str, examples: PublicItem | None) -> SelfCheckItem:
    if examples is None:
        finding = {"check": item_id, "status": LATER, "message": _("no public check for this item")}
        return SelfCheckItem(item_id, title, "unchecked", "", (finding,))
    return SelfCheckItem(
        item_id, title, "missing", _("the notebook does not define {names}").format(names=target + "()")
    )


def _derived_item(
    session, stream, item_id: str, title: str, examples: PublicItem, messages: dict, device: str
) -> SelfCheckItem:
    """The item's fixed inputs sent at once, the answers judged as grading judges them."""
    from ..sandbox.calls import CallOutcome
    from ..sandbox.session import DIED_UNDER

    worker = stream.worker
    indices = [stream.submit(*case.request) for case in examples.cases]
    replies = []
    failed = None
    for index in indices:
        outcome = stream.result(index)
        if outcome.kind != "ok" or outcome.header is None:
            failed = outcome
            break
        replies.append((outcome.header, outcome.blobs))
    stream.close()
    if failed is None and not session.outlived_by_notebook(worker):
        failed = CallOutcome("crashed", detail=DIED_UNDER)
    if failed is not None and failed.kind == "missing":
        why = _("{target} was no longer a function (an earlier call removed or replaced it)")
        return SelfCheckItem(item_id, title, "missing", why.format(target=examples.target))
    if failed is not None and failed.kind == "too_large":
        why = _("the answer was too large to check ({detail}): return only what the exercise asks for")
        return SelfCheckItem(item_id, title, "failed", why.format(detail=clean(failed.detail)))
    if failed is not None:
        return _item(item_id, title, failed, frozenset(), "")
    verdict = judge(examples, replies, messages=messages, device_as=device)
    findings = tuple({k: clean(str(v)) for k, v in f.items()} for f in verdict["findings"])
    return SelfCheckItem(item_id, title, verdict["status"], clean(verdict["message"]), findings)


def _item(item_id: str, title: str, outcome, defined: frozenset[str], target: str) -> SelfCheckItem:
    if outcome.kind == "timeout":
        why = _("the checks did not finish in time ({detail})").format(detail=outcome.detail)
        return SelfCheckItem(item_id, title, "timeout", why)
    if outcome.kind != "ok" or outcome.header is None:
        why = _("its process ended ({detail})").format(detail=clean(outcome.detail))
        return SelfCheckItem(item_id, title, "crashed", why)
    header = outcome.header
    status = str(header.get("status", "crashed"))
    if status not in CHECK_STATUSES:
        status = "crashed"
    findings = tuple(
        {
            "check": clean(str(f.get("check", ""))[:300]),
            "status": str(f.get("status")),
            "message": clean(str(f.get("message", ""))[:600]),
        }
        for f in header.get("findings") or ()
        if isinstance(f, dict)
    )
    return SelfCheckItem(item_id, title, status, clean(str(header.get("message", ""))[:600]), findings)
