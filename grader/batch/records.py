"""Reading back the records of a ``grade batch`` output folder (for ``grade diff`` and ``grade export``)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from ..errors import GraderError
from ..escape import from_spreadsheet_safe
from .run import SUFFIX

# Renderings beside the records that are JSON too (-f gradescope): not records.
_RENDERINGS = tuple(suffix for suffix in SUFFIX.values() if suffix.endswith(".json"))


class BatchFolderError(GraderError):
    """A folder that is not the output of ``grade batch``, or a record in it that is not one."""


def read_records(folder: Path) -> dict[str, dict[str, Any]]:
    """The records of the folder's last batch, by student id.

    ``reports/`` may also keep records of notebooks an earlier batch into the same folder graded and the
    last one did not (a notebook removed, renamed, or moved to another student): only the students of the
    batch's ``gradebook.csv`` (its index, for several assignments) count, where there is one.
    """
    reports = folder / "reports"
    if not reports.is_dir():
        raise BatchFolderError(f"{folder}: not a grade batch output folder (no reports/)")
    current = _listed(folder / "gradebook.csv")
    records = {}
    for path in sorted(reports.glob("*.json")):
        if path.name.endswith(_RENDERINGS) or (current is not None and path.stem not in current):
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            records[str(record["batch"]["student"])] = record
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BatchFolderError(f"{path}: not a grade batch record ({type(exc).__name__})") from None
    return records


def _listed(gradebook: Path) -> set[str] | None:
    """The student ids of a gradebook (as ``spreadsheet_safe`` wrote them, read back); None without one."""
    try:
        with gradebook.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise BatchFolderError(f"{gradebook}: cannot be read ({type(exc).__name__})") from None
    return {from_spreadsheet_safe(row.get("student") or "") for row in rows}
