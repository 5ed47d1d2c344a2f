"""``grade diff OLD_DIR NEW_DIR``: what changed between two runs of ``grade batch`` over a class.

A rubric fixed mid-term or a new seed regrades the class, and students ask
"why did my grade change?". The diff answers per student (the old and new
score, every item whose points or status changed, with the new feedback),
names the students found in one run only, sums up how many went up, down or
stayed, and names first the settings that differ between the runs (rubric,
seed, examples, grader and torch versions), so the reason is visible. It also
shows how the class's named mistakes moved. Computed from the stored records
alone; the result is plain data (the JSON format), rendered by
``grader.report.diff``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from .records import read_records

# The settings that explain a change, as the records store them; compared per assignment.
SETTINGS = (
    ("rubric sha256", lambda r: r.get("environment", {}).get("rubric_sha256")),
    ("seed", lambda r: r.get("environment", {}).get("seed")),
    ("examples per item", lambda r: r.get("environment", {}).get("examples_per_item")),
    ("reference package sha256", lambda r: r.get("batch", {}).get("reference_sha256")),
    ("grader version", lambda r: r.get("environment", {}).get("grader_version")),
    ("grader code", lambda r: r.get("batch", {}).get("settings", {}).get("grader_code")),
    ("torch version", lambda r: r.get("environment", {}).get("torch")),
)


def diff(old_dir: Path, new_dir: Path) -> dict[str, Any]:
    old, new = read_records(old_dir), read_records(new_dir)
    students = []
    moves: Counter = Counter()
    deltas = []  # of every student graded in both runs, unchanged ones included
    for student in sorted(set(old) & set(new)):
        change = _student(student, old[student], new[student])
        moves[_direction(change)] += 1
        if _graded(change):
            deltas.append(change["new_score"] - change["old_score"])
        if change["items"] or change["old_score"] != change["new_score"] or change["old_assignment"]:
            students.append(change)
    return {
        "old": str(old_dir),
        "new": str(new_dir),
        "settings": _settings(old, new),
        "summary": {
            "compared": sum(moves.values()),
            "up": moves["up"],
            "down": moves["down"],
            "unchanged": moves["unchanged"],
            "graded_in_both": len(deltas),
            # Over the students graded in both runs; a grade won or lost with a rejected notebook is in up/down.
            "mean_change": round(sum(deltas) / len(deltas), 6) if deltas else None,
            "largest_up": max([d for d in deltas if d > 0], default=None),
            "largest_down": min([d for d in deltas if d < 0], default=None),
        },
        "students": students,
        "only_old": sorted(set(old) - set(new)),
        "only_new": sorted(set(new) - set(old)),
        "misconceptions": _misconceptions(old, new),
    }


def _score(record: dict[str, Any]) -> float | None:
    return float(record["score"]) if record["batch"]["outcome"] == "graded" else None


def _graded(change: dict[str, Any]) -> bool:
    return change["old_score"] is not None and change["new_score"] is not None


def _direction(change: dict[str, Any]) -> str:
    old, new = change["old_score"], change["new_score"]
    if old == new:
        return "unchanged"
    if old is None or new is None:
        return "up" if old is None else "down"
    return "up" if new > old else "down"


def _student(student: str, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    before = {item["id"]: item for item in old.get("items", ())}
    items = []
    for item in new.get("items", ()):
        was = before.get(item["id"])
        if was is not None and (was["score"], was["status"]) == (item["score"], item["status"]):
            continue
        items.append(
            {
                "id": item["id"],
                "old_status": None if was is None else was["status"],
                "old_score": None if was is None else was["score"],
                "new_status": item["status"],
                "new_score": item["score"],
                "feedback": item.get("feedback", ""),
            }
        )
    moved = old.get("assignment") != new.get("assignment")
    return {
        "student": student,
        "old_score": _score(old),
        "new_score": _score(new),
        "old_outcome": old["batch"]["outcome"],
        "new_outcome": new["batch"]["outcome"],
        # Set only where the student's notebook names another assignment than before.
        "old_assignment": old.get("assignment") if moved else None,
        "new_assignment": new.get("assignment") if moved else None,
        "items": items,
    }


def _settings(old: dict[str, dict], new: dict[str, dict]) -> list[dict[str, Any]]:
    """The settings that differ, per assignment (a rubric fixed in one assignment of a mixed class shows)."""
    found = sorted({str(r.get("assignment")) for r in (*old.values(), *new.values()) if r.get("assignment")})
    assignments: list[str | None] = list(found) or [None]
    differing = []
    for assignment in assignments:
        before = {k: r for k, r in old.items() if assignment is None or r.get("assignment") == assignment}
        after = {k: r for k, r in new.items() if assignment is None or r.get("assignment") == assignment}
        for name, read in SETTINGS:
            was, now = _one(before, read), _one(after, read)
            if was != now:
                differing.append({"assignment": assignment, "setting": name, "old": was, "new": now})
    return differing


def _one(records: dict[str, dict], read) -> Any:
    values = {json.dumps(read(r)) for r in records.values() if r["batch"]["outcome"] == "graded"}
    if len(values) == 1:
        return json.loads(values.pop())
    return "mixed" if values else None


def _misconceptions(old: dict[str, dict], new: dict[str, dict]) -> list[dict[str, Any]]:
    before, after = _named(old), _named(new)
    return [
        {"id": m, "old": before[m], "new": after[m]} for m in sorted(set(before) | set(after)) if before[m] != after[m]
    ]


def _named(records: dict[str, dict]) -> Counter:
    """How many students each misconception was named for."""
    counts: Counter = Counter()
    for record in records.values():
        counts.update({m["id"] for item in record.get("items", ()) for m in item.get("misconceptions", ())})
    return counts
