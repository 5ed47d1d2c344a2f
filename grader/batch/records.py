"""Reading back the records of a ``grade batch`` output folder (for ``grade diff`` and ``grade export``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import GraderError
from .run import SUFFIX

# Renderings beside the records that are JSON too (-f gradescope): not records.
_RENDERINGS = tuple(suffix for suffix in SUFFIX.values() if suffix.endswith(".json"))


class BatchFolderError(GraderError):
    """A folder that is not the output of ``grade batch``, or a record in it that is not one."""


def read_records(folder: Path) -> dict[str, dict[str, Any]]:
    """Every stored record of the folder, by student id."""
    reports = folder / "reports"
    if not reports.is_dir():
        raise BatchFolderError(f"{folder}: not a grade batch output folder (no reports/)")
    records = {}
    for path in sorted(reports.glob("*.json")):
        if path.name.endswith(_RENDERINGS):
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            records[str(record["batch"]["student"])] = record
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BatchFolderError(f"{path}: not a grade batch record ({type(exc).__name__})") from None
    return records
