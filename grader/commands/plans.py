"""``grade plans [ASSIGNMENT]``: fill the plan cache ahead of a deadline."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ..errors import AssignmentNotFound, ExitCode, GraderError, RubricError
from ..files import cannot_write_in
from .common import cache_dir_option, device_option, examples_option, plan_cache, sandbox_option, seed_option


@click.command(
    "plans", epilog="Exit status: 0 stored, 1 the solution did not score full, 2 bad input, 3 the grader failed."
)
@click.argument("assignment", required=False, metavar="[ASSIGNMENT]")
@device_option
@sandbox_option
@seed_option
@examples_option
@cache_dir_option
def plans(
    assignment: str | None, device: str, sandbox: str, seed: int | None, examples: int | None, cache_dir: Path | None
) -> int:
    """Store ASSIGNMENT's plans (drawn inputs and reference answers) before the first notebook comes.

    Grades the rubric's solution notebook with the plan cache, which draws every
    item's inputs and runs the reference once; every notebook graded afterwards
    with the same rubric, seed, examples and cache replays them, so none pays the
    first-notebook cost. Run it with the settings the grading will use.
    """
    from ..course.assignment import resolve
    from ..course.rubric import load_rubric
    from ..grading import Options, grade_notebook

    try:
        rubric_path = resolve(assignment)
    except AssignmentNotFound as exc:
        if assignment is not None:
            raise
        # The one way to name it here is the argument (grade plans ID), not --assignment.
        raise AssignmentNotFound(str(exc).replace("with --assignment", "as the argument: grade plans ID")) from None
    rubric = load_rubric(rubric_path)
    if rubric.solution_notebook is None:
        raise RubricError(f"{rubric.path}: solution_notebook: grade plans grades the solution notebook; name one")
    if not rubric.solution_notebook.is_file():
        raise RubricError(f"{rubric.path}: solution_notebook: {rubric.solution_notebook} does not exist")
    directory = plan_cache(cache_dir, no_cache=False)
    assert directory is not None
    why = cannot_write_in(directory, make=True)
    if why is not None:
        raise GraderError(f"--cache-dir {directory}: the plans cannot be stored there ({why})")
    started = time.monotonic()
    options = Options(
        assignment=str(rubric_path), device=device, sandbox=sandbox, seed=seed, examples=examples, plan_cache=directory
    )
    report = grade_notebook(rubric.solution_notebook, options)
    seconds = time.monotonic() - started
    click.echo(
        f"plans of {rubric.assignment} stored in {directory} (seed {report.environment.seed}, "
        f"{report.environment.examples_per_item} examples per item, {len(report.items)} items) in {seconds:.1f} s"
    )
    short = [item.id for item in report.items if item.status != "passed"]
    if short:
        click.echo(f"grade plans: the solution did not pass {', '.join(short)}: their plans may be missing", err=True)
        return ExitCode.BELOW
    return ExitCode.OK
