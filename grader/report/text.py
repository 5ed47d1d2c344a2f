"""The readable report: a table of items, then feedback for what lost points.

Headings, labels and statuses are marked for translation (``grader.i18n``) and
rendered in the report's language; the feedback arrives in it already. The
reproduction snippet of a counterexample is code and is shown as it is.
"""

from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from ..escape import clean
from ..i18n import N_, _, ngettext
from ..result import ItemResult, Report

_STYLE = {
    "passed": "green",
    "failed": "red",
    "error": "red",
    "timeout": "yellow",
    "crashed": "magenta",
    "missing": "yellow",
}


# A status as a student reads it; the JSON report keeps the status itself.
STATUS_NAMES = {
    "passed": N_("passed"),
    "failed": N_("failed"),
    "error": N_("error"),
    "timeout": N_("timeout"),
    "crashed": N_("crashed"),
    "missing": N_("missing"),
}


def status_name(status: str) -> str:
    return _(STATUS_NAMES.get(status, status))


def snippet_of(item: ItemResult) -> str | None:
    """The Python that reproduces the item's counterexample (``counterexample.snippet``), if it has one."""
    code = (item.counterexample or {}).get("snippet")
    return code if isinstance(code, str) and code.strip() else None


def snippet_lead() -> str:
    return _("To see it yourself, paste this into a new cell after your notebook's cells and run it:")


def points(value: float) -> str:
    return f"{value:g}" if abs(value - round(value)) < 1e-9 else f"{value:.2f}"


def unpadded(text: str) -> str:
    """The console's text without the spaces it pads lines with."""
    return "".join(line.rstrip() + "\n" for line in text.splitlines())


def print_indented(console: Console, line: str) -> None:
    """A line of prose, its wrapped continuation lines at its own indentation (not at the margin)."""
    text = line.lstrip(" ")
    console.print(Padding(Text(text), (0, 0, 0, len(line) - len(text))))


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
    heading = f"{report.title} · {clean(report.submission)}"
    if len(heading) > width:  # the title, then the notebook on a line of its own (never a dangling "·")
        heading = f"{report.title}\n{clean(report.submission)}"
    console.print(Text(heading, style="bold"))

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column(_("Item"), no_wrap=True)
    table.add_column(_("Title"))
    table.add_column(_("Points"), justify="right", no_wrap=True)
    table.add_column(_("Status"), no_wrap=True)
    for item in report.items:
        table.add_row(
            Text(item.id),
            Text(item.title),
            Text(f"{points(item.score)}/{points(item.max_score)}"),
            Text(status_name(item.status), style=_STYLE.get(item.status, "")),
        )
    console.print(table)
    console.print(Text(score_line(report), style="bold"))

    lost = [item for item in report.items if item.status != "passed"]
    if lost:
        console.print()
        console.print(Text(_("Feedback"), style="bold"))
        for item in lost:
            console.print()
            console.print(
                Text(
                    f"{item.id} · {item.target}() · {points(item.score)}/{points(item.max_score)} · "
                    f"{status_name(item.status)}",
                    style="bold",
                )
            )
            for line in clean(item.feedback).splitlines():
                print_indented(console, "  " + line)
            code = snippet_of(item)
            if code is not None:
                console.print(Text("  " + snippet_lead()))
                for line in clean(code).splitlines():
                    console.print(Text("    " + line if line else ""), overflow="ignore", crop=False, soft_wrap=True)

    notes = _notebook_notes(report)
    if notes:
        console.print()
        console.print(Text(_("Notebook"), style="bold"))
        for note in notes:
            print_indented(console, "  " + clean(note))

    env = report.environment
    console.print()
    device = f"{env.device} ({env.device_name})" if env.device_name and env.device != "cpu" else env.device
    console.print(
        Text(
            f"sha256 {report.notebook.sha256[:16]}… · grader {env.grader_version} · torch {env.torch} · "
            + _("device {device}").format(device=device)
            + " · "
            + _("seed {seed}").format(seed=env.seed)
            + " · "
            + env.examples_shown(
                ngettext("{n} example per item", "{n} examples per item", env.examples_per_item).format(
                    n=env.examples_per_item
                )
            )
            + " · "
            + _("sandbox {sandbox}").format(sandbox=env.sandbox),
            style="dim",
        )
    )
    return unpadded(buffer.getvalue())


def score_line(report: Report) -> str:
    return _("Score: {score}").format(score=f"{points(report.score)}/{points(report.max_score)}")


def _notebook_notes(report: Report) -> list[str]:
    """What went wrong with the notebook itself, one sentence each, in the report's language."""
    notebook = report.notebook
    notes = []
    if notebook.assignment_mismatch:
        notes.append(
            _(
                "the notebook says it is assignment '{declared}', but it was graded as '{graded}' (--assignment): "
                "was the right notebook handed in?"
            ).format(declared=notebook.declared_assignment, graded=report.assignment)
        )
    for cell in notebook.cells:
        if cell.status == "error":
            notes.append(
                _("cell {cell} raised {error}; the cells after it still ran").format(cell=cell.index, error=cell.error)
            )
        elif cell.status == "timeout":
            notes.append(_("cell {cell} ran past the time limit and was skipped").format(cell=cell.index))
        elif cell.status == "skipped":
            notes.append(_("cell {cell} was skipped: {reason}").format(cell=cell.index, reason=cell.error))
        elif cell.status == "crashed":
            notes.append(
                _("cell {cell} ended its process ({reason}) and was skipped").format(cell=cell.index, reason=cell.error)
            )
        elif cell.status == "not run":
            notes.append(_("cell {cell} did not run").format(cell=cell.index))
        for skipped in cell.skipped_imports:
            notes.append(_("cell {cell}: import skipped ({module})").format(cell=cell.index, module=skipped))
    if notebook.magics:
        shown = ", ".join(m["text"] for m in notebook.magics[:5])
        rest = len(notebook.magics) - 5
        if rest > 0:
            notes.append(
                ngettext(
                    "not run (shell escapes and magics are never executed): {shown} and {n} more",
                    "not run (shell escapes and magics are never executed): {shown} and {n} more",
                    rest,
                ).format(shown=shown, n=rest)
            )
        else:
            notes.append(_("not run (shell escapes and magics are never executed): {shown}").format(shown=shown))
    if notebook.output_truncated:
        notes.append(output_note(notebook.output_bytes))
    if notebook.stopped:
        notes.append(_("execution stopped early: {reason}").format(reason=notebook.stopped))
    notes.extend(notebook.warnings)
    return notes


def output_note(size: int) -> str:
    return ngettext(
        "the notebook printed {n} byte; the captured output was truncated",
        "the notebook printed {n} bytes; the captured output was truncated",
        size,
    ).format(n=size)
