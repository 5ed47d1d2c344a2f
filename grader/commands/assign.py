"""``grade assign SOLUTION``: make the students' template from a solution notebook."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import ExitCode, NotebookError
from .common import check_writable, device_option, sandbox_option, write_atomically


@click.command("assign", epilog="Exit status: 0 written and verified, 1 written but not verified, 2 bad input.")
@click.argument("solution", type=click.Path(path_type=Path, dir_okay=False, exists=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write the template.  [default: assignments/<id>/<id>.ipynb in the course directory]",
)
@click.option(
    "--verify/--no-verify",
    default=True,
    show_default=True,
    help="Grade the solution (it must score full marks) and the template (it must score 0).",
)
@device_option
@sandbox_option
def assign(solution: Path, output: Path | None, verify: bool, device: str, sandbox: str) -> int:
    """Write the student template for the instructor's notebook SOLUTION.

    Regions between `# BEGIN SOLUTION` and `# END SOLUTION` become
    `raise NotImplementedError(...)`, cells tagged `hidden` are dropped, outputs
    are cleared, and the metadata keeps only the assignment's id.

    Where the rubric's `public_checks:` names a `.examples` file, the students'
    public checks are derived from the grading checks and written there: a few
    inputs per item, drawn with a seed of their own, and the reference's answers.
    """
    import nbformat

    from ..course.assignment import course_dir
    from ..course.template import make_template
    from ..notebook import read_notebook

    read_notebook(solution)  # the same checks as for a submission, with the same one-line errors
    document = json.loads(solution.read_text(encoding="utf-8"))
    template = make_template(document)
    assignment = template["metadata"]["grader"]["assignment"]
    if output is None:
        root = course_dir()
        if root is None:
            raise NotebookError(f"{solution}: no course directory to write assignments/{assignment}/ in: pass --output")
        output = root / "assignments" / assignment / f"{assignment}.ipynb"
        output.parent.mkdir(parents=True, exist_ok=True)
    check_writable(output)
    text = nbformat.writes(nbformat.from_dict(template))
    write_atomically(output, text if text.endswith("\n") else text + "\n")
    click.echo(f"wrote {output}")
    _derive_public_checks(assignment)
    if not verify:
        return ExitCode.OK
    return ExitCode.OK if _verify(solution, output, assignment, device=device, sandbox=sandbox) else ExitCode.BELOW


def _derive_public_checks(assignment: str) -> None:
    """Where the rubric's ``public_checks:`` names a ``.examples`` file, the public checks derived from the
    grading checks are written there (``grader.selfcheck.derive``); hand-written ones are left alone."""
    from ..course.assignment import resolve
    from ..course.rubric import load_rubric
    from ..selfcheck.derive import derive
    from ..selfcheck.examples import dumps, is_derived

    rubric = load_rubric(resolve(assignment))
    if rubric.public_checks is None or not is_derived(rubric.public_checks):
        return
    rubric.public_checks.parent.mkdir(parents=True, exist_ok=True)
    check_writable(rubric.public_checks)  # before the reference runs, not after
    examples = derive(rubric)
    write_atomically(rubric.public_checks, dumps(examples))
    cases, items = sum(len(item.cases) for item in examples.items), len(examples.items)
    click.echo(f"wrote {rubric.public_checks} (public checks: {cases} inputs, {items} item{'s' * (items != 1)})")


def _verify(solution: Path, template: Path, assignment: str, *, device: str, sandbox: str) -> bool:
    from ..grading import Options, grade_notebook
    from ..judging.plans import default_directory

    options = Options(assignment=assignment, device=device, sandbox=sandbox, plan_cache=default_directory())
    good = True
    for name, path, wanted in (("solution", solution, "full"), ("template", template, "zero")):
        report = grade_notebook(path, options)
        ok = report.score == report.max_score if wanted == "full" else report.score == 0
        verdict = "as it must" if ok else f"but it must score {'full marks' if wanted == 'full' else '0'}"
        click.echo(f"{name}: {report.score:g}/{report.max_score:g}, {verdict}")
        if not ok:
            wrong = [i for i in report.items if (i.score < i.max_score if wanted == "full" else i.score > 0)]
            click.echo("  " + ", ".join(f"{i.id} ({i.status}, {i.score:g}/{i.max_score:g})" for i in wrong))
        good &= ok
    return good
