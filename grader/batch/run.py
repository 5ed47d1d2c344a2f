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
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import GraderError, NotebookError, RubricError
from ..escape import clean
from ..files import write_atomically
from ..notebook import grader_metadata, parse
from .gradebook import write_gradebook, write_summary

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


@dataclass(frozen=True)
class Submission:
    path: Path
    student: str  # from the path the TA gave, never from the notebook: it names the record's file
    sha256: str | None  # None: unreadable here; the grading says why
    declared_student: str | None = None  # metadata.grader.student, shown to the TA, trusted for nothing


@dataclass(frozen=True)
class Settings:
    """What a result depends on besides the notebook: a resumed batch regrades when it changed."""

    assignment: str | None
    seed: int | None
    examples: int | None
    device: str
    sandbox: str

    def key(self) -> dict[str, Any]:
        return {"grader_version": __version__, **self.__dict__}


@dataclass
class Progress:
    total: int
    skipped: int = 0
    done: list[dict[str, Any]] = field(default_factory=list)


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
    read = [(path, *_hash_and_student(path)) for path in paths]
    named = [(path, digest, declared, _safe(path.stem)) for path, digest, declared in read]
    counts: dict[str, int] = {}
    for *_, student in named:
        counts[student] = counts.get(student, 0) + 1
    out: list[Submission] = []
    taken: set[str] = set()
    for path, digest, declared, student in named:
        if counts[student] > 1 and path.parent.name:
            student = _safe(f"{path.parent.name}-{student}")
        candidate, n = student, 1
        while candidate in taken:
            n += 1
            candidate = f"{student}-{n}"
        taken.add(candidate)
        out.append(Submission(path=path, student=candidate, sha256=digest, declared_student=declared))
    return sorted(out, key=lambda s: s.student)


def _hash_and_student(path: Path) -> tuple[str | None, str | None]:
    """The notebook's SHA-256 and the student id it declares (cleaned, for display only)."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > _HASH_LIMIT:
            return None, None
        data = path.read_bytes()
    except OSError:
        return None, None
    digest = hashlib.sha256(data).hexdigest()
    try:
        doc = parse(data, str(path))
    except NotebookError:
        return digest, None  # its grading says what is wrong with it
    student = grader_metadata(doc).get("student")
    if not isinstance(student, str) or not student.strip():
        return digest, None
    return digest, clean(student.strip()[:100])


def _safe(name: str) -> str:
    """A student id that is also a safe file name."""
    cleaned = re.sub(r"[^\w.@+-]+", "_", name.strip(), flags=re.ASCII).strip("._") or "student"
    return cleaned[:100]


def finished(out: Path, submission: Submission, settings: Settings) -> dict[str, Any] | None:
    """The stored record of this very notebook graded with these settings, if there is one."""
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
    return record


def record_of(submission: Submission, result: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """What is stored for one submission: the report of ``grade -f json`` plus a ``batch`` section."""
    batch = {"student": submission.student, "outcome": result["outcome"], "settings": settings.key()}
    if submission.declared_student is not None:
        batch["declared_student"] = submission.declared_student
    if result["outcome"] == "graded":
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
    (out / RECORDS).mkdir(parents=True, exist_ok=True)
    records: dict[str, dict[str, Any]] = {}
    todo: list[Submission] = []
    for submission in chosen:
        kept = finished(out, submission, settings) if resume else None
        if kept is None:
            todo.append(submission)
        else:
            records[submission.student] = kept
    state = Progress(total=len(chosen), skipped=len(records))
    order = [s.student for s in chosen]
    _write_tables(out, order, records)
    for submission, result in pool(todo):
        if result["outcome"] == COURSE_ERROR:
            raise RubricError(
                f"{result['error']} (grade batch stopped: {state.skipped + len(state.done)} of {state.total} "
                f"results are in {out}; once this is fixed, --resume grades the rest)"
            )
        record = records[submission.student] = record_of(submission, result, settings)
        for fmt, text in result.get("renderings", {}).items():  # none for a failed one, which --resume regrades
            write_atomically(out / RECORDS / f"{submission.student}{SUFFIX[fmt]}", text)
        write_atomically(
            out / RECORDS / f"{submission.student}.json", json.dumps(record, indent=2, ensure_ascii=False) + "\n"
        )
        _write_tables(out, order, records)
        state.done.append(record)
        progress(submission, result, state)
    return state


def _write_tables(out: Path, order: list[str], records: dict[str, dict[str, Any]]) -> None:
    rows = [records[student] for student in order if student in records]
    write_atomically(out / "gradebook.csv", write_gradebook(rows))
    write_atomically(out / "summary.json", write_summary(rows, total=len(order)))
