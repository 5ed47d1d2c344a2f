"""GitHub Classroom: the ``result`` output of a runner step, which the grading reporter reads.

``classroom-resources/autograding-grading-reporter`` takes each runner's
``result`` (through an env var ``<RUNNER>_RESULTS``), base64-decodes it, parses
the JSON, sends ``sum(tests[].score)`` out of ``max_score`` to Classroom, and
fails the job when ``status`` is "fail" or "error". The shape follows what
``classroom-resources/autograding-io-grader`` emits (``version`` 1, per test
``name``, ``status``, ``message``, ``test_code``, ``filename``, ``line_no``,
``score``).

In a workflow: ``echo "result=$(grade … --format classroom)" >> "$GITHUB_OUTPUT"``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from ..escape import clean
from ..result import ItemResult, Report

# The reporter counts a test as passed only when its status is exactly "pass";
# "error" marks an item whose function never answered (it raised, hung, crashed).
_STATUS = {
    "passed": "pass",
    "failed": "fail",
    "missing": "fail",
    "error": "error",
    "timeout": "error",
    "crashed": "error",
}


def classroom_payload(report: Report) -> dict[str, Any]:
    return {
        "version": 1,
        "status": "pass" if all(item.status == "passed" for item in report.items) else "fail",
        "max_score": _number(report.max_score),
        "tests": [_test(item, clean(report.submission)) for item in report.items],
    }


def render_classroom(report: Report) -> str:
    text = json.dumps(classroom_payload(report), ensure_ascii=False, separators=(",", ":"))
    # b64encode never inserts line breaks, so the value fits one `result=` line of $GITHUB_OUTPUT.
    return base64.b64encode(text.encode("utf-8")).decode("ascii") + "\n"


def _test(item: ItemResult, filename: str) -> dict[str, Any]:
    return {
        "name": clean(f"{item.id}: {item.title}"),
        "status": _STATUS.get(item.status, "error"),
        "message": clean(item.feedback),
        "test_code": clean(f"{item.target}()"),
        "filename": filename,
        # No per-item line: an item checks a function, wherever in the notebook it was defined.
        "line_no": 0,
        "score": _number(item.score),
    }


def _number(value: float) -> int | float:
    """Whole points as integers, so Classroom shows "Points 85/100" rather than "85.0/100.0"."""
    return int(value) if float(value).is_integer() else value
