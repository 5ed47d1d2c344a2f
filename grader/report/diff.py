"""``grade diff`` as text, Markdown or CSV (the JSON format is the diff's data itself)."""

from __future__ import annotations

import csv
import io
from typing import Any

from ..escape import clean, spreadsheet_safe


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def _summary(data: dict[str, Any]) -> str:
    s = data["summary"]
    return (
        f"{s['compared']} students in both runs: {s['up']} up, {s['down']} down, {s['unchanged']} unchanged; "
        f"mean change {s['mean_change']:+g}, largest up {s['largest_up']:+g}, largest down {s['largest_down']:+g}"
    )


def render_text(data: dict[str, Any]) -> str:
    lines = [f"grade diff {data['old']} → {data['new']}"]
    for setting in data["settings"]:
        lines.append(f"  changed: {setting['setting']}: {setting['old']} → {setting['new']}")
    if not data["settings"]:
        lines.append("  same settings (rubric, seed, examples, grader and torch versions)")
    lines += ["", _summary(data), ""]
    for student in data["students"]:
        lines.append(
            f"{clean(student['student'])}: {_score(student['old_score'])} → {_score(student['new_score'])}"
            + ("" if student["old_outcome"] == student["new_outcome"] else f" ({student['new_outcome']})")
        )
        for item in student["items"]:
            lines.append(
                f"  {item['id']}: {item['old_status']} {_score(item['old_score'])} → "
                f"{item['new_status']} {_score(item['new_score'])}"
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
        lines.append(f"- **changed**: {setting['setting']}: `{setting['old']}` → `{setting['new']}`")
    lines += ["", _summary(data), "", "| student | old | new | items changed |", "| --- | --- | --- | --- |"]
    for student in data["students"]:
        items = "; ".join(
            f"`{i['id']}` {i['old_status']} {_score(i['old_score'])} → {i['new_status']} {_score(i['new_score'])}"
            for i in student["items"]
        )
        scores = f"{_score(student['old_score'])} | {_score(student['new_score'])}"
        lines.append(f"| {cell(student['student'])} | {scores} | {items} |")
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
        head = [spreadsheet_safe(student["student"]), _score(student["old_score"]), _score(student["new_score"])]
        for item in student["items"] or [None]:
            if item is None:
                writer.writerow([*head, "", "", "", "", ""])
            else:
                writer.writerow(
                    [*head, item["id"], item["old_status"] or "", _score(item["old_score"]), item["new_status"],
                     _score(item["new_score"])]
                )  # fmt: skip
    return buffer.getvalue()
