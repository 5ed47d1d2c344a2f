"""A batch's grades as a file an LMS imports as it is: Moodle's grade import CSV, Canvas's gradebook CSV.

The roster maps our student ids (the names ``grade batch`` gave the notebooks)
to LMS identities. It is a CSV with a header and a ``student`` column; Moodle
needs one identifier column (``email``, ``idnumber`` or ``username``), Canvas
the columns of its gradebook (``name``, ``id``, ``sis_user_id``,
``sis_login_id``, ``section``; at least one of the three ids per student).

Nobody is dropped silently: roster students without a graded notebook get an
empty cell (both importers leave the grade as it was) and, like notebooks of
students the roster lacks, are listed in ``Export.missing``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from ..errors import GraderError
from .records import read_records

TARGETS = ("moodle", "canvas")
# Moodle's names for the user fields its grade import can match on.
MOODLE_IDS = {"email": "Email address", "idnumber": "ID number", "username": "Username"}
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
_CANVAS_ROSTER = ("name", "id", "sis_user_id", "sis_login_id", "section")


class ExportError(GraderError):
    """The grades folder or the roster cannot be exported as asked."""


@dataclass(frozen=True)
class Export:
    text: str
    rows: int
    missing: tuple[str, ...]  # one line per kind of problem, for standard error


def read_grades(folder: Path, assignment: str | None) -> tuple[str, dict[str, dict]]:
    """The assignment and its records by student id, from a ``grade batch`` output folder."""
    records = read_records(folder)
    found = sorted({r["assignment"] for r in records.values() if r.get("assignment")})
    if assignment is None:
        if len(found) > 1:
            raise ExportError(f"{folder} holds several assignments ({', '.join(found)}): choose one with --assignment")
        assignment = found[0] if found else None
    if assignment is None or assignment not in found:
        raise ExportError(f"{folder}: no graded notebook of assignment {assignment!r} (found: {', '.join(found)})")
    chosen = {s: r for s, r in records.items() if r.get("assignment") in (assignment, None)}
    return assignment, chosen


def read_roster(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = [_clean(row) for row in csv.DictReader(handle)]  # a trailing comma's extra field dropped
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ExportError(f"{path}: cannot read the roster: {exc}") from None
    if not rows or "student" not in rows[0]:
        raise ExportError(f"{path}: the roster needs a header with a 'student' column (our student ids)")
    seen: set[str] = set()
    for number, row in enumerate(rows, start=2):
        if not row["student"]:
            raise ExportError(f"{path}, line {number}: no student id")
        if row["student"] in seen:
            raise ExportError(f"{path}, line {number}: student {row['student']!r} is listed twice")
        seen.add(row["student"])
    return rows


def _clean(row: dict) -> dict[str, str]:
    return {(key or "").strip().lower(): (value or "").strip() for key, value in row.items() if isinstance(value, str)}


def export(
    records: dict[str, dict],
    roster: list[dict[str, str]],
    *,
    to: str,
    item: str,
    max_points: float | None = None,
    id_column: str | None = None,
) -> Export:
    """The import file for ``to`` with one row per roster student, and who is missing on either side."""
    left = "no row: the grade in Moodle stays" if to == "moodle" else "cell left empty"
    grades, missing = _grades(records, roster, max_points, left=left)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if to == "moodle":
        column = _moodle_id(roster, id_column)
        writer.writerow([MOODLE_IDS[column], item])
        for row in roster:
            # Moodle's import clears a grade given as an empty cell: a student without one is left out of the
            # file (and listed on standard error), so the grade Moodle already has stays.
            if row["student"] in grades:
                writer.writerow([row[column], grades[row["student"]]])
    else:
        writer.writerow([*CANVAS_COLUMNS, item])
        points = _number(max_points) if max_points is not None else _points_possible(records)
        writer.writerow(["Points Possible", "", "", "", "", points])
        for row in roster:
            if not any(row.get(key) for key in ("id", "sis_user_id", "sis_login_id")):
                raise ExportError(f"roster: student {row['student']!r} has none of id, sis_user_id, sis_login_id")
            writer.writerow([*(row.get(key, "") for key in _CANVAS_ROSTER), grades.get(row["student"], "")])
    return Export(buffer.getvalue(), len(roster), tuple(missing))


def _grades(
    records: dict[str, dict], roster: list[dict[str, str]], max_points: float | None, *, left: str
) -> tuple[dict[str, str], list[str]]:
    grades: dict[str, str] = {}
    no_notebook, not_graded = [], []
    for row in roster:
        record = records.get(row["student"])
        if record is None:
            no_notebook.append(row["student"])
        elif record["batch"]["outcome"] != "graded":
            not_graded.append(f"{row['student']} ({record['batch']['outcome']})")
        else:
            score, out_of = float(record["score"]), float(record["max_score"])
            grades[row["student"]] = _number(score if max_points is None else score / out_of * max_points)
    listed = {row["student"] for row in roster}
    unlisted = sorted(set(records) - listed)
    missing = []
    if no_notebook:
        missing.append(f"no graded notebook ({left}): {', '.join(no_notebook)}")
    if not_graded:
        missing.append(f"notebook not graded ({left}): {', '.join(not_graded)}")
    if unlisted:
        missing.append(f"not in the roster (not exported): {', '.join(unlisted)}")
    return grades, missing


def _moodle_id(roster: list[dict[str, str]], id_column: str | None) -> str:
    if id_column is not None:
        if id_column not in MOODLE_IDS:
            raise ExportError(f"--id-column must be one of {', '.join(MOODLE_IDS)}, not {id_column!r}")
        columns = [id_column]
    else:
        columns = [c for c in MOODLE_IDS if c in roster[0]]
    if not columns or columns[0] not in roster[0]:
        raise ExportError(f"roster: Moodle needs an identifier column, one of {', '.join(MOODLE_IDS)}")
    empty = [row["student"] for row in roster if not row[columns[0]]]
    if empty:
        raise ExportError(f"roster: no {columns[0]} for {', '.join(empty)}")
    return columns[0]


def _points_possible(records: dict[str, dict]) -> str:
    maxima = {float(r["max_score"]) for r in records.values() if r["batch"]["outcome"] == "graded"}
    return _number(maxima.pop()) if len(maxima) == 1 else ""


def _number(value: float) -> str:
    """Points as an LMS reads them: at most two decimals, never in exponent form (1000000, not 1e+06)."""
    text = f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text
