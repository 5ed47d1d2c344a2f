"""``grade batch``: grade a class, write one record per student and a gradebook.

The pipeline: find the notebooks (files, folders, globs), give each a student
id (its file name, with its folder's name in front where names repeat), skip
those already graded for the same notebook hash when resuming, hand the rest
to a pool of workers (local processes or a Dask cluster, see
``grader.workers``), and write each result the moment it arrives: its record
in ``OUT/reports/<student>.json``, its other renderings beside it, and the
gradebook and summary rewritten from every record so far. Each write is
atomic, so an interrupted batch (Ctrl-C, a killed worker, a killed grader)
leaves every finished result on disk and ``--resume`` picks up from there.

A batch without ``--assignment`` whose notebooks name several assignments of
the course gets one gradebook and summary per assignment
(``OUT/gradebook-<id>.csv``, ``OUT/summary-<id>.json``), and
``OUT/gradebook.csv`` and ``OUT/summary.json`` become the index of the whole
batch (see ``Layout``). Each notebook is still graded with the rubric its own
metadata names, chosen by the grading itself (``for_notebook``): the id read
here only says in which gradebook its row goes.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import json
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import GraderError, NotebookError, RubricError
from ..escape import clean
from ..files import tree_digest, write_atomically
from ..notebook import grader_metadata, parse
from .gradebook import summary, write_gradebook, write_index, write_overview, write_summary

RECORDS = "reports"
SUFFIX = {
    "text": ".txt",
    "yaml": ".yaml",
    "junit": ".xml",
    "markdown": ".md",
    "html": ".html",
    "gradescope": ".gradescope.json",
    "classroom": ".classroom.txt",
}
_HASH_LIMIT = 64 << 20  # larger notebooks are refused by the grading itself; never skipped
# A grading's outcome when the course material is wrong (the rubric, its reference): never a notebook's record.
COURSE_ERROR = "course error"
# The assignments (ids, rubric files) whose references a local batch's fork server imports (grader.batch.preload).
PRELOAD_ASSIGNMENTS = "GRADER_BATCH_ASSIGNMENTS"


@dataclass(frozen=True)
class Submission:
    path: Path
    student: str  # from the path the TA gave, never from the notebook: it names the record's file
    sha256: str | None  # None: unreadable here; the grading says why
    declared_student: str | None = None  # metadata.grader.student, shown to the TA, trusted for nothing
    # metadata.grader.assignment when it is an id of this course (``declared_id``), else None: the gradebook
    # its row goes in. It chooses no rubric: the grading reads the notebook and chooses (``for_notebook``).
    assignment: str | None = None


@dataclass(frozen=True)
class Settings:
    """What a result depends on besides the notebook: a resumed batch regrades when it changed."""

    assignment: str | None
    seed: int | None
    examples: int | None
    device: str
    sandbox: str
    language: str | None = None  # grade batch --lang; None: each rubric's language:

    def key(self) -> dict[str, Any]:
        # The grader's own code too: its version stays the same between releases, its behaviour need not.
        return {"grader_version": __version__, "grader_code": grader_code(), **self.__dict__}


@functools.cache
def grader_code() -> str:
    """A digest of the grader's Python code (this installation's)."""
    return tree_digest(Path(__file__).resolve().parent.parent, "*.py")[:16]


@dataclass(frozen=True)
class Layout:
    """Which gradebooks a batch writes.

    One assignment (``--assignment``, or every notebook that names one names the same): today's
    ``OUT/gradebook.csv`` and ``OUT/summary.json``, ``assignments`` empty. Several (no
    ``--assignment``, notebooks naming different ids of the course): per assignment
    ``OUT/gradebook-<id>.csv`` and ``OUT/summary-<id>.json``, with ``OUT/gradebook.csv`` and
    ``OUT/summary.json`` the index of every notebook (its assignment, total and outcome). A notebook
    that names no assignment of the course is only in the index. Decided from the notebooks before
    anything is graded, so a resumed batch writes the same files.
    """

    assignments: tuple[str, ...] = ()

    @staticmethod
    def of(chosen: Sequence[Submission], settings: Settings) -> Layout:
        if settings.assignment is not None:
            return Layout()  # the TA's choice wins for every notebook: one gradebook
        named = sorted({s.assignment for s in chosen if s.assignment is not None})
        return Layout(tuple(named) if len(named) > 1 else ())

    @property
    def per_assignment(self) -> bool:
        return bool(self.assignments)

    @staticmethod
    def gradebook(assignment: str) -> str:
        return f"gradebook-{assignment}.csv"

    @staticmethod
    def summary(assignment: str) -> str:
        return f"summary-{assignment}.json"


@dataclass
class Progress:
    total: int
    skipped: int = 0
    done: list[dict[str, Any]] = field(default_factory=list)
    named: str | None = None  # the one assignment the notebooks name, when they name one (one gradebook)
    declared: dict[str, int] = field(default_factory=dict)  # how many notebooks name each assignment of the course


def collect(patterns: Sequence[str]) -> list[Path]:
    """Files as given; folders searched for ``*.ipynb``; globs expanded. Sorted, without repeats."""
    found: list[Path] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*.ipynb")
                if ".ipynb_checkpoints" not in p.parts
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif glob.has_magic(pattern):
            matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True))
            if not matches:
                raise GraderError(f"{pattern}: matches no file")
            found += [p for p in matches if not p.is_dir()]
        elif path.exists() or path.is_symlink():
            found.append(path)  # whatever it is, its grading says what is wrong with it
        else:
            raise GraderError(f"{pattern}: no such file or folder")
    unique: dict[str, Path] = {}
    for path in found:
        unique.setdefault(os.path.abspath(path), path)
    if not unique:
        raise GraderError(f"no notebooks (*.ipynb) in {', '.join(patterns)}")
    return list(unique.values())


def submissions(paths: Sequence[Path]) -> list[Submission]:
    """Each notebook with its student id and hash; ids made unique in a stable way.

    The id is the file name, with the folder's name in front where file names
    repeat (nbgrader's ``<student>/<assignment>.ipynb``). It names the record's
    file, so it comes from the path the TA gave, never from what the notebook
    says: a student who writes a classmate's id into ``metadata.grader.student``
    gets that value shown beside their own record, nothing more.
    """
    read = [(path, *_hash_and_metadata(path)) for path in paths]
    named = [(path, digest, declared, assignment, _safe(path.stem)) for path, digest, declared, assignment in read]
    counts: dict[str, int] = {}
    for *_, student in named:
        counts[student] = counts.get(student, 0) + 1
    out: list[Submission] = []
    taken: set[str] = set()
    for path, digest, declared, assignment, student in named:
        if counts[student] > 1 and path.parent.name:
            student = _safe(f"{path.parent.name}-{student}")
        candidate, n = student, 1
        while candidate in taken:
            n += 1
            candidate = f"{student}-{n}"
        taken.add(candidate)
        out.append(
            Submission(path=path, student=candidate, sha256=digest, declared_student=declared, assignment=assignment)
        )
    return sorted(out, key=lambda s: s.student)


def _hash_and_metadata(path: Path) -> tuple[str | None, str | None, str | None]:
    """The notebook's SHA-256, the student id it declares (cleaned, for display only) and the assignment
    it names when that is an id of this course (a path, a bundle or an unknown id: None, and its grading
    rejects it)."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > _HASH_LIMIT:
            return None, None, None
        data = path.read_bytes()
    except OSError:
        return None, None, None
    digest = hashlib.sha256(data).hexdigest()
    try:
        doc = parse(data, str(path))
    except NotebookError:
        return digest, None, None  # its grading says what is wrong with it
    metadata = grader_metadata(doc)
    student = metadata.get("student")
    declared = clean(student.strip()[:100]) if isinstance(student, str) and student.strip() else None
    return digest, declared, _course_id(metadata.get("assignment"), str(path))


def _course_id(value: object, notebook: str) -> str | None:
    """``metadata.grader.assignment`` if the course has that id (the one rule, ``declared_id``), else None."""
    from ..course.assignment import declared_id  # imports the authoring API: only when a notebook names one

    if not isinstance(value, str):
        return None
    try:
        return declared_id(value, notebook)
    except NotebookError:
        return None


def _safe(name: str) -> str:
    """A student id that is also a safe file name: letters of any script (``Śliwa``), digits, ``.@+-_``."""
    cleaned = re.sub(r"[^\w.@+-]+", "_", unicodedata.normalize("NFC", name.strip())).strip("._") or "student"
    return cleaned[:100]


def finished(
    out: Path, submission: Submission, settings: Settings, formats: Sequence[str] = ()
) -> dict[str, Any] | None:
    """The stored record of this very notebook graded with these settings, with a rendering in each of
    ``formats`` beside it (one asked for now, and not then, means grading it again), if there is one."""
    if submission.sha256 is None:
        return None
    try:
        record = json.loads((out / RECORDS / f"{submission.student}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    batch = record.get("batch") if isinstance(record, dict) else None
    if not isinstance(batch, dict) or batch.get("settings") != settings.key():
        return None
    if record.get("sha256") != submission.sha256 or batch.get("outcome") not in ("graded", "rejected"):
        return None
    if batch.get("outcome") == "graded" and not _same_rubric(record, settings):
        return None
    if batch.get("outcome") == "graded" and not all(
        (out / RECORDS / f"{submission.student}{SUFFIX[fmt]}").is_file() for fmt in formats
    ):
        return None
    return record


def _same_rubric(record: dict[str, Any], settings: Settings) -> bool:
    """The record was graded with the rubric file and the reference package the batch would use now: a
    rubric or a reference fixed since is a regrade."""
    graded_with = (record.get("environment") or {}).get("rubric_sha256")
    reference = (record.get("batch") or {}).get("reference_sha256")
    name = settings.assignment if settings.assignment is not None else record.get("assignment")
    if not isinstance(graded_with, str) or not isinstance(name, str) or graded_with != _rubric_digest(name):
        return False
    return isinstance(reference, str) and reference == _reference_digest(name)


@functools.lru_cache(maxsize=64)
def _reference_digest(name: str) -> str | None:
    from ..course.assignment import resolve
    from ..course.rubric import load_rubric

    try:
        return tree_digest(load_rubric(resolve(name)).reference)
    except (GraderError, OSError):
        return None


@functools.lru_cache(maxsize=64)
def _rubric_digest(name: str) -> str | None:
    from ..course.assignment import resolve
    from ..course.rubric import load_rubric

    try:
        return load_rubric(resolve(name)).sha256
    except (GraderError, OSError):
        return None


def record_of(submission: Submission, result: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """What is stored for one submission: the report of ``grade -f json`` plus a ``batch`` section."""
    batch = {"student": submission.student, "outcome": result["outcome"], "settings": settings.key()}
    if submission.declared_student is not None:
        batch["declared_student"] = submission.declared_student
    if result["outcome"] == "graded":
        graded_with = settings.assignment if settings.assignment is not None else result["report"].get("assignment")
        batch["reference_sha256"] = _reference_digest(str(graded_with)) if graded_with else None
        return {**result["report"], "batch": batch}
    return {
        "submission": str(submission.path),
        "sha256": submission.sha256,
        "error": result["error"],
        "batch": batch,
    }


def run_batch(
    paths: Sequence[Path],
    *,
    out: Path,
    settings: Settings,
    formats: Sequence[str],
    resume: bool,
    pool: Callable[[list[Submission]], Iterable[tuple[Submission, dict[str, Any]]]],
    progress: Callable[[Submission, dict[str, Any] | None, Progress], None] = lambda *_: None,
) -> Progress:
    """Grades ``paths`` with ``pool``; every record is on disk the moment it is known.

    An error in the course material stops the batch (``RubricError``, exit 2): it would be the same for
    every notebook, and it is the instructor's, not the student's. Nothing is recorded for the notebook
    that met it; every finished record stays, and ``--resume`` grades the rest once it is fixed.
    """
    chosen = submissions(paths)
    layout = Layout.of(chosen, settings)
    (out / RECORDS).mkdir(parents=True, exist_ok=True)
    records: dict[str, dict[str, Any]] = {}
    todo: list[Submission] = []
    for submission in chosen:
        kept = finished(out, submission, settings, formats) if resume else None
        if kept is None:
            todo.append(submission)
        else:
            records[submission.student] = kept
    named = {s.assignment for s in chosen if s.assignment is not None}
    state = Progress(
        total=len(chosen),
        skipped=len(records),
        named=next(iter(named)) if len(named) == 1 and settings.assignment is None else None,
        declared=dict(sorted(Counter(s.assignment for s in chosen if s.assignment is not None).items())),
    )
    _write_tables(out, layout, chosen, records)
    for submission, result in pool(_each_assignment_first(todo) if layout.per_assignment else todo):
        if result["outcome"] == COURSE_ERROR:
            raise RubricError(
                f"{result['error']} (grade batch stopped: {state.skipped + len(state.done)} of {state.total} "
                f"results are in {out}; once this is fixed, --resume grades the rest)"
            )
        record = records[submission.student] = record_of(submission, result, settings)
        try:
            for fmt, text in result.get("renderings", {}).items():  # none for a failed one, which --resume regrades
                write_atomically(out / RECORDS / f"{submission.student}{SUFFIX[fmt]}", text)
            write_atomically(
                out / RECORDS / f"{submission.student}.json", json.dumps(record, indent=2, ensure_ascii=False) + "\n"
            )
            _write_tables(out, layout, chosen, records, only={submission.assignment} - {None})
        except OSError as exc:
            raise GraderError(
                f"{out}: cannot write {submission.student}'s result ({exc.strerror or exc}): grade batch stopped, "
                f"{state.skipped + len(state.done)} of {state.total} results are in {out}; --resume grades the rest"
            ) from None
        state.done.append(record)
        progress(submission, result, state)
    return state


def _each_assignment_first(todo: list[Submission]) -> list[Submission]:
    """The first notebook of each assignment, then the rest, in order: the first gradings of a batch
    draw each assignment's plans (and import its reference) side by side, instead of several workers
    drawing the same assignment's plans at once while the next assignment waits for a free one."""
    first: dict[str, Submission] = {}
    for submission in todo:
        if submission.assignment is not None:
            first.setdefault(submission.assignment, submission)
    ahead = set(map(id, first.values()))
    return [*first.values(), *(s for s in todo if id(s) not in ahead)]


def _class_page(rows: list[dict[str, Any]], total: int, assignment: str | None = None) -> str:
    """summary.html: the score distribution, pass rates and the class's named mistakes, for the lecturer."""
    from ..report.class_page import render_class_page

    titles = sorted({str(row["title"]) for row in rows if row.get("title")})
    title = titles[0] if len(titles) == 1 else (assignment or "grade batch")
    return render_class_page(summary(rows, total=total), title=title)


def _write_tables(
    out: Path,
    layout: Layout,
    chosen: list[Submission],
    records: dict[str, dict[str, Any]],
    *,
    only: set[str | None] | None = None,
) -> None:
    """The gradebooks and summaries from every record so far; ``only``: of these assignments (and the index)."""
    rows = [(s, records[s.student]) for s in chosen if s.student in records]
    if not layout.per_assignment:
        write_atomically(out / "gradebook.csv", write_gradebook([row for _, row in rows]))
        write_atomically(out / "summary.json", write_summary([row for _, row in rows], total=len(chosen)))
        write_atomically(out / "summary.html", _class_page([row for _, row in rows], len(chosen)))
        return
    groups: dict[str, tuple[list[dict[str, Any]], int]] = {}
    for assignment in layout.assignments:
        of_it = [row for s, row in rows if s.assignment == assignment]
        groups[assignment] = (of_it, sum(1 for s in chosen if s.assignment == assignment))
        if only is None or assignment in only:
            write_atomically(out / layout.gradebook(assignment), write_gradebook(of_it))
            write_atomically(out / layout.summary(assignment), write_summary(of_it, total=groups[assignment][1]))
            page = layout.summary(assignment).removesuffix(".json") + ".html"
            write_atomically(out / page, _class_page(of_it, groups[assignment][1], assignment))
    unassigned = [row for s, row in rows if s.assignment is None]
    write_atomically(out / "gradebook.csv", write_index([(s.assignment, row) for s, row in rows]))
    write_atomically(
        out / "summary.json",
        write_overview(
            {a: (layout.gradebook(a), layout.summary(a), *groups[a]) for a in layout.assignments},
            unassigned=(unassigned, sum(1 for s in chosen if s.assignment is None)),
        ),
    )
