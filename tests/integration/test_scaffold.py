"""``grade new``: a new assignment's scaffold is accepted as it is by assign, check and grade.

(and by ``grade mutate``: test_authoring_doc follows the walkthrough, which mutates a fresh scaffold)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from grader.course.rubric import SCHEMA, load_rubric

ID = "hw-1"
SOLUTION = "reference/hw_1/solution.ipynb"
TEMPLATE = f"assignments/{ID}/{ID}.ipynb"
FILES = [
    f"rubrics/{ID}.yaml",
    f"rubrics/{ID}.equivalent.yaml",
    "reference/hw_1/__init__.py",
    "reference/hw_1/solution.py",
    "reference/hw_1/checks.py",
    "reference/hw_1/misconceptions.py",
    SOLUTION,
    f"assignments/{ID}/README.md",
]


def _files(course: Path) -> dict[str, bytes]:
    return {str(p.relative_to(course)): p.read_bytes() for p in sorted(course.rglob("*")) if p.is_file()}


def test_a_new_assignment_passes_assign_check_mutate_and_grade_as_it_is(grade, tmp_path):
    course = tmp_path / "course"  # a fresh course: `grade new` makes the folder
    made = grade("new", ID, "--course", course)
    assert made.returncode == 0, made.stderr
    assert sorted(_files(course)) == sorted(FILES)
    for path in FILES:
        assert path in made.stdout
    for step in (
        f"GRADER_COURSE={course}",
        f"grade assign {SOLUTION}",
        f"grade check {SOLUTION}",
        f"grade mutate {ID}",
    ):
        assert step in made.stdout
    assert re.search(rf"^  grade {re.escape(SOLUTION)} ", made.stdout, re.MULTILINE)
    in_course = {"cwd": course, "env": {"GRADER_COURSE": str(course)}}  # as the printed next steps say

    # The students' template: the solution region stubbed, the hidden cell dropped; both verified.
    assigned = grade("assign", SOLUTION, **in_course)
    assert assigned.returncode == 0, assigned.stdout + assigned.stderr
    assert "solution: 10/10, as it must" in assigned.stdout
    assert "template: 0/10, as it must" in assigned.stdout
    examples = course / "assignments" / ID / "public_checks.examples"
    assert f"wrote {examples} (public checks: 8 inputs, 1 item)" in assigned.stdout
    template = nbformat.read(course / TEMPLATE, as_version=4)
    assert template.metadata["grader"] == {"assignment": ID}
    code = "\n".join(cell.source for cell in template.cells if cell.cell_type == "code")
    assert 'raise NotImplementedError("Complete this function")' in code
    assert ".backward()" not in code and "instructor" not in code

    checked = grade("check", "-f", "json", SOLUTION, **in_course)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert [(i["id"], i["status"]) for i in json.loads(checked.stdout)["items"]] == [("e1.square_grad", "passed")]

    # `grade mutate` of a fresh scaffold (--min-kill-rate 0.95) runs in test_authoring_doc, which follows
    # docs/authoring.md's walkthrough of the same scaffold: the suite spends that minute once.

    full = grade("-f", "json", SOLUTION, **in_course)
    assert full.returncode == 0, full.stderr
    assert (json.loads(full.stdout)["score"], json.loads(full.stdout)["max_score"]) == (10, 10)
    zero = grade("-f", "json", TEMPLATE, **in_course)
    assert zero.returncode == 0, zero.stderr
    assert [(i["status"], i["score"]) for i in json.loads(zero.stdout)["items"]] == [("error", 0)]


def test_the_rubric_explains_every_key_and_loads(grade, tmp_path):
    course = tmp_path / "course"
    assert grade("new", ID, env={"GRADER_COURSE": str(course)}).returncode == 0  # the course of GRADER_COURSE
    text = (course / "rubrics" / f"{ID}.yaml").read_text(encoding="utf-8")
    rubric = load_rubric(course / "rubrics" / f"{ID}.yaml")
    assert rubric.reference == (course / "reference" / "hw_1").resolve()
    assert rubric.solution_notebook == (course / SOLUTION).resolve()
    assert rubric.public_checks == (course / "assignments" / ID / "public_checks.examples").resolve()
    # Every key the rubric may have is in the file: set, or commented out with an example.
    keys = set(SCHEMA["properties"]) | set(SCHEMA["properties"]["items"]["items"]["properties"])
    keys |= set(SCHEMA["properties"]["limits"]["properties"])
    for key in keys:
        assert re.search(rf"^[ #-]*{key}:", text, re.MULTILINE), key
    assert yaml.safe_load((course / "rubrics" / f"{ID}.equivalent.yaml").read_text(encoding="utf-8")) == []
    if "packages" in SCHEMA["properties"]:  # the commented example is valid once uncommented
        example = re.sub(r"^# (packages:|  - )", r"\1", text, flags=re.MULTILINE)
        assert example != text
        (course / "rubrics" / "with-packages.yaml").write_text(example, encoding="utf-8")
        assert load_rubric(course / "rubrics" / "with-packages.yaml").packages


@pytest.mark.parametrize("bad", ["Hw1", "_hw", "hw/1", "../hw", "hw 1", "hw.1", "h" * 65, ""])
def test_an_id_that_is_not_a_course_id_is_refused_in_one_line(grade, tmp_path, bad):
    done = grade("new", bad, "--course", tmp_path / "course")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert "is not a valid assignment id" in done.stderr
    assert not (tmp_path / "course").exists()


def test_nothing_is_overwritten(grade, tmp_path):
    course = tmp_path / "course"
    assert grade("new", ID, "--course", course).returncode == 0
    (course / SOLUTION).write_text("the instructor's own work", encoding="utf-8")
    (course / "assignments" / "hw-2").mkdir()
    before = _files(course)
    for again, exists in ((ID, f"rubrics/{ID}.yaml"), ("hw_1", "reference/hw_1"), ("hw-2", "assignments/hw-2")):
        done = grade("new", again, "--course", course)
        assert done.returncode == 2
        assert done.stderr.strip().splitlines() == [
            f"grade: error: {course / exists} already exists: not overwriting it (assignment '{again}')"
        ]
        assert _files(course) == before
