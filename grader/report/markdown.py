"""A GitHub-flavoured Markdown summary, sized for a PR comment or a job's step summary.

Student-controlled text (the submission path, feedback, counterexample
values, cell errors) is shown escaped: visible control characters from
``clean()``, HTML entities for ``& < >``, and backslashes before Markdown
punctuation, so it can neither inject HTML nor format, link or break a table.
"""

from __future__ import annotations

import html
import json
import re

from ..escape import clean
from ..result import ItemResult, Report
from .text import _notebook_notes, points  # the text report's notes say what this summary needs to say

# GitHub refuses comments over 65 536 characters; stay well below with room for a note.
LIMIT = 60_000
FEEDBACK_CHARS = 600
COUNTEREXAMPLE_CHARS = 1_500
NOTES = 20

STATUS = {
    "passed": "✅ passed",
    "failed": "❌ failed",
    "error": "💥 error",
    "timeout": "⏱️ timeout",
    "crashed": "💀 crashed",
    "missing": "❓ missing",
}

# `&`, `<`, `>` become entities first (html.escape without quotes never writes `&#`), so `&` and
# `;` are left alone for the entities to survive. `#` could start a heading in a list item; `@` is
# escaped too, though GitHub may still turn `@name` into a mention after rendering.
_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~@])")


def inline(text: str) -> str:
    """Student text as one line of inert Markdown, safe inside a table cell."""
    escaped = html.escape(clean(text), quote=False)
    return _PUNCTUATION.sub(r"\\\1", " ".join(escaped.split()))


def block(text: str) -> str:
    # A <pre> HTML block rather than a ``` fence: inside a fence entities are not decoded, so
    # escaped `<` would show as `&lt;`; inside <pre> they are, and because every `<` is escaped
    # the text can never close the block, whatever backticks it holds.
    return f"<pre>{html.escape(clean(text), quote=False)}</pre>"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def lost_points(item: ItemResult) -> bool:
    return item.status != "passed" or item.score < item.max_score


def render_markdown(report: Report) -> str:
    head = [
        f"### {inline(report.title)} — {points(report.score)}/{points(report.max_score)}",
        "",
        f"Submission {inline(report.submission)} · assignment {inline(report.assignment)}",
        "",
        "| Item | Points | Status |",
        "| --- | ---: | --- |",
        *(
            f"| {inline(item.id)} · {inline(item.title)} | {points(item.score)}/{points(item.max_score)} "
            f"| {STATUS.get(item.status, inline(item.status))} |"
            for item in report.items
        ),
    ]
    sections = [_item_section(item) for item in report.items if lost_points(item)]
    notes = _notebook_notes(report)
    if notes:
        shown = [f"- {inline(clip(note, 300))}" for note in notes[:NOTES]]
        if len(notes) > NOTES:
            shown.append(f"- … and {len(notes) - NOTES} more")
        sections.append("\n".join(["#### Notebook", "", *shown]))
    return _fit("\n".join(head), sections)


def _item_section(item: ItemResult) -> str:
    lines = [
        f"#### {inline(item.id)} · {inline(item.title)} — {points(item.score)}/{points(item.max_score)} "
        f"· {STATUS.get(item.status, inline(item.status))}",
        "",
        block(clip(clean(item.feedback), FEEDBACK_CHARS)),
    ]
    if item.counterexample is not None:
        shown = json.dumps(item.counterexample, indent=2, ensure_ascii=False, default=str)
        lines += ["", "Counterexample:", "", block(clip(clean(shown), COUNTEREXAMPLE_CHARS))]
    return "\n".join(lines)


def _fit(head: str, sections: list[str]) -> str:
    """Keep whole sections while they fit; say how many were left out rather than cut one in half."""
    room = LIMIT - 200
    if len(head) > room:
        # Only a rubric with thousands of items gets here; cut the table at a row boundary.
        return head[: head.rfind("\n", 0, room)] + "\n\n_The table was cut to fit a comment; see the full report._\n"
    out = head
    for index, section in enumerate(sections):
        if len(out) + 2 + len(section) > room:
            return (
                out + f"\n\n_{len(sections) - index} more section(s) left out to fit a comment; see the full report._\n"
            )
        out += "\n\n" + section
    return out + "\n"
