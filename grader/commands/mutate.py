"""``grade mutate [ASSIGNMENT]``: how many plausible bugs does the rubric notice?"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import ExitCode
from .common import check_writable, device_option, emit, output_option, sandbox_option


@click.command(
    "mutate",
    epilog="Exit status: 0 done (and the kill rate reaches --min-kill-rate), 1 below --min-kill-rate, "
    "2 bad input, 3 the grader failed.",
)
@click.argument("assignment", required=False, metavar="[ASSIGNMENT]")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=2, show_default=True, help="Mutants graded at once.")
@click.option("--function", "functions", multiple=True, metavar="NAME", help="Mutate only this function (repeatable).")
@click.option(
    "--operator", "operators", multiple=True, metavar="NAME", help="Use only this mutation operator (repeatable)."
)
@click.option(
    "--min-kill-rate",
    type=click.FloatRange(0, 1),
    metavar="R",
    help="Exit 1 when fewer than this share (0–1) of the non-equivalent mutants are killed.",
)
@click.option("-f", "--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@output_option
@device_option
@sandbox_option
@click.option("-q", "--quiet", is_flag=True, help="No progress on standard error.")
def mutate(
    assignment: str | None,
    jobs: int,
    functions: tuple[str, ...],
    operators: tuple[str, ...],
    min_kill_rate: float | None,
    fmt: str,
    output: Path | None,
    device: str,
    sandbox: str,
    quiet: bool,
) -> int:
    """Mutation-test the rubric of ASSIGNMENT (id, rubric file or bundle; default: the course's only assignment).

    Each mutant is the rubric's solution notebook with one function changed in a
    small, plausible way (an autograd mistake students make, or a classic
    arithmetic, constant or comparison change). Every mutant is graded through the
    normal grading path on the items that cover its function; it is killed when one
    of them loses points. Survivors are shown with their diff: behaviours the rubric
    cannot tell apart. Mutants a person reviewed as equivalent are listed, each with
    its reason, in rubrics/<id>.equivalent.yaml beside the rubric.
    """
    from ..mutation.operators import OPERATORS
    from ..mutation.run import run
    from ..report.mutation import render_json, render_text

    if output is not None:
        check_writable(output)
    for name in operators:
        if name not in OPERATORS:
            raise click.BadParameter(
                f"unknown operator {name!r} (the operators: {', '.join(OPERATORS)})", param_hint="--operator"
            )
    show_progress = not quiet and sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if show_progress:
            sys.stderr.write(f"\rgraded {done}/{total}")
            if done == total:
                sys.stderr.write("\n")
            sys.stderr.flush()

    report = run(
        assignment,
        jobs=jobs,
        functions=functions,
        operators=operators,
        device=device,
        sandbox=sandbox,
        progress=progress,
    )
    emit(render_json(report) if fmt == "json" else render_text(report), output)
    if min_kill_rate is not None and report.kill_rate < min_kill_rate:
        click.echo(
            f"grade mutate: kill rate {report.kill_rate:.1%} is below --min-kill-rate {min_kill_rate:.1%}", err=True
        )
        return ExitCode.BELOW
    return ExitCode.OK
