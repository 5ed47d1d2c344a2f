"""``grade check``'s report: text for the student's terminal, or JSON."""

from __future__ import annotations

import io
import json

from ..escape import clean
from ..result import LATER, SelfCheckReport


def render_json(report: SelfCheckReport) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"


def render_text(report: SelfCheckReport) -> str:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, width=100, color_system=None, highlight=False, markup=False, emoji=False)
    console.print(Text(f"Public self-check · {report.assignment} · {clean(report.submission)}"))
    table = Table(show_edge=False, pad_edge=False, box=None)
    for column in ("Item", "Title", "Public checks"):
        table.add_column(column)
    for item in report.items:
        table.add_row(Text(item.id), Text(item.title), Text(item.status))
    console.print(table)
    for item in report.items:
        notes = [
            f"{f['status']}: {f['check']}" + (f" ({f['message']})" if f["message"] else "")
            for f in item.findings
            if f["status"] != "passed"
        ]
        if item.message or notes:
            console.print(Text(f"\n{item.id}: {item.status}"))
            for line in ([item.message] if item.message else []) + notes:
                console.print(Text(f"  {line}"))
    console.print(
        Text(
            "\nThese are the public checks only: grading draws many more inputs and compares with "
            f"solutions you do not have. What they cannot decide is marked '{LATER}'."
        )
    )
    return buffer.getvalue()
