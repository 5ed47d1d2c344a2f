"""The grade command: exit statuses, streams, formats and the errors users see."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, SAMPLES, TEMPLATE, write_notebook

CORRECT = SAMPLES / "correct.ipynb"


def test_example_prints_full_marks_as_a_table(grade):
    done = grade(CORRECT)
    assert done.returncode == 0
    assert "Score: 100/100" in done.stdout
    assert "e6.sgd_step" in done.stdout and "passed" in done.stdout
    assert done.stderr == ""  # progress only goes to a terminal


def test_fail_under_exits_1_and_still_prints_the_report(grade):
    done = grade("--fail-under", 50, "-f", "json", TEMPLATE)
    assert done.returncode == 1
    assert json.loads(done.stdout)["score"] == 0


def test_fail_under_met_exits_0(grade):
    done = grade("--fail-under", 100, "-f", "json", CORRECT)
    assert done.returncode == 0


def test_output_file_gets_the_report_and_stdout_stays_empty(grade, tmp_path):
    target = tmp_path / "report.json"
    done = grade("-f", "json", "-o", target, CORRECT)
    assert done.returncode == 0
    assert done.stdout == ""
    report = json.loads(target.read_text())
    assert report["score"] == 100
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temporary file left


def test_yaml_report_has_the_json_content(grade):
    # Few examples: the content is what matters here, not how much of it.
    as_json = json.loads(grade("-f", "json", "--examples", 10, SAMPLES / "wrong_sgd_step_rebinds.ipynb").stdout)
    as_yaml = yaml.safe_load(grade("-f", "yaml", "--examples", 10, SAMPLES / "wrong_sgd_step_rebinds.ipynb").stdout)
    for report in (as_json, as_yaml):
        report.pop("timings")
    assert as_yaml == as_json


def test_json_report_records_provenance(grade_json):
    report = grade_json(CORRECT)
    assert report["assignment"] == "autograd-basics"
    assert report["submission"].endswith("correct.ipynb")
    assert len(report["sha256"]) == 64 and report["notebook"]["sha256"] == report["sha256"]
    env = report["environment"]
    assert env["grader_version"] and env["torch"] and env["device"] == "cpu"
    assert env["seed"] == 20261126
    assert env["examples_per_item"] == 100
    budgets = {"e7.train_logreg": 20}  # the training loop's check asks for fewer (Check(examples=20))
    assert env["examples_by_item"] == budgets  # and the environment says so
    for item in report["items"]:  # hypothesis dedupes a few; the fixed edge cases come on top
        assert budgets.get(item["id"], 100) * 0.8 <= item["examples"] <= budgets.get(item["id"], 100) + 5, item


def error_line(done) -> str:
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_missing_file(grade, tmp_path):
    done = grade(tmp_path / "nope.ipynb")
    assert done.returncode == 2
    assert error_line(done) == f"grade: error: {tmp_path / 'nope.ipynb'}: no such file"


def test_directory(grade, tmp_path):
    done = grade(tmp_path)
    assert done.returncode == 2
    assert error_line(done) == f"grade: error: {tmp_path}: is a directory, not a notebook"


def test_malformed_json(grade, tmp_path):
    bad = tmp_path / "truncated.ipynb"
    bad.write_text(CORRECT.read_text()[:500])
    done = grade(bad)
    assert done.returncode == 2
    assert error_line(done).startswith(f"grade: error: {bad}: not a notebook: malformed JSON at line ")


def test_json_that_is_not_a_notebook(grade, tmp_path):
    bad = tmp_path / "data.ipynb"
    bad.write_text('{"cells": 3}')
    done = grade(bad)
    assert done.returncode == 2
    assert error_line(done) == f"grade: error: {bad}: not a Jupyter notebook: no 'nbformat' field at the top level"


def test_too_old_a_format(grade, tmp_path):
    old = tmp_path / "v3.ipynb"
    old.write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []}))
    done = grade(old)
    assert done.returncode == 2
    assert error_line(done) == (
        f"grade: error: {old}: notebook format 3 is too old; open and save it in Jupyter "
        "(or run `jupyter nbconvert --to notebook --nbformat 4`) to upgrade it to format 4"
    )


def test_unknown_assignment_suggests_the_close_one(grade):
    done = grade("-a", "autograd-basic", CORRECT)
    assert done.returncode == 2
    assert error_line(done) == "grade: error: unknown assignment 'autograd-basic' (did you mean 'autograd-basics'?)"


def test_assignment_comes_from_the_notebook_metadata(grade, tmp_path):
    notebook = write_notebook(tmp_path / "other_course.ipynb", ["x = 1"], assignment="linear-algebra-1")
    done = grade(notebook)
    assert done.returncode == 2
    assert error_line(done) == (
        f"grade: error: {notebook}: metadata.grader.assignment 'linear-algebra-1' is not an assignment of this course "
        "(known: autograd-advanced, autograd-basics)"
    )


def test_notebook_without_metadata_is_refused_when_the_course_has_several_assignments(grade, tmp_path):
    notebook = write_notebook(tmp_path / "no_metadata.ipynb", ["import torch"], assignment=None)
    done = grade(notebook)
    assert done.returncode == 2
    assert "choose one with --assignment (known: autograd-advanced, autograd-basics)" in error_line(done)


def test_notebook_without_metadata_uses_the_courses_only_assignment(grade_json, tmp_path):
    course = tmp_path / "course"  # a course of one assignment
    (course / "rubrics").mkdir(parents=True)
    shutil.copyfile(ROOT / "rubrics" / "autograd-basics.yaml", course / "rubrics" / "autograd-basics.yaml")
    for folder in ("reference/autograd_basics", "assignments/autograd-basics"):
        shutil.copytree(ROOT / folder, course / folder, ignore=shutil.ignore_patterns("__pycache__"))
    notebook = write_notebook(tmp_path / "no_metadata.ipynb", ["import torch"], assignment=None)
    report = grade_json(notebook, env={"GRADER_COURSE": str(course)})
    assert report["assignment"] == "autograd-basics"
    assert {item["status"] for item in report["items"]} == {"missing"}
    assert report["score"] == 0


def test_a_notebook_off_the_schema_is_graded_and_the_report_says_where(grade_json, tmp_path):
    notebook = write_notebook(tmp_path / "hand_edited.ipynb", ["import torch"])
    document = json.loads(notebook.read_text(encoding="utf-8"))
    del document["cells"][1]["metadata"]  # as a hand edit or another tool leaves it
    notebook.write_text(json.dumps(document), encoding="utf-8")
    report = grade_json(notebook)
    assert report["notebook"]["warnings"] == [
        "the notebook does not fully follow the nbformat schema at cells/1: 'metadata' is a required property; "
        "graded anyway"
    ]
    assert {item["status"] for item in report["items"]} == {"missing"}


def test_bad_rubric_names_the_file_and_key(grade, tmp_path):
    text = (ROOT / "rubrics" / "autograd-basics.yaml").read_text()
    text = text.replace(
        "reference: ../reference/autograd_basics", f"reference: {ROOT / 'reference' / 'autograd_basics'}"
    )
    text = text.replace("    points: 15\n    parts: {update: 9", "    pionts: 15\n    parts: {update: 9")
    rubric = tmp_path / "typo.yaml"
    rubric.write_text(text)
    done = grade("-a", rubric, CORRECT)
    assert done.returncode == 2
    assert error_line(done) == f"grade: error: {rubric}: items[8]: unknown key 'pionts' (did you mean 'points'?)"


def test_unknown_format_is_a_usage_error(grade):
    done = grade("-f", "xml", CORRECT)
    assert done.returncode == 2
    assert done.stderr.startswith("grade: error: Invalid value for '-f' / '--format': 'xml' is not one of ")
    assert done.stderr.endswith(" (see 'grade --help')\n") and done.stderr.count("\n") == 1
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("--bogus", "x.ipynb"), "grade: error: No such option '--bogus' (see 'grade --help')"),
        (("batch",), "grade: error: Missing argument 'SUBMISSIONS...' (see 'grade batch --help')"),
    ],
)
def test_a_wrong_command_line_is_one_line_naming_the_command_as_typed(grade, args, line):
    done = grade(*args, timeout=60)
    assert (done.returncode, done.stderr, done.stdout) == (2, line + "\n", "")


def test_output_into_a_missing_folder_is_refused_before_grading(grade, tmp_path):
    done = grade("-o", tmp_path / "no" / "r.json", CORRECT, timeout=60)
    assert done.returncode == 2
    assert (
        error_line(done)
        == f"grade: error: --output {tmp_path / 'no' / 'r.json'}: the folder {tmp_path / 'no'} does not exist"
    )


def test_help_lists_the_options_and_exit_statuses(grade):
    done = grade("--help")
    assert done.returncode == 0
    for option in (
        "--assignment",
        "--format",
        "--output",
        "--fail-under",
        "--device",
        "--seed",
        "--examples",
        "--no-cache",
    ):
        assert option in done.stdout
    assert "2 bad input or command line" in " ".join(done.stdout.split())


def test_version(grade):
    done = grade("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("grade, version ")


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "grade"
    assert script.is_file(), "pip install puts the `grade` script beside the interpreter"
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0


def test_output_into_a_fifo_writes_through_it(grade, tmp_path):
    """-o /dev/stdout or a pipe must be written into, never renamed over."""
    import os
    import threading

    fifo = tmp_path / "report.pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    done = grade("-f", "json", "-o", fifo, CORRECT)
    reader.join(timeout=60)
    assert done.returncode == 0
    assert fifo.is_fifo()
    assert json.loads(received[0])["score"] == 100
