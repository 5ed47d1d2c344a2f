"""``grade SUBMISSION``: grade a notebook against its assignment's rubric."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..errors import ExitCode
from ..report import FORMATS
from .common import (
    assignment_option,
    cache_dir_option,
    check_writable,
    device_option,
    emit,
    examples_option,
    lang_option,
    no_cache_option,
    output_option,
    plan_cache,
    sandbox_option,
    seed_option,
)


@click.command(
    "notebook",
    hidden=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=(
        "Exit status: 0 graded (whatever the score), 1 graded but below --fail-under, "
        "2 bad input or command line, 3 the grader itself failed or cannot grade here (no sandbox; "
        "a package the rubric's packages: lists is not installed: the line says what to pip install)."
    ),
)
@click.argument("submission", type=click.Path(path_type=Path, dir_okay=True, exists=False))
@assignment_option
@click.option(
    "-f", "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True, help="Report format."
)
@output_option
@click.option("--fail-under", type=float, metavar="POINTS", help="Exit with status 1 when the score is below POINTS.")
@device_option
@sandbox_option
@lang_option
@seed_option
@examples_option
@cache_dir_option
@no_cache_option
@click.option("-q", "--quiet", is_flag=True, help="No progress on standard error.")
def grade(
    submission: Path,
    assignment: str | None,
    fmt: str,
    output: Path | None,
    fail_under: float | None,
    device: str,
    sandbox: str,
    lang: str | None,
    seed: int | None,
    examples: int | None,
    cache_dir: Path | None,
    no_cache: bool,
    quiet: bool,
) -> int:
    """Grade the Jupyter notebook SUBMISSION against its assignment's rubric."""
    from ..grading import Options, grade_notebook
    from ..i18n import language
    from ..report import renderer

    if output is not None:
        check_writable(output)
    show_progress = not quiet and sys.stderr.isatty()

    def progress(item) -> None:
        if show_progress:
            click.echo(f"  {item.id:<18} {item.status:<8} {item.score:g}/{item.max_score:g}", err=True)

    report = grade_notebook(
        submission,
        Options(
            assignment=assignment,
            device=device,
            sandbox=sandbox,
            seed=seed,
            examples=examples,
            plan_cache=plan_cache(cache_dir, no_cache=no_cache),
            language=lang,
        ),
        progress=progress,
    )
    if fmt == "text":
        from ..report.text import render_text

        color = output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        with language(report.language):
            text = render_text(report, color=color)
    else:
        text = renderer(fmt)(report)
    emit(text, output)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        with language(report.language):
            _report_to_github_actions(report, submission)
    if fail_under is not None and report.score < fail_under:
        return ExitCode.BELOW
    return ExitCode.OK


def _report_to_github_actions(report, submission: Path) -> None:
    """The job summary, and one annotation on the notebook per item that lost points.

    Annotations go to standard error (the runner reads workflow commands from both streams),
    so that standard output still carries only the report.
    """
    from ..report.github import annotations, write_step_summary

    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        try:
            write_step_summary(report, summary)
        except OSError as exc:
            click.echo(f"grade: warning: cannot write the step summary {summary}: {exc.strerror}", err=True)
    for line in annotations(report, str(submission)):
        click.echo(line, err=True)
