"""``grade bundle [ASSIGNMENT]``: one archive with an assignment's rubric, reference and checks."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from ..errors import ExitCode, RubricError
from .common import check_writable, sandbox_option, write_atomically


@click.command("bundle", epilog="Exit status: 0 written, 2 bad input, 3 the grader failed.")
@click.argument("assignment", required=False, metavar="[ASSIGNMENT]")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write the archive.  [default: <assignment>.zip]",
)
@click.option(
    "--plans",
    "with_plans",
    is_flag=True,
    help="Also pack the stored plans (drawn inputs, reference answers), made now by grading the solution "
    "notebook with this machine's torch: gradings with the same torch, seed and examples replay them.",
)
@sandbox_option
def bundle(assignment: str | None, output: Path | None, with_plans: bool, sandbox: str) -> int:
    """Write an autograder bundle of ASSIGNMENT (an id or a rubric file; default: the course's only assignment).

    The archive holds the rubric, the reference package and the public checks,
    with a manifest of their SHA-256 sums and a checksum. Grade with it:
    `grade --assignment bundle.zip submit.ipynb`.
    """
    from ..course.assignment import resolve, with_reference
    from ..course.bundle import make_bundle
    from ..course.rubric import load_rubric

    rubric = load_rubric(resolve(assignment))
    with_reference(rubric)  # refuse to bundle an assignment that would not load
    output = output or Path(f"{rubric.assignment}.zip")
    check_writable(output)
    if with_plans:
        with tempfile.TemporaryDirectory(prefix="grader-bundle-plans-") as folder:
            made_with = _make_plans(rubric, Path(folder), sandbox=sandbox)
            data, digest = make_bundle(rubric, plans=Path(folder) / "plans", made_with=made_with)
        shown = f", plans for torch {made_with['torch']}"
    else:
        data, digest = make_bundle(rubric)
        shown = ""
    write_atomically(output, data)
    click.echo(f"wrote {output} ({len(data)} bytes{shown}, checksum sha256:{digest})")
    return ExitCode.OK


def _make_plans(rubric, folder: Path, *, sandbox: str) -> dict[str, str]:
    """Grades the solution notebook with the bundle's own files, so the plans' keys are the ones a
    grading with the unpacked bundle computes; returns what made them."""
    from ..course.bundle import extract, make_bundle
    from ..grading import Options, grade_notebook

    if rubric.solution_notebook is None or not rubric.solution_notebook.is_file():
        raise RubricError(f"{rubric.path}: solution_notebook: --plans grades the solution notebook; name one")
    staged = folder / "staged.zip"
    staged.write_bytes(make_bundle(rubric)[0])
    bundled_rubric = extract(staged)
    report = grade_notebook(
        rubric.solution_notebook,
        Options(assignment=str(bundled_rubric), sandbox=sandbox, plan_cache=folder / "plans"),
    )
    short = [item.id for item in report.items if item.status != "passed"]
    if short:
        click.echo(f"grade bundle: the solution did not pass {', '.join(short)}: their plans may be missing", err=True)
    return {"torch": report.environment.torch, "python": report.environment.python}
