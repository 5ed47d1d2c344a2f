"""``grade diff OLD_DIR NEW_DIR``: per student, what changed between two runs of ``grade batch``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import ExitCode
from .common import check_writable, emit, output_option


@click.command("diff", epilog="Exit status: 0 compared (whatever changed), 2 a folder that is not batch output.")
@click.argument("old_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.argument("new_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "-f", "--format", "fmt", type=click.Choice(("text", "markdown", "csv", "json")), default="text", show_default=True
)
@output_option
def diff(old_dir: Path, new_dir: Path, fmt: str, output: Path | None) -> int:
    """Compare two `grade batch` output folders: why did a student's grade change?

    Names first the settings that differ between the runs (rubric, seed,
    examples, grader and torch versions); then, per student, the old and new
    score and every item whose points or status changed, with the new
    feedback; the students found in one run only; how many went up, down or
    stayed; and how often each named mistake was found in each run.
    """
    from ..batch.diff import diff as compare
    from ..report.diff import render_csv, render_markdown, render_text

    if output is not None:
        check_writable(output)
    data = compare(old_dir, new_dir)
    renderers = {"text": render_text, "markdown": render_markdown, "csv": render_csv}
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n" if fmt == "json" else renderers[fmt](data)
    emit(text, output)
    return ExitCode.OK
