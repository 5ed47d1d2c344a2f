"""``grade diff`` as text, Markdown or CSV (the JSON format is the diff's data itself)."""

from __future__ import annotations

import csv
import io
from typing import Any

from ..escape import clean, spreadsheet_safe


def _score(value: float | None) -> str:
    """A score in prose: "—" where there is none (a notebook not graded, an item new in the rubric)."""
    return "—" if value is None else f"{value:g}"


def _number(value: float | None) -> str:
    """A score in a CSV cell: empty where there is none, so the column stays numeric."""
    return "" if value is None else f"{value:g}"


def _status(status: str | None, score: float | None) -> str:
    return "(not in the rubric)" if status is None else f"{status} {_score(score)}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _summary(data: dict[str, Any]) -> str:
    s = data["summary"]
    moves = f"{s['up']} up, {s['down']} down, {s['unchanged']} unchanged"
    text = f"{_plural(s['compared'], 'student')} in both runs: {moves}"
    changes = []
    if s.get("mean_change") is not None:
        changes.append(f"mean change {s['mean_change']:+g} (over the {s['graded_in_both']} graded in both)")
    if s.get("largest_up") is not None:
        changes.append(f"largest up {s['largest_up']:+g}")
    if s.get("largest_down") is not None:
        changes.append(f"largest down {s['largest_down']:+g}")
    return text + ("; " + ", ".join(changes) if changes else "")


def _setting(setting: dict[str, Any]) -> str:
    where = f"{setting['assignment']}: " if setting.get("assignment") else ""
    old, new = ("—" if v is None else v for v in (setting["old"], setting["new"]))
    return f"{where}{setting['setting']}: {old} → {new}"


def _outcome(student: dict[str, Any]) -> str:
    notes = []
    if student["old_outcome"] != student["new_outcome"]:
        notes.append(f"{student['old_outcome']} → {student['new_outcome']}")
    if student.get("old_assignment") or student.get("new_assignment"):
        notes.append(f"assignment {student['old_assignment'] or '—'} → {student['new_assignment'] or '—'}")
    return f" ({'; '.join(notes)})" if notes else ""


def render_text(data: dict[str, Any]) -> str:
    lines = [f"grade diff {data['old']} → {data['new']}"]
    for setting in data["settings"]:
        lines.append(f"  changed: {_setting(setting)}")
    if not data["settings"]:
        lines.append("  same settings (rubric, seed, examples, grader and torch versions)")
    lines += ["", _summary(data), ""]
    for student in data["students"]:
        lines.append(
            f"{clean(student['student'])}: {_score(student['old_score'])} → {_score(student['new_score'])}"
            + _outcome(student)
        )
        for item in student["items"]:
            lines.append(
                f"  {item['id']}: {_status(item['old_status'], item['old_score'])} → "
                f"{_status(item['new_status'], item['new_score'])}"
            )
            for line in clean(item["feedback"]).strip().splitlines()[:12]:
                lines.append(f"    {line}")
    for key, label in (("only_old", "only in the old run"), ("only_new", "only in the new run")):
        if data[key]:
            lines.append(f"{label}: {', '.join(clean(s) for s in data[key])}")
    for m in data["misconceptions"]:
        lines.append(f"misconception {m['id']}: named for {m['old']} → {m['new']} students")
    return "\n".join(lines) + "\n"


def render_markdown(data: dict[str, Any]) -> str:
    def cell(text: str) -> str:
        return clean(text).replace("|", "\\|").replace("\n", "<br>")

    lines = [f"# grade diff: `{cell(data['old'])}` → `{cell(data['new'])}`", ""]
    for setting in data["settings"]:
        lines.append(f"- **changed**: {cell(_setting(setting))}")
    lines += ["", _summary(data), "", "| student | old | new | items changed |", "| --- | --- | --- | --- |"]
    for student in data["students"]:
        items = "; ".join(
            f"`{i['id']}` {_status(i['old_status'], i['old_score'])} → {_status(i['new_status'], i['new_score'])}"
            for i in student["items"]
        )
        scores = f"{_score(student['old_score'])} | {_score(student['new_score'])}"
        lines.append(f"| {cell(student['student'] + _outcome(student))} | {scores} | {cell(items)} |")
    for key, label in (("only_old", "Only in the old run"), ("only_new", "Only in the new run")):
        if data[key]:
            lines += ["", f"{label}: {', '.join(cell(s) for s in data[key])}"]
    if data["misconceptions"]:
        lines += ["", "| misconception | old | new |", "| --- | --- | --- |"]
        lines += [f"| `{m['id']}` | {m['old']} | {m['new']} |" for m in data["misconceptions"]]
    return "\n".join(lines) + "\n"


HEADER = ("student", "old_score", "new_score", "item", "old_status", "old_points", "new_status", "new_points")


def render_csv(data: dict[str, Any]) -> str:
    """One row per changed item (a student whose total alone changed: one row with an empty item)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["student", "old_score", "new_score", "item", "old_status", "old_points", "new_status", "new_points"]
    )
    for student in data["students"]:
        head = [spreadsheet_safe(student["student"]), _number(student["old_score"]), _number(student["new_score"])]
        for item in student["items"] or [None]:
            if item is None:
                writer.writerow([*head, "", "", "", "", ""])
            else:
                writer.writerow(
                    [*head, item["id"], item["old_status"] or "", _number(item["old_score"]), item["new_status"],
                     _number(item["new_score"])]
                )  # fmt: skip
    return buffer.getvalue()
