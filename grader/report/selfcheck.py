"""``grade check``'s report: text for the student's terminal, or JSON.

Rendered inside the run's language (``grader.i18n``): headings, column names and
statuses as the student reads them. The findings and messages arrive already in
that language from the checks' side; the JSON keeps the statuses themselves.
"""

from __future__ import annotations

import io
import json

from ..escape import clean
from ..i18n import N_, _
from ..result import LATER, SelfCheckReport

# A status as a student reads it; grader.child.selfcheck shows them with the same words.
_SHOWN_STATUS = {
    "passed": N_("passed"),
    "failed": N_("failed"),
    "error": N_("error"),
    "missing": N_("missing"),
    "unchecked": N_("unchecked"),
    "timeout": N_("timeout"),
    "crashed": N_("crashed"),
    LATER: N_("checked only at grading"),
}


def _shown(status: str) -> str:
    return _(_SHOWN_STATUS.get(status, status))


def render_json(report: SelfCheckReport) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"


def render_text(report: SelfCheckReport) -> str:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from .text import print_indented, unpadded

    buffer = io.StringIO()
    console = Console(file=buffer, width=100, color_system=None, highlight=False, markup=False, emoji=False)
    heading = _("Public self-check · {assignment} · {submission}")
    # One line however long: the notebook's path is not broken up.
    console.print(
        Text(heading.format(assignment=report.assignment, submission=clean(report.submission))), soft_wrap=True
    )
    table = Table(show_edge=False, pad_edge=False, box=None)
    for column in (_("Item"), _("Title"), _("Public checks")):
        table.add_column(column)
    for item in report.items:
        table.add_row(Text(item.id), Text(item.title), Text(_shown(item.status)))
    console.print(table)
    for item in report.items:
        notes = [
            f"{_shown(f['status'])}: {f['check']}" + (f" ({f['message']})" if f["message"] else "")
            for f in item.findings
            if f["status"] != "passed"
        ]
        if item.message or notes:
            console.print(Text(f"\n{item.id}: {_shown(item.status)}"))
            for line in ([item.message] if item.message else []) + notes:
                print_indented(console, f"  {line}")
    closing = _(
        "These are the public checks only: grading draws many more inputs and compares with "
        "solutions you do not have. What they cannot decide is marked '{later}'."
    )
    console.print(Text("\n" + closing.format(later=_shown(LATER))))
    return unpadded(buffer.getvalue())
