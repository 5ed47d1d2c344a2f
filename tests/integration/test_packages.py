"""The course's packages: what a rubric's ``packages:`` lists is importable where the notebooks run.

A notebook whose ``accuracy`` calls ``sklearn.metrics.accuracy_score`` (and
whose data come from ``make_classification``, with a torchviz graph, as in the
lecture) gets its points; a machine without a listed package is refused
before anything runs, in one line with the pip command, exit status 3.
"""

from __future__ import annotations

import shlex
import shutil
import sys

import pytest
import yaml

from conftest import ROOT, SAMPLES, items_by_id
from grader.course.rubric import Package
from grader.errors import ExitCode
from grader.sandbox import packages

RUBRIC = ROOT / "rubrics" / "autograd-basics.yaml"
EXTRA = ROOT / "tests" / "samples" / "extra"
CORRECT = SAMPLES / "correct.ipynb"
MISSING = "definitely_not_installed_pkg"
PYTHON = shlex.quote(sys.executable)  # the interpreter `python -m grader` runs, and so the notebooks
needs_bubblewrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")


def rubric_copy(folder, extra_packages: list) -> object:
    """The shipped rubric, its paths made absolute, with these packages added to its own."""
    data = yaml.safe_load(RUBRIC.read_text(encoding="utf-8"))
    for key in ("reference", "public_checks", "solution_notebook"):
        data[key] = str((RUBRIC.parent / data[key]).resolve())
    data["packages"] = [*data.get("packages", []), *extra_packages]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "autograd-basics.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def refusal(module: str, pip: str) -> str:
    return (
        f"grade: error: the rubric's packages are not importable where the notebooks run ({PYTHON}): {module}; "
        f"install them with: {PYTHON} -m pip install {pip}"
    )


@needs_bubblewrap
def test_accuracy_through_sklearn_gets_full_points(grade_json):
    report = grade_json(EXTRA / "accuracy_sklearn.ipynb")
    item = items_by_id(report)["e7.accuracy"]
    assert (item["status"], item["score"]) == ("passed", item["max_score"])
    assert report["notebook"]["cell_problems"] == []  # sklearn and torchviz imported in the sandbox
    assert report["score"] == report["max_score"]


@pytest.mark.parametrize("command", [(), ("check",)], ids=["grade", "check"])
def test_a_package_not_installed_is_refused_in_one_line(grade, tmp_path, command):
    rubric = rubric_copy(tmp_path, [MISSING])
    done = grade(*command, "--sandbox", "none", "-a", rubric, CORRECT)
    assert done.returncode == ExitCode.INTERNAL == 3
    assert done.stdout == ""
    assert done.stderr.splitlines() == [refusal(MISSING, MISSING)]


def test_batch_checks_once_before_grading(grade, tmp_path):
    rubric = rubric_copy(tmp_path, [{"import": MISSING, "pip": "definitely-not-installed-pkg"}])
    out = tmp_path / "grades"
    done = grade("batch", "--sandbox", "none", "-a", rubric, CORRECT, "--out", out)
    assert done.returncode == 3
    assert done.stderr.splitlines() == [refusal(MISSING, "definitely-not-installed-pkg")]
    assert not out.exists()  # refused before anything was made or graded


def test_batch_without_assignment_checks_the_courses_assignments(grade, tmp_path):
    course = tmp_path / "course"
    rubric_copy(course / "rubrics", [MISSING])
    done = grade(
        "batch", "--sandbox", "none", CORRECT, "--out", tmp_path / "grades", env={"GRADER_COURSE": str(course)}
    )
    assert done.returncode == 3
    assert done.stderr.splitlines() == [refusal(MISSING, MISSING)]


def test_only_the_notebooks_interpreter_counts_not_the_graders_pythonpath(grade, tmp_path):
    """A module the grader's own process finds through PYTHONPATH is not there for the child (scrubbed
    environment): it is refused, as the notebook would not find it."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "course_helper_on_pythonpath.py").write_text("X = 1\n")
    rubric = rubric_copy(tmp_path, ["course_helper_on_pythonpath"])
    done = grade("--sandbox", "none", "-a", rubric, CORRECT, env={"PYTHONPATH": str(tmp_path / "lib")})
    assert done.returncode == 3
    assert done.stderr.splitlines() == [refusal("course_helper_on_pythonpath", "course_helper_on_pythonpath")]


def test_a_package_outside_what_the_sandbox_shows_is_refused(monkeypatch):
    found = packages._find(("sklearn",))["sklearn"]
    assert found, "scikit-learn is installed (pip install -e '.[course]')"
    packages.require_packages([Package("sklearn", "scikit-learn")], sandbox="bubblewrap")
    packages.require_packages([Package("sklearn", "scikit-learn")], sandbox="none")
    monkeypatch.setattr(packages, "_visible_roots", lambda: ("/nowhere",))  # as if it lived outside the binds
    packages.require_packages([Package("sklearn", "scikit-learn")], sandbox="none")  # no sandbox: no binds
    with pytest.raises(packages.MissingPackages) as info:
        packages.require_packages([Package("sklearn", "scikit-learn")], sandbox="bubblewrap")
    assert info.value.exit_code == 3
    assert str(info.value) == (
        f"the rubric's packages are not importable where the notebooks run ({PYTHON}): "
        f"sklearn (at {found[0]}, outside what the sandbox shows); install them with: {PYTHON} -m pip install "
        "scikit-learn"
    )


def test_a_malformed_packages_value_is_a_rubric_error(grade, tmp_path):
    data = yaml.safe_load(RUBRIC.read_text(encoding="utf-8"))
    data["reference"] = str(ROOT / "reference" / "autograd_basics")
    data["packages"] = ["torchviz", "scikit-learn"]
    rubric = tmp_path / "malformed.yaml"
    rubric.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    done = grade("--sandbox", "none", "-a", rubric, CORRECT)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f'grade: error: {rubric}: packages[1]: "scikit-learn" is not a top-level module name (as in `import '
        "sklearn`; where pip's name differs, write {import: sklearn, pip: scikit-learn})"
    ]


@pytest.mark.parametrize("command", [(), ("check",), ("batch",)], ids=["grade", "check", "batch"])
def test_help_says_a_missing_package_is_exit_3(grade, command):
    done = grade(*command, "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "3 the grader" in text and "packages:" in text and "not installed" in text
