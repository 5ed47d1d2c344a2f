"""A batch's per-item summary (``summary.json``) as a table for the terminal."""

from __future__ import annotations

from typing import Any


def render_summary(data: dict[str, Any]) -> str:
    """The summary as a table for the terminal; a batch of several assignments, one table per assignment."""
    if "assignments" in data:
        return _render_overview(data)
    return "\n".join([_counts(data), *_table(data)]) + "\n"


def _counts(data: dict[str, Any]) -> str:
    return (
        f"{data['graded']} of {data['submissions']} graded"
        + (f", {data['rejected']} not notebooks we can grade" if data["rejected"] else "")
        + (f", {data['failed']} failed in the grader" if data["failed"] else "")
        + (f", {data['pending']} not graded yet" if data["pending"] else "")
    )


def _table(data: dict[str, Any]) -> list[str]:
    score = data["score"]
    lines = []
    if score["mean"] is not None:
        lines.append(f"score: mean {score['mean']:g}, min {score['min']:g}, max {score['max']:g}")
    if data["items"]:
        lines += [
            "",
            f"{'item':<18}{'mean':>12}  {'passed':>6}  {'failed':>6}  {'error':>5}  {'timeout':>7}"
            f"  {'crashed':>7}  {'missing':>7}",
        ]
        for item in data["items"]:
            mean = f"{item['mean']:g}/{item['max_score']:g}"
            lines.append(
                f"{item['id']:<18}{mean:>12}  {item['passed']:>6}  {item['failed']:>6}  {item['error']:>5}"
                f"  {item['timeout']:>7}  {item['crashed']:>7}  {item['missing']:>7}"
            )
    return lines


def _render_overview(data: dict[str, Any]) -> str:
    lines = [f"{_counts(data)}, in {len(data['assignments'])} assignments"]
    for part in data["assignments"]:
        lines += ["", f"{part['assignment']} ({part['gradebook']}): {_counts(part)}", *_table(part)]
    rest = data["unassigned"]
    if rest["submissions"]:
        lines += ["", f"no assignment of the course named (only in gradebook.csv): {_counts(rest)}"]
    return "\n".join(lines) + "\n"


def assignment_lines(data: dict[str, Any], *, folder: str, assignment: str | None) -> list[str]:
    """One line per assignment, for the end of a batch: its counts, mean score and gradebook.

    ``data``: the batch's ``summary.json``, in ``folder``; ``assignment``: what its one gradebook is of,
    when the batch has one (None: no line for it).
    """
    if "assignments" in data:
        parts, rest = data["assignments"], data["unassigned"]
    else:
        parts = [{**data, "assignment": assignment, "gradebook": "gradebook.csv"}] if assignment is not None else []
        rest = None
    lines = []
    for part in parts:
        mean = part["score"]["mean"]
        score = f", mean score {mean:g}" if mean is not None else ""
        lines.append(f"{part['assignment']}: {_counts(part)}{score}: {folder}/{part['gradebook']}")
    if rest is not None and rest["submissions"]:
        lines.append(f"naming no assignment of the course: {_counts(rest)}: {folder}/gradebook.csv")
    return lines
