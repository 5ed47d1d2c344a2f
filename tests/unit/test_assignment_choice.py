"""Which rubric grades a notebook: the TA's --assignment, else an id the notebook names, else the only one."""

from __future__ import annotations

import pytest

from grader.course.assignment import for_notebook
from grader.errors import AssignmentNotFound, NotebookError


@pytest.fixture
def course(tmp_path, monkeypatch):
    (tmp_path / "rubrics").mkdir()
    for name in ("autograd-basics", "autograd-advanced", "autograd-basics.equivalent"):
        (tmp_path / "rubrics" / f"{name}.yaml").write_text("assignment: x\n")
    monkeypatch.setenv("GRADER_COURSE", str(tmp_path))
    return tmp_path


def test_the_tas_choice_wins_and_the_notebook_may_name_only_an_id(course):
    assert (
        for_notebook("autograd-advanced", "../evil.yaml", "nb.ipynb") == course / "rubrics" / "autograd-advanced.yaml"
    )
    assert for_notebook(None, "autograd-basics", "nb.ipynb") == course / "rubrics" / "autograd-basics.yaml"
    for value in (
        "../autograd-basics",
        "autograd-basics.equivalent",
        "rubrics/autograd-basics",
        "x.zip",
        "Autograd-Basics",
    ):
        with pytest.raises(NotebookError, match=r"^nb\.ipynb: metadata\.grader\.assignment '"):
            for_notebook(None, value, "nb.ipynb")


def test_with_neither_the_courses_only_assignment_else_one_line_listing_them(course):
    with pytest.raises(AssignmentNotFound) as refused:
        for_notebook(None, None, "nb.ipynb")
    assert str(refused.value) == (
        "nb.ipynb: the notebook does not name its assignment (metadata.grader.assignment), and the course has 2: "
        "choose one with --assignment (known: autograd-advanced, autograd-basics)"
    )
    (course / "rubrics" / "autograd-advanced.yaml").unlink()
    assert for_notebook(None, None, "nb.ipynb") == course / "rubrics" / "autograd-basics.yaml"
    with pytest.raises(NotebookError, match="name it with --assignment"):
        for_notebook(None, None, "nb.ipynb", guess=False)  # a batch never guesses
