"""Gradescope's ``results.json``, written by an autograder's ``run_autograder`` to /autograder/results/.

Format: https://gradescope-autograders.readthedocs.io/en/latest/specs/ (top-level ``score``,
``output``, ``stdout_visibility``; per test ``name``, ``number``, ``score``, ``max_score``,
``status``, ``output``, ``visibility``).
"""

from __future__ import annotations

import json
from typing import Any

from ..escape import clean
from ..result import ItemResult, Report
from .text import (  # the text report's notes are the notebook summary students need
    _notebook_notes,
    points,
    snippet_lead,
    snippet_of,
)


def render_gradescope(report: Report) -> str:
    summary = [f"{report.title}: {points(report.score)}/{points(report.max_score)}"]
    summary += _notebook_notes(report)
    results: dict[str, Any] = {
        "score": report.score,
        "output": clean("\n".join(summary)),
        # Plain text: "simple_format" (the default) and "html" would let student text become markup.
        "output_format": "text",
        "test_output_format": "text",
        "stdout_visibility": "hidden",
        "tests": [_test(item) for item in report.items],
    }
    return json.dumps(results, indent=2, ensure_ascii=False) + "\n"


def _test(item: ItemResult) -> dict[str, Any]:
    output = clean(item.feedback)
    code = snippet_of(item)
    if code is not None:
        output += f"\n\n{snippet_lead()}\n\n{clean(code)}"
    return {
        "name": clean(f"{item.id}: {item.title}"),
        "number": item.id,
        "score": item.score,
        "max_score": item.max_score,
        "status": "passed" if item.status == "passed" else "failed",
        "output": output,
        "visibility": "visible",
        "extra_data": {"status": item.status},
    }
