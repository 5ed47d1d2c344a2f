"""A GitHub-flavoured Markdown summary, sized for a PR comment or a job's step summary.

Student-controlled text (the submission path, feedback, counterexample
values, cell errors) is shown escaped: visible control characters from
``clean()``, HTML entities for ``& < >``, and backslashes before Markdown
punctuation, so it can neither inject HTML nor format, link or break a table.
"""

from __future__ import annotations

import html
import re

from ..escape import clean
from ..i18n import _, ngettext
from ..result import ItemResult, Report
from .text import (  # the text report's notes say what this summary needs to say
    _notebook_notes,
    points,
    snippet_lead,
    snippet_of,
    status_name,
)

# GitHub refuses comments over 65 536 characters; stay well below with room for a note.
LIMIT = 60_000
FEEDBACK_CHARS = 600
SNIPPET_CHARS = 4_000
NOTES = 20

_MARKS = {"passed": "✅", "failed": "❌", "error": "💥", "timeout": "⏱️", "crashed": "💀", "missing": "❓"}


def status(name: str) -> str:
    """A status as the table shows it: its mark and its name in the report's language."""
    return f"{_MARKS[name]} {status_name(name)}" if name in _MARKS else inline(name)


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
        _("Submission {submission} · assignment {assignment}").format(
            submission=inline(report.submission), assignment=inline(report.assignment)
        ),
        "",
        "| {} | {} | {} |".format(_("Item"), _("Points"), _("Status")),
        "| --- | ---: | --- |",
        *(
            f"| {inline(item.id)} · {inline(item.title)} | {points(item.score)}/{points(item.max_score)} "
            f"| {status(item.status)} |"
            for item in report.items
        ),
    ]
    sections = [_item_section(item) for item in report.items if lost_points(item)]
    notes = _notebook_notes(report)
    if notes:
        shown = [f"- {inline(clip(note, 300))}" for note in notes[:NOTES]]
        if len(notes) > NOTES:
            rest = len(notes) - NOTES
            shown.append("- " + ngettext("… and {n} more", "… and {n} more", rest).format(n=rest))
        sections.append("\n".join(["#### " + _("Notebook"), "", *shown]))
    return _fit("\n".join(head), sections)


def _item_section(item: ItemResult) -> str:
    lines = [
        f"#### {inline(item.id)} · {inline(item.title)} — {points(item.score)}/{points(item.max_score)} "
        f"· {status(item.status)}",
        "",
        block(clip(clean(item.feedback), FEEDBACK_CHARS)),
    ]
    code = snippet_of(item)
    if code is not None and len(code) <= SNIPPET_CHARS:
        lines += ["", snippet_lead(), "", code_block(code)]
    elif code is not None:
        lines += ["", _("The code that reproduces it is too long for a comment: see the HTML or JSON report.")]
    return "\n".join(lines)


def code_block(code: str) -> str:
    """Our own Python (never a student's text) in a fence GitHub highlights; ``block`` if it could close it."""
    code = clean(code).rstrip()
    return f"```python\n{code}\n```" if "```" not in code else block(code)


def _fit(head: str, sections: list[str]) -> str:
    """Keep whole sections while they fit; say how many were left out rather than cut one in half."""
    room = LIMIT - 200
    if len(head) > room:
        # Only a rubric with thousands of items gets here; cut the table at a row boundary.
        cut = _("The table was cut to fit a comment; see the full report.")
        return head[: head.rfind("\n", 0, room)] + f"\n\n_{cut}_\n"
    out = head
    for index, section in enumerate(sections):
        if len(out) + 2 + len(section) > room:
            rest = len(sections) - index
            left_out = ngettext(
                "{n} more section left out to fit a comment; see the full report.",
                "{n} more sections left out to fit a comment; see the full report.",
                rest,
            ).format(n=rest)
            return out + f"\n\n_{left_out}_\n"
        out += "\n\n" + section
    return out + "\n"
