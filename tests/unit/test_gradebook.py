"""The batch's bookkeeping without grading: finding notebooks, student ids, resuming, the gradebook."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest

from grader.batch.gradebook import summary, write_gradebook
from grader.batch.run import Settings, Submission, collect, finished, record_of, submissions
from grader.errors import GraderError
from grader.report.summary import render_summary

SETTINGS = Settings(assignment=None, seed=None, examples=None, device="auto", sandbox="bubblewrap")


def notebook(path, student=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"grader": {"assignment": "autograd-basics", **({"student": student} if student else {})}}
    path.write_text(json.dumps({"cells": [], "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}))
    return path


RUBRIC_SHA = hashlib.sha256((Path(__file__).parents[2] / "rubrics" / "autograd-basics.yaml").read_bytes()).hexdigest()


def graded(student, scores, *, sha="ab" * 32):
    items = [
        {"id": item, "score": score, "max_score": 10.0, "status": "passed" if score == 10 else "failed"}
        for item, score in scores.items()
    ]
    report = {
        "assignment": "autograd-basics",
        "environment": {"rubric_sha256": RUBRIC_SHA},
        "submission": f"{student}.ipynb",
        "sha256": sha,
        "score": sum(scores.values()),
        "max_score": 10.0 * len(scores),
        "items": items,
    }
    return record_of(
        Submission(path=f"{student}.ipynb", student=student, sha256=sha),
        {"outcome": "graded", "report": report},
        SETTINGS,
    )


def test_folders_are_searched_and_checkpoints_left_out(tmp_path):
    notebook(tmp_path / "class" / "a.ipynb")
    notebook(tmp_path / "class" / "deep" / "b.ipynb")
    notebook(tmp_path / "class" / ".ipynb_checkpoints" / "a-checkpoint.ipynb")
    (tmp_path / "class" / "notes.txt").write_text("not a notebook")
    found = collect([str(tmp_path / "class"), str(tmp_path / "class" / "a.ipynb")])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["class/a.ipynb", "class/deep/b.ipynb"]


def test_globs_and_missing_paths(tmp_path):
    notebook(tmp_path / "x1.ipynb")
    notebook(tmp_path / "x2.ipynb")
    assert [p.name for p in collect([f"{tmp_path}/x*.ipynb"])] == ["x1.ipynb", "x2.ipynb"]
    with pytest.raises(GraderError, match=r"y\*\.ipynb: matches no file"):
        collect([f"{tmp_path}/y*.ipynb"])
    with pytest.raises(GraderError, match="nowhere.ipynb: no such file or folder"):
        collect([str(tmp_path / "nowhere.ipynb")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(GraderError, match="no notebooks"):
        collect([str(tmp_path / "empty")])


def test_student_ids_from_file_name_then_folder_never_from_the_notebook(tmp_path):
    paths = [
        notebook(tmp_path / "alice" / "submit.ipynb"),
        notebook(tmp_path / "bob" / "submit.ipynb"),
        notebook(tmp_path / "hand-in-3.ipynb", student="s123"),
        notebook(tmp_path / "=cmd|calc.ipynb"),
        # A student who claims a classmate's id (and a path) in the metadata gets neither.
        notebook(tmp_path / "mallory.ipynb", student="../alice-submit\x1b[31m"),
    ]
    (tmp_path / "broken.ipynb").write_text("{")
    (tmp_path / "deep.ipynb").write_text("[" * 100_000 + "]" * 100_000)
    ids = {s.student: s for s in submissions([*paths, tmp_path / "broken.ipynb", tmp_path / "deep.ipynb"])}
    assert sorted(ids) == ["alice-submit", "bob-submit", "broken", "cmd_calc", "deep", "hand-in-3", "mallory"]
    assert ids["alice-submit"].path == tmp_path / "alice" / "submit.ipynb"
    assert ids["hand-in-3"].declared_student == "s123"  # shown to the TA, trusted for nothing
    assert ids["mallory"].declared_student == "../alice-submit\\x1b[31m"  # control characters made visible
    assert ids["broken"].sha256 is not None  # unreadable as a notebook, still hashed: resumable
    assert ids["deep"].sha256 is not None and ids["deep"].declared_student is None


def test_resume_keeps_only_the_same_notebook_graded_with_the_same_settings(tmp_path):
    out = tmp_path / "out"
    (out / "reports").mkdir(parents=True)
    record = graded("alice", {"e1": 10.0})
    (out / "reports" / "alice.json").write_text(json.dumps(record))
    same = Submission(path=tmp_path / "alice.ipynb", student="alice", sha256="ab" * 32)
    assert finished(out, same, SETTINGS) == record
    assert finished(out, Submission(path=same.path, student="alice", sha256="cd" * 32), SETTINGS) is None
    other_seed = Settings(assignment=None, seed=7, examples=None, device="auto", sandbox="bubblewrap")
    assert finished(out, same, other_seed) is None
    fixed_since = {**record, "environment": {"rubric_sha256": "0" * 64}}  # graded with a rubric fixed since
    (out / "reports" / "alice.json").write_text(json.dumps(fixed_since))
    assert finished(out, same, SETTINGS) is None
    failed = record_of(same, {"outcome": "failed", "error": "worker died"}, SETTINGS)
    (out / "reports" / "alice.json").write_text(json.dumps(failed))
    assert finished(out, same, SETTINGS) is None  # the grader's failures are retried


def test_gradebook_rows_and_a_cell_a_spreadsheet_would_run():
    rows = [
        graded("alice", {"e1": 10.0, "e2": 5.0}),
        graded("=HYPERLINK(1)", {"e1": 0.0, "e2": 10.0}),
        record_of(
            Submission(path="bad.ipynb", student="bad", sha256=None),
            {"outcome": "rejected", "error": "bad.ipynb: not a notebook"},
            SETTINGS,
        ),
    ]
    table = list(csv.reader(io.StringIO(write_gradebook(rows))))
    assert table[0] == ["student", "submission", "sha256", "score", "max_score", "e1", "e2", "outcome"]
    assert table[1][:1] + table[1][3:] == ["alice", "15", "20", "10", "5", "graded"]
    assert table[2][0] == "'=HYPERLINK(1)"
    assert table[3][0] == "bad" and table[3][3] == "0" and table[3][-1] == "rejected: bad.ipynb: not a notebook"
    data = summary(rows, total=4)
    assert (data["graded"], data["rejected"], data["pending"]) == (2, 1, 1)
    assert data["items"][0] == {
        "id": "e1",
        "max_score": 10.0,
        "mean": 5.0,
        "passed": 1,
        "failed": 1,
        "error": 0,
        "timeout": 0,
        "crashed": 0,
        "missing": 0,
    }
    text = render_summary(data)
    assert text.startswith("2 of 4 graded, 1 not notebooks we can grade, 1 not graded yet")
