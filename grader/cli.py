"""The ``grade`` command. Thin: it parses options, calls grade_notebook, renders.

Exit status: 0 graded; 1 graded but below --fail-under; 2 bad input or
command line; 3 the grader itself failed. Standard output carries only the
report; progress and errors go to standard error.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from pathlib import Path

import click

from . import __version__
from .errors import GraderError
from .report import FORMATS

EXIT_GRADED, EXIT_BELOW, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


@click.command(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=(
        "Exit status: 0 graded (whatever the score), 1 graded but below --fail-under, "
        "2 bad input or command line, 3 the grader itself failed."
    ),
)
@click.argument("submission", type=click.Path(path_type=Path, dir_okay=True, exists=False))
@click.option(
    "-a",
    "--assignment",
    metavar="ID_OR_PATH",
    help="Assignment id (rubrics/<id>.yaml) or rubric file. Default: the notebook's metadata, else autograd-basics.",
)
@click.option(
    "-f", "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True, help="Report format."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the report to FILE instead of standard output.",
)
@click.option("--fail-under", type=float, metavar="POINTS", help="Exit with status 1 when the score is below POINTS.")
@click.option(
    "--device",
    type=click.Choice(("auto", "cpu", "cuda")),
    default="auto",
    show_default=True,
    help="Where the student's code runs; auto picks cuda when available.",
)
@click.option(
    "--sandbox",
    type=click.Choice(("bubblewrap", "none")),
    default="bubblewrap",
    show_default=True,
    help="Isolation of the notebook's code. 'none' runs it without isolation: only for trusted notebooks "
    "on machines without namespaces; the report says so.",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    help="Override the rubric's seed (draws other inputs; recorded in the report).",
)
@click.option("--examples", type=click.IntRange(min=1), help="Override the number of generated examples per item.")
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="GRADER_CACHE_DIR",
    help=(
        "Where stored plans (drawn inputs and reference answers) are kept.  "
        "[default: ~/.cache/grader/plans; env GRADER_CACHE_DIR]"
    ),
)
@click.option(
    "--no-cache", is_flag=True, help="Draw every input and rerun the reference; read and write no stored plans."
)
@click.option("-q", "--quiet", is_flag=True, help="No progress on standard error.")
@click.version_option(__version__, "--version", prog_name="grade")
def grade(
    submission: Path,
    assignment: str | None,
    fmt: str,
    output: Path | None,
    fail_under: float | None,
    device: str,
    sandbox: str,
    seed: int | None,
    examples: int | None,
    cache_dir: Path | None,
    no_cache: bool,
    quiet: bool,
) -> int:
    """Grade a Jupyter notebook SUBMISSION against its assignment's rubric."""
    from .grading import Options, grade_notebook
    from .plans import default_directory
    from .report import renderer

    if output is not None:
        _check_writable(output)
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
            plan_cache=None if no_cache else (cache_dir or default_directory()),
        ),
        progress=progress,
    )
    if fmt == "text":
        from .report.text import render_text

        color = output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        text = render_text(report, color=color)
    else:
        text = renderer(fmt)(report)
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        _write_atomically(output, text)
    if fail_under is not None and report.score < fail_under:
        return EXIT_BELOW
    return EXIT_GRADED


def _check_writable(path: Path) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise GraderError(f"--output {path}: the folder {parent} does not exist")
    if path.is_dir():
        raise GraderError(f"--output {path}: is a directory")
    if path.exists() and not path.is_file():
        if not os.access(path, os.W_OK):
            raise GraderError(f"--output {path}: not writable")
        return
    if not os.access(parent, os.W_OK):
        raise GraderError(f"--output {path}: the folder {parent} is not writable")


def _write_atomically(path: Path, text: str) -> None:
    if path.exists() and not path.is_file():
        # /dev/stdout, a FIFO: write into it. Renaming over it would replace the device itself.
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text)
        return
    handle = tempfile.NamedTemporaryFile(
        "w", dir=path.parent or ".", prefix=f".{path.name}.", delete=False, encoding="utf-8"
    )
    try:
        with handle:
            handle.write(text)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> None:
    try:
        code = grade.main(args=argv, prog_name="grade", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = EXIT_USAGE
    except click.Abort:
        click.echo("grade: interrupted", err=True)
        code = 130
    except KeyboardInterrupt:
        click.echo("grade: interrupted", err=True)
        code = 130
    except GraderError as exc:
        click.echo(f"grade: error: {exc}", err=True)
        code = exc.exit_code
    except Exception:
        traceback.print_exc()
        click.echo(
            "grade: internal error: this is a bug in the grader, not in the submission; "
            "please report it with the traceback above",
            err=True,
        )
        code = EXIT_INTERNAL
    sys.exit(code if isinstance(code, int) else EXIT_GRADED)
