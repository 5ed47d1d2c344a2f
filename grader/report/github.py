"""GitHub Actions helpers: error annotations on the notebook, and the job's step summary.

Annotations are workflow commands printed to stdout. Feedback repeats what the
student's code printed or raised, so a newline in it could start a command of
its own (``::add-mask::``, ``::stop-commands::``); the escaping below is the
one the Actions runner decodes (``@actions/core``'s ``escapeData`` and
``escapeProperty``).
"""

# No `from __future__ import annotations` here: it would bind the name `annotations`, which is
# this module's public function. Every annotation below is valid at runtime on Python 3.11.
import os

from ..escape import clean
from ..result import Report
from .markdown import clip, lost_points, render_markdown
from .text import points

MESSAGE_CHARS = 500


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotations(report: Report, notebook: str) -> list[str]:
    lines = []
    for item in report.items:
        if not lost_points(item):
            continue
        title = f"{item.id} ({points(item.score)}/{points(item.max_score)})"
        message = clip(clean(item.feedback).strip(), MESSAGE_CHARS) or item.status
        lines.append(
            f"::error file={escape_property(clean(notebook))},title={escape_property(clean(title))}"
            f"::{escape_data(message)}"
        )
    return lines


def write_step_summary(report: Report, path: str | os.PathLike[str]) -> None:
    # Appended, as GitHub documents for $GITHUB_STEP_SUMMARY: earlier steps' summaries stay.
    with open(path, "a", encoding="utf-8") as summary:
        summary.write(render_markdown(report) + "\n")
