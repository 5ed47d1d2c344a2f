"""The class-level views of a batch: the gradebook CSV and the per-item summary.

Both are computed from the stored records alone (never from timings), so a
batch that was interrupted and resumed gives the same files as one that ran
through. A batch of several assignments has one of each per assignment, and
an index of the whole batch (``write_index``, ``write_overview``).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from ..escape import spreadsheet_safe
from ..result import STATUSES

FIXED = ("student", "submission", "sha256", "score", "max_score")
INDEX = ("student", "assignment", "submission", "sha256", "score", "max_score", "outcome")
_COUNTS = ("submissions", "graded", "rejected", "failed", "pending")


def _items(rows: list[dict[str, Any]]) -> list[tuple[str, float]]:
    seen: dict[str, float] = {}
    for row in rows:
        for item in row.get("items", ()):
            seen.setdefault(item["id"], item["max_score"])
    return list(seen.items())


def _outcome(row: dict[str, Any]) -> str:
    outcome = row["batch"]["outcome"]
    return outcome if outcome == "graded" else f"{outcome}: {row.get('error', '')}"


def _number(value: float) -> str:
    return f"{value:g}"


def _cells(row: dict[str, Any]) -> tuple[str, str, str, str, str, str]:
    """A record's student, submission, sha256, score, max_score and outcome, as gradebook cells."""
    graded = row["batch"]["outcome"] == "graded"
    return (
        spreadsheet_safe(row["batch"]["student"]),
        spreadsheet_safe(row.get("submission", "")),
        row.get("sha256") or "",
        _number(row["score"]) if graded else "0",
        _number(row["max_score"]) if graded else "",
        spreadsheet_safe(_outcome(row)),
    )


def write_gradebook(rows: list[dict[str, Any]]) -> str:
    """One row per student, one column per rubric item, the total and the outcome."""
    items = _items(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*FIXED, *(item for item, _ in items), "outcome"])
    for row in rows:
        scores = {item["id"]: item["score"] for item in row.get("items", ())}
        graded = row["batch"]["outcome"] == "graded"
        student, submission, sha, score, max_score, outcome = _cells(row)
        marks = (_number(scores[item]) if item in scores else ("0" if graded else "") for item, _ in items)
        writer.writerow([student, submission, sha, score, max_score, *marks, outcome])
    return buffer.getvalue()


def write_index(rows: list[tuple[str | None, dict[str, Any]]]) -> str:
    """A batch of several assignments: one row per student, with the assignment its notebook names (empty:
    none of the course), its total and outcome; the items are in that assignment's own gradebook."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(INDEX)
    for assignment, row in rows:
        student, *rest = _cells(row)
        writer.writerow([student, assignment or "", *rest])
    return buffer.getvalue()


def summary(rows: list[dict[str, Any]], *, total: int) -> dict[str, Any]:
    graded = [row for row in rows if row["batch"]["outcome"] == "graded"]
    per_item = []
    for item_id, top in _items(graded):
        results = [item for row in graded for item in row["items"] if item["id"] == item_id]
        counts = {status: sum(1 for r in results if r["status"] == status) for status in STATUSES}
        per_item.append(
            {
                "id": item_id,
                "max_score": top,
                "mean": round(sum(r["score"] for r in results) / len(results), 3) if results else None,
                **counts,
            }
        )
    scores = [row["score"] for row in graded]
    most = max((row["max_score"] for row in graded), default=None)
    return {
        "submissions": total,
        "graded": len(graded),
        "rejected": sum(1 for row in rows if row["batch"]["outcome"] == "rejected"),
        "failed": sum(1 for row in rows if row["batch"]["outcome"] == "failed"),
        "pending": total - len(rows),
        "score": {
            "mean": round(sum(scores) / len(scores), 3) if scores else None,
            "min": min(scores) if scores else None,
            "max": max(scores) if scores else None,
        },
        "max_score": most,
        "histogram": _histogram(scores, most),
        "items": per_item,
        "misconceptions": _misconceptions(graded),
    }


def _histogram(scores: list[float], top: float | None, bins: int = 10) -> list[dict[str, Any]]:
    """How many students scored in each tenth of the maximum (the last bin includes the maximum)."""
    if not top:
        return []
    width = top / bins
    counts = [0] * bins
    for score in scores:
        counts[min(int(score / width), bins - 1)] += 1
    return [{"from": round(i * width, 6), "to": round((i + 1) * width, 6), "students": n} for i, n in enumerate(counts)]


_LEADS = ("Smallest failing input: ", "Smallest input that raises: ")


def _misconceptions(graded: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each named mistake: how many students made it, where, and one anonymised counterexample."""
    found: dict[str, dict[str, Any]] = {}
    for row in sorted(graded, key=lambda r: r["batch"]["student"]):
        for item in row.get("items", ()):
            for m in item.get("misconceptions", ()):
                entry = found.setdefault(m["id"], {"id": m["id"], "name": m["name"], "items": [], "students": set()})
                entry["students"].add(row["batch"]["student"])
                if item["id"] not in entry["items"]:
                    entry["items"].append(item["id"])
                if "example" not in entry:
                    lines = [
                        ln.strip().split(": ", 1)[1]
                        for ln in item.get("feedback", "").splitlines()
                        if ln.strip().startswith(_LEADS)
                    ]
                    problems = (item.get("counterexample") or {}).get("problems") or [{}]
                    entry["example"] = {
                        "item": item["id"],
                        "input": lines[0] if lines else "",
                        "problem": problems[0].get("message", ""),
                    }
    table = [{**entry, "students": len(entry["students"])} for entry in found.values()]
    return sorted(table, key=lambda e: (-e["students"], e["id"]))


def write_summary(rows: list[dict[str, Any]], *, total: int) -> str:
    return json.dumps(summary(rows, total=total), indent=2) + "\n"


def overview(
    assignments: dict[str, tuple[str, str, list[dict[str, Any]], int]],
    *,
    unassigned: tuple[list[dict[str, Any]], int],
) -> dict[str, Any]:
    """The index of a batch of several assignments: the counts of the whole batch, each assignment's
    summary (``assignments``: id -> its gradebook's and summary's file names, its rows and how many
    notebooks name it) and the notebooks that name no assignment of the course (rejected, unless failed)."""
    per = [
        {"assignment": assignment, "gradebook": gradebook, "summary": summary_file, **summary(rows, total=total)}
        for assignment, (gradebook, summary_file, rows, total) in assignments.items()
    ]
    rows, total = unassigned
    rest = summary(rows, total=total)
    rest = {key: rest[key] for key in _COUNTS}
    return {
        **{key: sum(part[key] for part in [*per, rest]) for key in _COUNTS},
        "assignments": per,
        "unassigned": rest,
    }


def write_overview(
    assignments: dict[str, tuple[str, str, list[dict[str, Any]], int]],
    *,
    unassigned: tuple[list[dict[str, Any]], int],
) -> str:
    return json.dumps(overview(assignments, unassigned=unassigned), indent=2) + "\n"
