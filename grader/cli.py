"""The ``grade`` command line: registers the commands and handles errors.

``grade SUBMISSION`` grades a notebook (the default command); ``grade batch``,
``grade check``, ``grade assign``, ``grade bundle`` and ``grade mutate`` are the others. Exit status: 0 graded;
1 graded but below --fail-under (``check``: a public check did not pass);
2 bad input or command line; 3 the grader itself failed. Standard output
carries only the report; progress and errors go to standard error.
"""

from __future__ import annotations

import sys
import traceback

import click

from ._version import __version__
from .commands.assign import assign
from .commands.batch import batch
from .commands.bundle import bundle
from .commands.check import check
from .commands.diff import diff
from .commands.export import export
from .commands.grade import grade
from .commands.mutate import mutate
from .commands.new import new
from .commands.plans import plans
from .errors import ExitCode, GraderError

DEFAULT = "notebook"


class _Grade(click.Group):
    """A group whose default command grades: ``grade submit.ipynb`` needs no command name."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help", "--version")):
            args = [DEFAULT, *args]
        return super().parse_args(ctx, args)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        default = self.commands[DEFAULT]
        with click.Context(default, info_name=ctx.info_name, parent=None) as inner:
            default.format_usage(inner, formatter)
            formatter.write_paragraph()
            default.format_help_text(inner, formatter)
            default.format_options(inner, formatter)
        self.format_commands(ctx, formatter)
        default.format_epilog(ctx, formatter)


@click.group(cls=_Grade, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="grade")
def cli() -> None:
    """Grade PyTorch autograd exercises handed in as Jupyter notebooks."""


for command in (grade, batch, check, diff, export, assign, bundle, mutate, new, plans):
    cli.add_command(command)


def _utf8_streams() -> None:
    """Reports and messages hold Polish and math ("ł", "∂"): a stream in a legacy code page (Windows
    output redirected to a file, a cp1252 PYTHONIOENCODING) writes UTF-8 instead of failing on them,
    and what no UTF-8 holds (a lone surrogate a submission slipped past escaping) is written escaped."""
    for stream in (sys.stdout, sys.stderr):
        if not hasattr(stream, "reconfigure"):
            continue
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
        if encoding != "utf8":
            stream.reconfigure(encoding="utf-8")
        stream.reconfigure(errors="backslashreplace")


def _usage_error(exc: click.ClickException) -> str:
    """A wrong command line in one line, naming the command as the user typed it (``grade``, not the
    default command's own name)."""
    message = " ".join(exc.format_message().split()).rstrip(".")
    ctx = getattr(exc, "ctx", None)
    if ctx is None:
        return f"grade: error: {message}"
    command = ctx.command_path.replace(f"grade {DEFAULT}", "grade", 1)
    return f"grade: error: {message} (see '{command} --help')"


def main(argv: list[str] | None = None) -> None:
    _utf8_streams()
    try:
        code = cli.main(args=argv, prog_name="grade", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        click.echo(_usage_error(exc), err=True)
        code = ExitCode.USAGE
    except (click.Abort, KeyboardInterrupt):
        click.echo("grade: interrupted", err=True)
        code = ExitCode.INTERRUPTED
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
        code = ExitCode.INTERNAL
    sys.exit(int(code) if isinstance(code, int) else ExitCode.OK)
