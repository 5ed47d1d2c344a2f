"""``grade batch SUBMISSIONS... --out DIR``: grade a whole class in parallel."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import ExitCode, GraderError
from ..files import cannot_write_in
from .common import (
    batch_assignment_option,
    cache_dir_option,
    device_option,
    examples_option,
    lang_option,
    no_cache_option,
    plan_cache,
    sandbox_option,
    seed_option,
)

if TYPE_CHECKING:
    from ..course.rubric import Rubric

EXTRA_FORMATS = ("html", "markdown", "junit", "gradescope", "classroom", "yaml", "text")


@click.command(
    "batch",
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=(
        "Writes OUT/reports/<student>.json (the JSON report of each notebook; other --format "
        "renderings beside it), OUT/gradebook.csv and OUT/summary.json, each atomically as "
        "results arrive, and prints the per-item summary. Each notebook is graded with --assignment, "
        "else with the assignment id of the course its metadata.grader.assignment names (none, a path "
        "or an unknown id: rejected). When, without --assignment, the notebooks name several "
        "assignments, each has its own OUT/gradebook-<id>.csv and OUT/summary-<id>.json, and "
        "OUT/gradebook.csv (student, assignment, submission, sha256, score, max_score, outcome) and "
        "OUT/summary.json index the whole batch. The student id is the notebook's file name (with its "
        "folder's name where names repeat), never what the notebook says. "
        "Exit status: 0 every notebook has a result (a file that is not a gradable notebook gets "
        "its error in the gradebook); 2 bad command line or no notebooks, or the course material is "
        "wrong; 3 the grader failed on "
        "some notebook (shown in the gradebook; --resume retries them), or cannot grade here (no "
        "sandbox; a package of the rubric's packages: not installed, checked before grading); "
        "130 interrupted (every finished result is kept; --resume grades the rest)."
    ),
)
@click.argument("patterns", nargs=-1, required=True, metavar="SUBMISSIONS...")
@click.option(
    "-o", "--out", type=click.Path(path_type=Path, file_okay=False), required=True, help="Folder for the results."
)
@batch_assignment_option
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=lambda: len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
    show_default="the number of CPUs",
    help="Notebooks graded at once (local workers).",
)
@click.option(
    "-f",
    "--format",
    "formats",
    type=click.Choice(EXTRA_FORMATS),
    multiple=True,
    help="Also write this rendering of each report (repeatable): html for students, junit, gradescope, …",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Keep the results already in OUT for the same notebook (same SHA-256), settings and rubric file; "
    "grade the rest (after a rubric fix: what the old rubric graded).",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Run on an existing Dask cluster (tcp://HOST:PORT) instead of local workers; needs grader[dask].",
)
@device_option
@sandbox_option
@lang_option
@seed_option
@examples_option
@cache_dir_option
@no_cache_option
@click.option("-q", "--quiet", is_flag=True, help="No progress on standard error.")
def batch(
    patterns: tuple[str, ...],
    out: Path,
    assignment: str | None,
    jobs: int,
    formats: tuple[str, ...],
    resume: bool,
    scheduler: str | None,
    device: str,
    sandbox: str,
    lang: str | None,
    seed: int | None,
    examples: int | None,
    cache_dir: Path | None,
    no_cache: bool,
    quiet: bool,
) -> int:
    """Grade many notebooks (files, folders, globs) in parallel into a gradebook."""
    from ..batch.run import Settings, collect, run_batch
    from ..course.assignment import resolve
    from ..course.rubric import load_rubric
    from ..grading import Options
    from ..report.summary import assignment_lines, render_summary

    paths = collect(patterns)
    rubric = None
    if assignment is not None:
        rubric = load_rubric(resolve(assignment))  # a wrong --assignment fails now, not 200 times
        if Path(assignment).exists():
            assignment = str(Path(assignment).resolve())  # workers may run elsewhere
    if scheduler is None:  # the notebooks run here: their packages are checked once, now, not in each worker
        _require_packages(rubric, sandbox=sandbox)
    _make_out(out)
    graded_with = assignment
    if scheduler is None and assignment is not None and assignment.endswith(".zip"):
        # The bundle was checked and unpacked once, here: local workers read that folder (removed when the
        # batch ends) instead of each unpacking it again. The settings keep naming the bundle.
        graded_with = str(resolve(assignment))
    options = Options(
        assignment=graded_with,
        device=device,
        sandbox=sandbox,
        seed=seed,
        examples=examples,
        plan_cache=plan_cache(cache_dir, no_cache=no_cache),
        warm_children=True,
        check_packages=scheduler is not None,  # on a Dask cluster each worker checks its own interpreter
        guess_assignment=False,  # a class is graded against the assignment the TA or each notebook names
        language=lang,
    )
    settings = Settings(
        assignment=assignment, seed=seed, examples=examples, device=device, sandbox=sandbox, language=lang
    )
    pool = _pool(scheduler, options=options, formats=formats, jobs=min(jobs, len(paths)))
    shown = _Progress(enabled=not quiet)
    try:
        with shown:
            state = run_batch(
                paths, out=out, settings=settings, formats=formats, resume=resume, pool=pool, progress=shown.update
            )
    except KeyboardInterrupt:
        pool.close()  # stop the workers first: nothing of theirs prints after this line
        click.echo(
            f"grade: interrupted: the finished results are in {out}; rerun with --resume to grade the rest", err=True
        )
        return ExitCode.INTERRUPTED
    finally:
        pool.close()
    # The stored summary is the one printed: the same for a resumed batch as for one that ran through.
    stored = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    sys.stdout.write(render_summary(stored))
    if state.skipped:
        click.echo(f"{state.skipped} kept from an earlier run (--resume)", err=True)
    if rubric is not None:
        # --assignment wins for every notebook; a notebook that names another assignment is graded against it
        # anyway, and most likely scores nothing: said, not left for the TA to find in the gradebook.
        others = {a: n for a, n in state.declared.items() if a != rubric.assignment}
        if others:
            named = ", ".join(f"{n} {a}" for a, n in others.items())
            click.echo(
                f"grade batch: notebooks that name another assignment ({named}) were graded as "
                f"{rubric.assignment}, as --assignment says; grade them without it, or with their own",
                err=True,
            )
    graded_as = rubric.assignment if rubric is not None else state.named
    for line in assignment_lines(stored, folder=str(out), assignment=graded_as):
        click.echo(line, err=True)
    failed = [r for r in state.done if r["batch"]["outcome"] == "failed"]
    for record in failed:
        click.echo(f"grade: {record['batch']['student']}: not graded: {record['error']}", err=True)
    return ExitCode.INTERNAL if failed else ExitCode.OK


def _require_packages(rubric: Rubric | None, *, sandbox: str) -> None:
    """The rubric's ``packages:`` importable here; without --assignment, those of every assignment of the
    course, since each notebook may name any of them (a rubric that does not load is left to its notebooks)."""
    from ..course.assignment import known_assignments, resolve
    from ..course.rubric import load_rubric
    from ..errors import RubricError
    from ..sandbox.packages import require_packages

    rubrics = [rubric] if rubric is not None else []
    if rubric is None:
        for known in known_assignments():
            try:
                rubrics.append(load_rubric(resolve(known)))
            except RubricError:
                continue
    require_packages([package for r in rubrics for package in r.packages], sandbox=sandbox)


def _make_out(out: Path) -> None:
    """The results folder, made if need be; refused in one line before any grading if it cannot be."""
    if out.exists() and not out.is_dir():
        raise GraderError(f"--out {out}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GraderError(f"--out {out}: cannot create it ({exc.strerror})") from None
    from ..batch.run import RECORDS

    for folder in (out, out / RECORDS):
        why = cannot_write_in(folder, make=True)
        if why is not None:
            raise GraderError(f"--out {out}: cannot write in {folder} ({why})")


def _pool(scheduler: str | None, *, options: Any, formats: tuple[str, ...], jobs: int) -> Any:
    """Local warm workers (the sandbox is required here), or the Dask cluster at ``scheduler``."""
    if scheduler is None:
        from ..batch.workers import LocalPool
        from ..sandbox.launch import require as require_sandbox

        require_sandbox(options.sandbox)
        return LocalPool(jobs=jobs, options=options, formats=formats)
    from ..batch.workers import DaskPool

    return DaskPool(scheduler, options=options, formats=formats)


class _Progress:
    """Counts and ETA on standard error: a live bar on a terminal, one line per notebook elsewhere."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.live = enabled and sys.stderr.isatty()
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(
                TextColumn("grading"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                TextColumn("{task.description}", markup=False),
                console=Console(stderr=True),
                transient=False,
            )
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def update(self, submission: Any, result: dict[str, Any] | None, state: Any) -> None:
        if not self.enabled:
            return
        from ..escape import clean

        done = state.skipped + len(state.done)
        record = state.done[-1]
        outcome = record["batch"]["outcome"]
        what = f"{record['score']:g}/{record['max_score']:g}" if outcome == "graded" else outcome
        line = f"{clean(submission.student)} {what}"
        if self._bar is not None:
            if self._task is None:
                self._task = self._bar.add_task("", total=state.total - state.skipped)
            self._bar.update(self._task, advance=1, description=line)
        else:
            click.echo(f"[{done}/{state.total}] {line}", err=True)
