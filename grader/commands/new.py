"""``grade new ID``: the scaffold of a new assignment in the course folder."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import click

from ..errors import ExitCode, GraderError


@click.command(
    "new",
    epilog="Exit status: 0 created; 2 not a valid id, the assignment (or one of its files) exists, "
    "or no course folder. Nothing existing is ever overwritten.",
)
@click.argument("assignment", metavar="ID")
@click.option(
    "--course",
    type=click.Path(path_type=Path),
    help="The course folder to write in (made if need be); the other commands find it through "
    "GRADER_COURSE.  [default: $GRADER_COURSE, else the checkout the grader runs from]",
)
def new(assignment: str, course: Path | None) -> int:
    """Write a new assignment ID into the course folder, with one worked example exercise.

    Creates rubrics/ID.yaml (every key explained), rubrics/ID.equivalent.yaml,
    the reference package reference/ID_WITH_UNDERSCORES/ (solution, checks,
    misconceptions, and the instructor's solution.ipynb with # BEGIN SOLUTION /
    # END SOLUTION regions) and assignments/ID/ (the students' README; `grade
    assign` adds the template and the public checks it derives). As written it
    passes `grade assign`, `grade check`, `grade mutate` and grades to full
    marks: change the example into the real exercises.
    """
    from ..course.assignment import course_dir
    from ..course.scaffold import check_id, create, package_name

    check_id(assignment)  # a bad id is refused before anything is looked at or made
    default = course_dir()
    root = course if course is not None else default
    if root is None:
        raise GraderError("no course folder to write the assignment in: pass --course DIR (or set GRADER_COURSE)")
    if root.exists() and not root.is_dir():
        raise GraderError(f"--course {root}: exists and is not a folder")
    files = create(root, assignment)

    click.echo(f"created the assignment '{assignment}' in {_shown(root)}:")
    width = max(len(f.path) for f in files)
    for planned in files:
        click.echo(f"  {planned.path:<{width}}  {planned.what}")
    solution = f"reference/{package_name(assignment)}/solution.ipynb"
    template = f"assignments/{assignment}/{assignment}.ipynb"
    same = default is not None and root.resolve() == default.resolve()
    click.echo("")
    click.echo("next, in the course folder:" if same else "next:")
    steps = []
    if not same:
        steps.append((f"export GRADER_COURSE={shlex.quote(str(root.resolve()))}", "how grade finds this course"))
        steps.append((f"cd {shlex.quote(str(root.resolve()))}", ""))
    steps += [
        (f"grade assign {solution}", f"the students' template {template}: 0 points, the solution full marks"),
        (f"grade check {solution}", "the public checks pass on the solution"),
        (f"grade mutate {assignment} --min-kill-rate 0.95", "the rubric notices small bugs in the solution"),
        (f"grade {solution}", "a full report: the solution gets full marks"),
    ]
    width = max(len(command) for command, _ in steps)
    for command, why in steps:
        click.echo(f"  {command:<{width}}  # {why}" if why else f"  {command}")
    click.echo(f"then change the example into your exercises: rubrics/{assignment}.yaml says where each part lives.")
    return ExitCode.OK


def _shown(path: Path) -> str:
    """The folder as the user would type it: relative to the working directory when inside it."""
    absolute = path.resolve()
    try:
        relative = absolute.relative_to(Path.cwd().resolve())
    except ValueError:
        return str(absolute)
    return str(relative) if str(relative) != "." else f"{os.curdir} ({absolute})"
