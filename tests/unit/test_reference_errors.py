"""A reference package that does not import or does not fit is the instructor's error, named, never our crash."""

from __future__ import annotations

import shutil

import pytest

from conftest import ROOT
from grader.course.assignment import with_reference
from grader.course.rubric import load_rubric
from grader.errors import ExitCode, RubricError


def _course(tmp_path, edit):
    reference = tmp_path / "ref"
    shutil.copytree(ROOT / "reference" / "autograd_basics", reference, ignore=shutil.ignore_patterns("__pycache__"))
    edit(reference)
    text = (ROOT / "rubrics" / "autograd-basics.yaml").read_text()
    text = text.replace("reference: ../reference/autograd_basics", f"reference: {reference}")
    (tmp_path / "rubric.yaml").write_text(text)
    return load_rubric(tmp_path / "rubric.yaml")


def _append(name, line):
    return lambda ref: (ref / name).write_text((ref / name).read_text() + "\n" + line + "\n")


@pytest.mark.parametrize(
    "edit, message",
    [
        (_append("__init__.py", "raise ImportError('no module named sklearn')"), "importing .* failed: ImportError"),
        (_append("__init__.py", "CHECKS = [1, 2]"), "CHECKS in .* is not a dict"),
        (
            _append("__init__.py", "CHECKS = {**CHECKS, 'e1_value': 3}"),
            r"items\[0\]\.check: CHECKS\['e1_value'\] .* not a Check",
        ),
        (_append("solution.py", "import no_such_module_here"), "SOLUTION failed to import: ModuleNotFoundError"),
    ],
)
def test_a_broken_reference_is_one_line_naming_the_rubric(tmp_path, edit, message):
    rubric = _course(tmp_path, edit)
    with pytest.raises(RubricError, match=message) as raised:
        assignment = with_reference(rubric)
        assignment.solution  # noqa: B018 - SOLUTION is imported on first use
    assert str(raised.value).startswith(f"{tmp_path / 'rubric.yaml'}: ")
    assert raised.value.exit_code == ExitCode.USAGE and "\n" not in str(raised.value)
