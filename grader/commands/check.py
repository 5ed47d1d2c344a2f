"""``grade check SUBMISSION``: the assignment's public self-checks only."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ExitCode
from ..i18n import N_
from .common import (
    assignment_option,
    check_sandbox_option,
    check_writable,
    device_option,
    emit,
    lang_option,
    output_option,
)

# One line on standard error; --sandbox bubblewrap says why there is none.
UNSANDBOXED = N_(
    "no sandbox on this machine: your notebook ran without isolation, as when you run it yourself "
    "(grading runs it in the sandbox)"
)


@click.command(
    "check",
    epilog=(
        "Exit status: 0 every public check passed, 1 some did not, 2 bad input, 3 the grader failed "
        "or cannot run the notebook here (--sandbox bubblewrap where it is not available; a package the "
        "rubric's packages: lists is not installed: the line says what to pip install)."
    ),
)
@click.argument("submission", type=click.Path(path_type=Path, dir_okay=True, exists=False))
@assignment_option
@click.option("-f", "--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@output_option
@device_option
@check_sandbox_option
@lang_option
def check(
    submission: Path,
    assignment: str | None,
    fmt: str,
    output: Path | None,
    device: str,
    sandbox: str | None,
    lang: str | None,
) -> int:
    """Run the assignment's public checks on SUBMISSION: a self-check before hand-in.

    The public checks never use the inputs of grading. Derived ones (an
    assignment's public_checks.examples) compare your functions, part by part as
    grading does, with the reference's answers on a few fixed inputs; hand-written
    ones (public_checks.py) compare your gradients with finite differences of your
    own functions and with the formulas the exercises state. Passing them is
    necessary, not sufficient. What they cannot decide is reported as "checked
    only at grading".

    Without --sandbox it runs in the bubblewrap sandbox where that works, and
    otherwise (macOS, Windows, Linux without bubblewrap) without one, saying so
    in one line on standard error: it is your own notebook on your own machine.
    """
    from ..i18n import _, language
    from ..report.selfcheck import render_json, render_text
    from ..selfcheck.runner import check_notebook

    if output is not None:
        check_writable(output)
    unsandboxed = False
    if sandbox is None:
        from ..sandbox.launch import BUBBLEWRAP, NO_SANDBOX, bubblewrap_problem

        unsandboxed = bubblewrap_problem() is not None
        sandbox = NO_SANDBOX if unsandboxed else BUBBLEWRAP
    report = check_notebook(str(submission), assignment=assignment, device=device, sandbox=sandbox, lang=lang)
    with language(report.language):
        if unsandboxed:
            click.echo("grade check: " + _(UNSANDBOXED), err=True)
        text = render_json(report) if fmt == "json" else render_text(report)
    emit(text, output)
    return ExitCode.OK if report.all_passed else ExitCode.BELOW
