"""``grade export GRADES_DIR --to moodle|canvas --roster ROSTER.csv``: grades as the LMS imports them."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ExitCode
from .common import check_writable, emit, output_option


@click.command(
    "export",
    epilog="Exit status: 0 written (who is missing on either side is listed on standard error), "
    "2 a bad folder, roster or option.",
)
@click.argument("grades_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--to", "target", type=click.Choice(("moodle", "canvas")), required=True, help="The LMS's import format.")
@click.option(
    "--roster",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    required=True,
    help="CSV with a 'student' column (our ids) and the LMS identities: email, idnumber or username for "
    "Moodle; name, id, sis_user_id, sis_login_id, section for Canvas.",
)
@click.option("-a", "--assignment", help="The assignment to export, when the folder holds several.")
@click.option("--item", help="The grade item's (Canvas: assignment's) name in the LMS.  [default: the assignment id]")
@click.option(
    "--max-points",
    type=click.FloatRange(min=0, min_open=True),
    help="Scale each score to this maximum (the LMS grade item's).  [default: the rubric's points]",
)
@click.option(
    "--id-column", type=click.Choice(("email", "idnumber", "username")), help="Moodle: the user field to match."
)
@output_option
def export(
    grades_dir: Path,
    target: str,
    roster: Path,
    assignment: str | None,
    item: str | None,
    max_points: float | None,
    id_column: str | None,
    output: Path | None,
) -> int:
    """Write the grades of a `grade batch` folder as the LMS's grade import file.

    Moodle: its grade import CSV (Grades > Import > CSV file; map the first
    column to the user field, the second to the grade item). Canvas: its
    gradebook CSV (Grades > Import), with the fixed leading columns and a
    Points Possible row. One row per roster student; a student without a
    graded notebook gets an empty cell, which both importers leave as it was.
    """
    from ..batch.export import export as make
    from ..batch.export import read_grades, read_roster

    if output is not None:
        check_writable(output)
    chosen, records = read_grades(grades_dir, assignment)
    result = make(
        records, read_roster(roster), to=target, item=item or chosen, max_points=max_points, id_column=id_column
    )
    emit(result.text, output)
    for line in result.missing:
        click.echo(f"grade export: {line}", err=True)
    rows = f"{result.rows} student{'s' * (result.rows != 1)}"
    click.echo(f"grade export: {rows}, {chosen}, for {target}", err=True)
    return ExitCode.OK
