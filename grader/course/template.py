"""Authoring: an instructor's solution notebook becomes the students' template.

In code cells, every region between ``# BEGIN SOLUTION`` and ``# END SOLUTION``
is replaced by ``raise NotImplementedError("…")`` at the region's
indentation (a region at the top level of a cell is simply removed). Cells
tagged ``hidden`` are dropped. Outputs and execution counts are cleared. The
notebook's ``metadata.grader`` keeps only ``assignment``; the stub message
comes from ``metadata.grader.stub_message`` (default "Complete this function").
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from ..errors import GraderError

_BEGIN = re.compile(r"^(?P<indent>[ \t]*)#\s*BEGIN SOLUTION\s*$")
_END = re.compile(r"^[ \t]*#\s*END SOLUTION\s*$")
HIDDEN_TAG = "hidden"
DEFAULT_STUB = "Complete this function"


class AuthoringError(GraderError):
    """The solution notebook's markers do not make sense."""


def strip_solutions(source: str, *, stub: str, where: str) -> str:
    out: list[str] = []
    begun: int | None = None
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        begin, end = _BEGIN.match(line.rstrip("\n")), _END.match(line.rstrip("\n"))
        if begin:
            if begun is not None:
                raise AuthoringError(f"{where}, line {number}: # BEGIN SOLUTION inside another solution region")
            begun = number
            indent = begin.group("indent")
            if indent:
                out.append(f"{indent}raise NotImplementedError({json.dumps(stub, ensure_ascii=False)})\n")
        elif end:
            if begun is None:
                raise AuthoringError(f"{where}, line {number}: # END SOLUTION without # BEGIN SOLUTION")
            begun = None
        elif begun is None:
            out.append(line)
    if begun is not None:
        raise AuthoringError(f"{where}, line {begun}: # BEGIN SOLUTION has no # END SOLUTION")
    text = "".join(out)
    if not source.endswith("\n") and text.endswith("\n"):
        text = text[:-1]  # the cell ended on a marker without a newline: so does the template
    return text


def make_template(solution: dict[str, Any]) -> dict[str, Any]:
    """The students' version of a solution notebook (both as nbformat dicts)."""
    template = copy.deepcopy(solution)
    grader_meta = template.get("metadata", {}).get("grader", {})
    assignment = grader_meta.get("assignment")
    if not isinstance(assignment, str):
        raise AuthoringError("the solution notebook's metadata has no grader.assignment naming its assignment")
    stub = grader_meta.get("stub_message", DEFAULT_STUB)
    template["metadata"]["grader"] = {"assignment": assignment}
    cells = []
    regions = 0
    for index, cell in enumerate(template.get("cells", []), start=1):
        metadata = cell.get("metadata", {})
        if HIDDEN_TAG in metadata.get("tags", []):
            continue
        if cell.get("cell_type") == "code":
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            regions += source.count("BEGIN SOLUTION")
            cell["source"] = strip_solutions(source, stub=stub, where=f"cell {index}")
            cell["outputs"] = []
            cell["execution_count"] = None
        cells.append(cell)
    if regions == 0:
        raise AuthoringError("the solution notebook has no # BEGIN SOLUTION / # END SOLUTION regions")
    template["cells"] = cells
    return template
