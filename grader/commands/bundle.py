"""``grade bundle [ASSIGNMENT]``: one archive with an assignment's rubric, reference and checks."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ExitCode
from .common import check_writable, write_atomically


@click.command("bundle")
@click.argument("assignment", required=False, metavar="[ASSIGNMENT]")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write the archive.  [default: <assignment>.zip]",
)
def bundle(assignment: str | None, output: Path | None) -> int:
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
    data, digest = make_bundle(rubric)
    write_atomically(output, data)
    click.echo(f"wrote {output} ({len(data)} bytes, checksum sha256:{digest})")
    return ExitCode.OK
