"""``grade diff`` on two batch folders written here (the records as ``grade batch`` stores them).

What a TA reads after a regrade of a mixed class: a rubric changed in one
assignment is named with it; a student whose notebook was rejected before and
graded now is "up" without a made-up number; an item new in the rubric is not
"None"; CSV cells stay numbers; records of notebooks the last batch did not
grade are not read.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from grader.batch.diff import diff
from grader.batch.run import _safe
from grader.report.diff import render_csv, render_markdown, render_text


def _record(student, assignment, score, items, *, rubric="r1", outcome="graded"):
    return {
        "assignment": assignment,
        "score": score,
        "max_score": 100,
        "items": [{"id": i, "score": p, "status": st, "feedback": f"{i} feedback"} for i, p, st in items],
        "batch": {"student": student, "outcome": outcome},
        "environment": {"rubric_sha256": rubric, "seed": 1, "examples_per_item": 100},
    }


def _folder(root: Path, records: list[dict], *, listed: list[str] | None = None) -> Path:
    (root / "reports").mkdir(parents=True)
    for record in records:
        (root / "reports" / f"{record['batch']['student']}.json").write_text(json.dumps(record), encoding="utf-8")
    with (root / "gradebook.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "score"])
        for student in listed if listed is not None else [r["batch"]["student"] for r in records]:
            writer.writerow([f"'{student}" if student[:1] in "=+-@" else student, ""])
    return root


def test_a_rubric_fixed_in_one_assignment_of_a_mixed_class_is_named(tmp_path):
    old = _folder(
        tmp_path / "old",
        [
            _record("ala", "autograd-basics", 90, [("e1", 10, "passed")]),
            _record("bob", "autograd-advanced", 50, [("a1", 0, "failed")], rubric="adv1"),
        ],
    )
    new = _folder(
        tmp_path / "new",
        [
            _record("ala", "autograd-basics", 90, [("e1", 10, "passed")]),
            _record("bob", "autograd-advanced", 55, [("a1", 5, "failed")], rubric="adv2"),
        ],
    )
    data = diff(old, new)
    assert data["settings"] == [
        {"assignment": "autograd-advanced", "setting": "rubric sha256", "old": "adv1", "new": "adv2"}
    ]
    assert "changed: autograd-advanced: rubric sha256: adv1 → adv2" in render_text(data)


def test_numbers_and_words_of_a_regrade(tmp_path):
    old = _folder(
        tmp_path / "old",
        [
            _record("ala", "a", None, [], outcome="rejected: not a notebook"),
            _record("-bob", "a", 80, [("e1", 10, "passed")]),
            _record("cyd", "a", 70, [("e1", 10, "passed")]),
        ],
    )
    new = _folder(
        tmp_path / "new",
        [
            _record("ala", "a", 100, [("e1", 10, "passed")]),
            _record("-bob", "a", 80, [("e1", 10, "passed"), ("e2", 0, "failed")]),
            _record("cyd", "b", 60, [("e1", 0, "failed")]),
        ],
    )
    data = diff(old, new)
    summary = data["summary"]
    assert (summary["up"], summary["down"], summary["unchanged"], summary["graded_in_both"]) == (1, 1, 1, 2)
    assert (summary["largest_up"], summary["largest_down"], summary["mean_change"]) == (None, -10, -5)
    text = render_text(data)
    assert "3 students in both runs: 1 up, 1 down, 1 unchanged; mean change -5 (over the 2 graded in both), " in text
    assert "largest up" not in text and "largest down -10" in text
    assert "ala: — → 100 (rejected: not a notebook → graded)" in text
    assert "  e2: (not in the rubric) → failed 0" in text and "None" not in text
    assert "cyd: 70 → 60 (assignment a → b)" in text
    assert "None" not in render_markdown(data)
    rows = list(csv.reader(render_csv(data).splitlines()))
    assert ["ala", "", "100", "e1", "", "", "passed", "10"] in rows
    assert all("—" not in cell for row in rows for cell in row)
    assert ["'-bob", "80", "80", "e2", "", "", "failed", "0"] in rows


def test_records_the_last_batch_did_not_grade_are_not_read(tmp_path):
    """A notebook removed from the class between two batches into the same folder leaves its old record."""
    records = [_record("ala", "a", 90, [("e1", 10, "passed")]), _record("-ola", "a", 10, [("e1", 0, "failed")])]
    old = _folder(tmp_path / "old", records)
    new = _folder(tmp_path / "new", records, listed=["ala"])  # ola's stale record is still in reports/
    data = diff(old, new)
    assert data["only_old"] == ["-ola"] and data["only_new"] == []


def test_student_ids_keep_polish_letters():
    assert _safe("Śliwa Żaneta") == "Śliwa_Żaneta"
    assert _safe("S\u0301liwa") == "Śliwa"  # decomposed as macOS writes names: composed
    assert _safe("../../etc/passwd") == "etc_passwd" and _safe("...") == "student"


def test_points_in_an_lms_file_are_never_in_exponent_form():
    from grader.batch.export import _number

    assert [_number(v) for v in (1e6, 12.5, 12.345, 0.0, -0.001, 100.0)] == [
        "1000000",
        "12.5",
        "12.35",
        "0",
        "0",
        "100",
    ]
