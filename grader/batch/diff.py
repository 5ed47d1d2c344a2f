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

# The settings that explain a change, as the records store them.
SETTINGS = (
    ("assignment", lambda r: r.get("assignment")),
    ("rubric sha256", lambda r: r.get("environment", {}).get("rubric_sha256")),
    ("seed", lambda r: r.get("environment", {}).get("seed")),
    ("examples per item", lambda r: r.get("environment", {}).get("examples_per_item")),
    ("grader version", lambda r: r.get("environment", {}).get("grader_version")),
    ("torch version", lambda r: r.get("environment", {}).get("torch")),
)


def diff(old_dir: Path, new_dir: Path) -> dict[str, Any]:
    old, new = read_records(old_dir), read_records(new_dir)
    students = []
    moves: Counter = Counter()
    for student in sorted(set(old) & set(new)):
        change = _student(student, old[student], new[student])
        moves[_direction(change)] += 1
        if change["items"] or change["old_score"] != change["new_score"]:
            students.append(change)
    deltas = [s["new_score"] - s["old_score"] for s in students if _graded(s)]
    return {
        "old": str(old_dir),
        "new": str(new_dir),
        "settings": _settings(old, new),
        "summary": {
            "compared": sum(moves.values()),
            "up": moves["up"],
            "down": moves["down"],
            "unchanged": moves["unchanged"],
            "mean_change": round(sum(deltas) / sum(moves.values()), 6) if moves else 0.0,
            "largest_up": max([d for d in deltas if d > 0], default=0.0),
            "largest_down": min([d for d in deltas if d < 0], default=0.0),
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
    return {
        "student": student,
        "old_score": _score(old),
        "new_score": _score(new),
        "old_outcome": old["batch"]["outcome"],
        "new_outcome": new["batch"]["outcome"],
        "items": items,
    }


def _settings(old: dict[str, dict], new: dict[str, dict]) -> list[dict[str, Any]]:
    differing = []
    for name, read in SETTINGS:
        before, after = _one(old, read), _one(new, read)
        if before != after:
            differing.append({"setting": name, "old": before, "new": after})
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
