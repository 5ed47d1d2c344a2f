"""``grade check``: the assignment's public checks on a notebook, in the sandbox.

Nothing secret takes part: no reference solution, no hidden inputs, no seed.
The notebook runs exactly as for grading, then each rubric item gets a
fresh worker that runs that item's public checks on the student's functions
and sends back plain findings. Items are isolated and under the item time
limit, as in grading.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import RubricError
from .escape import clean

STATUSES = ("passed", "failed", "error", "timeout", "crashed", "missing", "unchecked")
LATER = "checked only at grading"


@dataclass(frozen=True)
class ItemCheck:
    id: str
    title: str
    status: str
    message: str = ""
    findings: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class CheckReport:
    assignment: str
    submission: str
    sha256: str
    items: tuple[ItemCheck, ...]
    sandbox: str
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def all_passed(self) -> bool:
        return all(item.status in ("passed", "unchecked") for item in self.items)

    def to_dict(self) -> dict[str, Any]:
        return {
            "assignment": self.assignment,
            "submission": self.submission,
            "sha256": self.sha256,
            "kind": "public self-check (not a grade)",
            "all_passed": self.all_passed,
            "items": [
                {"id": i.id, "title": i.title, "status": i.status, "message": i.message, "findings": list(i.findings)}
                for i in self.items
            ],
            "sandbox": self.sandbox,
            "timings": dict(self.timings),
        }


def load_public_checks(path: Path | None, rubric_path: Path, items: list[str]) -> str:
    """The checks' source, after checking that it loads and covers the rubric's items."""
    if path is None:
        raise RubricError(f"{rubric_path}: public_checks: this assignment has no public checks")
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RubricError(f"{rubric_path}: public_checks: cannot read {path}: {exc}") from None
    from .child import selfcheck

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


def check_notebook(path: str, *, assignment: str | None, device: str, sandbox: str) -> CheckReport:
    from .assignment import for_notebook
    from .calls import CallOutcome, CallStream
    from .notebook import read_notebook, to_python
    from .rubric import load_rubric
    from .sandbox import require
    from .session import DIED_UNDER, Session, WorkerUnavailable, budget_text

    started = time.monotonic()
    notebook = read_notebook(path)
    rubric = load_rubric(for_notebook(assignment, notebook.assignment, notebook.path))
    source = load_public_checks(rubric.public_checks, rubric.path, [item.id for item in rubric.items])
    require(sandbox)
    session = Session(device=device, limits=rubric.limits, sandbox=sandbox)
    session.stop_at = started + rubric.limits.total_s
    session.launch()
    items = []
    try:
        run = session.start(to_python(notebook.cells))
        for item in rubric.items:
            if session.out_of_budget():
                items.append(ItemCheck(item.id, item.title, "timeout", f"not checked: {budget_text(rubric.limits)}"))
                continue
            try:
                worker = session.open_worker(patience=3.0)
            except WorkerUnavailable as exc:
                items.append(ItemCheck(item.id, item.title, "crashed", f"could not be checked: {exc}"))
                continue
            stream = CallStream(session, worker, call_s=rubric.limits.item_s)
            outcome = stream.result(stream.submit({"op": "selfcheck", "source": source, "item": item.id}, []))
            stream.close()
            if outcome.kind == "ok" and not session.outlived_by_notebook(worker):
                outcome = CallOutcome("crashed", detail=DIED_UNDER)  # the same verdict whoever won the race
            items.append(_item(item.id, item.title, outcome, run.defined, item.target))
    finally:
        session.close()
    return CheckReport(
        assignment=rubric.assignment,
        submission=str(path),
        sha256=notebook.sha256,
        items=tuple(items),
        sandbox=sandbox,
        timings={"total": round(time.monotonic() - started, 3)},
    )


def _item(item_id: str, title: str, outcome, defined: frozenset[str], target: str) -> ItemCheck:
    if outcome.kind == "timeout":
        return ItemCheck(item_id, title, "timeout", f"the checks did not finish in time ({outcome.detail})")
    if outcome.kind != "ok" or outcome.header is None:
        return ItemCheck(item_id, title, "crashed", f"its process ended ({clean(outcome.detail)})")
    header = outcome.header
    status = str(header.get("status", "crashed"))
    if status not in STATUSES:
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
    return ItemCheck(item_id, title, status, clean(str(header.get("message", ""))[:600]), findings)


def render_json(report: CheckReport) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"


def render_text(report: CheckReport) -> str:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, width=100, color_system=None, highlight=False, markup=False, emoji=False)
    console.print(Text(f"Public self-check · {report.assignment} · {clean(report.submission)}"))
    table = Table(show_edge=False, pad_edge=False, box=None)
    for column in ("Item", "Title", "Public checks"):
        table.add_column(column)
    for item in report.items:
        table.add_row(Text(item.id), Text(item.title), Text(item.status))
    console.print(table)
    for item in report.items:
        notes = [
            f"{f['status']}: {f['check']}" + (f" ({f['message']})" if f["message"] else "")
            for f in item.findings
            if f["status"] != "passed"
        ]
        if item.message or notes:
            console.print(Text(f"\n{item.id}: {item.status}"))
            for line in ([item.message] if item.message else []) + notes:
                console.print(Text(f"  {line}"))
    console.print(
        Text(
            "\nThese are the public checks only: grading draws many more inputs and compares with "
            f"solutions you do not have. What they cannot decide is marked '{LATER}'."
        )
    )
    return buffer.getvalue()
