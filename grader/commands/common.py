"""Options and output handling shared by the commands."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..errors import GraderError
from ..files import cannot_write_in, write_atomically
from ..i18n import LANGUAGES
from ..sandbox.launch import DEVICES, SANDBOXES


def _assignment_option(default: str):
    return click.option(
        "-a",
        "--assignment",
        metavar="ID_OR_PATH",
        help="Assignment id (rubrics/<id>.yaml), rubric file or bundle (.zip); always wins over the notebook. "
        f"Default: the id in the notebook's metadata (only an id of the course, never a path), {default}.",
    )


assignment_option = _assignment_option("else the course's only assignment")
batch_assignment_option = _assignment_option("else the notebook is rejected")
device_option = click.option(
    "--device",
    type=click.Choice(DEVICES),
    default=DEVICES[0],
    show_default=True,
    help="Where the student's code runs; auto picks cuda when available.",
)
sandbox_option = click.option(
    "--sandbox",
    type=click.Choice(SANDBOXES),
    default=SANDBOXES[0],
    show_default=True,
    help="Isolation of the notebook's code. 'none' runs it without isolation: only for trusted notebooks "
    "on machines without namespaces; the report says so.",
)
# grade check: a self-check runs the student's own notebook on their own machine (macOS and Windows have
# no bubblewrap), so without --sandbox it runs unsandboxed where bubblewrap is unusable, and says so.
check_sandbox_option = click.option(
    "--sandbox",
    type=click.Choice(SANDBOXES),
    help=f"Isolation of the notebook's code. Default: {SANDBOXES[0]} where it works here, else none (macOS, "
    "Linux without bubblewrap), said in one line on standard error: your own notebook on your own "
    f"machine. --sandbox {SANDBOXES[0]} refuses (exit 3) where it is not available, saying why.",
)
lang_option = click.option(
    "--lang",
    "lang",
    type=click.Choice(LANGUAGES),
    envvar="GRADER_LANG",
    help="Language of what the student reads (feedback, headings); default: $GRADER_LANG, else the rubric's language:.",
)
seed_option = click.option(
    "--seed",
    type=click.IntRange(min=0),
    help="Override the rubric's seed (draws other inputs; recorded in the report).",
)
examples_option = click.option(
    "--examples", type=click.IntRange(min=1), help="Override the number of generated examples per item."
)
cache_dir_option = click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="GRADER_CACHE_DIR",
    help=(
        "Where stored plans (drawn inputs and reference answers) are kept.  "
        "[default: ~/.cache/grader/plans; env GRADER_CACHE_DIR]"
    ),
)
no_cache_option = click.option(
    "--no-cache", is_flag=True, help="Draw every input and rerun the reference; read and write no stored plans."
)


def plan_cache(cache_dir: Path | None, *, no_cache: bool) -> Path | None:
    """Where a command's gradings keep stored plans: None draws everything afresh."""
    from ..judging.plans import default_directory

    return None if no_cache else (cache_dir or default_directory())


output_option = click.option(
    "-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write to FILE instead of standard output."
)


def check_writable(path: Path) -> None:
    """Refuses an --output that cannot be written, before any work is done."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise GraderError(f"--output {path}: the folder {parent} does not exist")
    if path.is_dir():
        raise GraderError(f"--output {path}: is a directory")
    if path.exists() and not path.is_file():
        if not os.access(path, os.W_OK):
            raise GraderError(f"--output {path}: not writable")
        return
    why = cannot_write_in(parent)
    if why is not None:
        raise GraderError(f"--output {path}: the folder {parent} is not writable ({why})")


def emit(text: str, output: Path | None) -> None:
    """``text`` to ``output``, else standard output; where ``output`` fails after all (a full disk), the text
    goes to standard output instead, with the reason in one line (exit 2): nothing graded is lost."""
    if output is not None:
        try:
            write_atomically(output, text)
            return
        except OSError as exc:
            sys.stdout.write(text)
            sys.stdout.flush()
            why = f"cannot write it ({exc.strerror or exc}): written to standard output instead"
            raise GraderError(f"--output {output}: {why}") from None
    sys.stdout.write(text)
    sys.stdout.flush()
