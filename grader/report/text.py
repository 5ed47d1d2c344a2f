"""The readable report: a table of items, then feedback for what lost points."""

from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..escape import clean
from ..result import Report

_STYLE = {
    "passed": "green",
    "failed": "red",
    "error": "red",
    "timeout": "yellow",
    "crashed": "magenta",
    "missing": "yellow",
}


def points(value: float) -> str:
    return f"{value:g}" if abs(value - round(value)) < 1e-9 else f"{value:.2f}"


def render_text(report: Report, *, color: bool = False, width: int = 100) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
        markup=False,
        force_terminal=color,
    )
    heading = Text(f"{report.title} · {clean(report.submission)}", style="bold")
    console.print(heading)

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("Item", no_wrap=True)
    table.add_column("Title")
    table.add_column("Points", justify="right", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    for item in report.items:
        table.add_row(
            Text(item.id),
            Text(item.title),
            Text(f"{points(item.score)}/{points(item.max_score)}"),
            Text(item.status, style=_STYLE.get(item.status, "")),
        )
    console.print(table)
    console.print(Text(f"Score: {points(report.score)}/{points(report.max_score)}", style="bold"))

    lost = [item for item in report.items if item.status != "passed"]
    if lost:
        console.print()
        console.print(Text("Feedback", style="bold"))
        for item in lost:
            console.print()
            console.print(
                Text(
                    f"{item.id} · {item.target}() · {points(item.score)}/{points(item.max_score)} · {item.status}",
                    style="bold",
                )
            )
            for line in clean(item.feedback).splitlines():
                console.print(Text("  " + line))

    notes = _notebook_notes(report)
    if notes:
        console.print()
        console.print(Text("Notebook", style="bold"))
        for note in notes:
            console.print(Text("  " + clean(note)))

    env = report.environment
    console.print()
    console.print(
        Text(
            f"sha256 {report.notebook.sha256[:16]}… · grader {env.grader_version} · torch {env.torch} · "
            f"device {env.device}{f' ({env.device_name})' if env.device_name and env.device != 'cpu' else ''} · "
            f"seed {env.seed} · {env.examples_per_item} examples per item · sandbox {env.sandbox}",
            style="dim",
        )
    )
    return buffer.getvalue()


def _notebook_notes(report: Report) -> list[str]:
    notebook = report.notebook
    notes = []
    if notebook.assignment_mismatch:
        notes.append(
            f"the notebook says it is assignment '{notebook.declared_assignment}', "
            f"but it was graded as '{report.assignment}' (--assignment): was the right notebook handed in?"
        )
    for cell in notebook.cells:
        if cell.status == "error":
            notes.append(f"cell {cell.index} raised {cell.error}; the cells after it still ran")
        elif cell.status == "timeout":
            notes.append(f"cell {cell.index} ran past the time limit and was skipped")
        elif cell.status == "skipped":
            notes.append(f"cell {cell.index} was skipped: {cell.error}")
        elif cell.status == "crashed":
            notes.append(f"cell {cell.index} ended its process ({cell.error}) and was skipped")
        elif cell.status == "not run":
            notes.append(f"cell {cell.index} did not run")
        for skipped in cell.skipped_imports:
            notes.append(f"cell {cell.index}: import skipped ({skipped})")
    if notebook.magics:
        shown = ", ".join(m["text"] for m in notebook.magics[:5])
        more = f" and {len(notebook.magics) - 5} more" if len(notebook.magics) > 5 else ""
        notes.append(f"not run (shell escapes and magics are never executed): {shown}{more}")
    if notebook.output_truncated:
        notes.append(f"the notebook printed {notebook.output_bytes} bytes; the captured output was truncated")
    if notebook.stopped:
        notes.append(f"execution stopped early: {notebook.stopped}")
    notes.extend(notebook.warnings)
    return notes
