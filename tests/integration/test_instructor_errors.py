"""A reference package that misbehaves once it runs is the instructor's error: one line, exit 2, never a grade.

Each test builds a small course in tmp_path (a copy of the basics reference with one mistake, and a rubric
with one or two of its items) and runs the real ``grade`` on a real notebook.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, SAMPLES, code_cells, run_grader, write_notebook

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)")

RUBRIC = ROOT / "rubrics" / "autograd-basics.yaml"
REFERENCE = ROOT / "reference" / "autograd_basics"


def _course(root: Path, name: str, items: tuple[str, ...], edit=lambda reference: None) -> Path:
    """``root/rubrics/<name>.yaml``: the basics rubric with only ``items``, its reference copied and edited."""
    reference = root / f"reference_{name.replace('-', '_')}"
    shutil.copytree(REFERENCE, reference, ignore=shutil.ignore_patterns("__pycache__"))
    edit(reference)
    rubric = yaml.safe_load(RUBRIC.read_text(encoding="utf-8"))
    for key in ("public_checks", "solution_notebook", "mutation_operators"):
        rubric.pop(key, None)
    rubric["assignment"] = name
    rubric["reference"] = str(reference)
    rubric["items"] = [item for item in rubric["items"] if item["id"] in items]
    path = root / "rubrics" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(rubric, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _replace(name: str, old: str, new: str):
    def edit(reference: Path) -> None:
        text = (reference / name).read_text(encoding="utf-8")
        assert old in text
        (reference / name).write_text(text.replace(old, new), encoding="utf-8")

    return edit


def _append(name: str, code: str):
    return lambda reference: (reference / name).write_text(
        (reference / name).read_text(encoding="utf-8") + "\n\n" + code + "\n", encoding="utf-8"
    )


def _one_error_line(done) -> str:
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""  # no report
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr and "bug in the grader" not in done.stderr
    return lines[0]


def test_a_misspelt_fact_path_is_named_with_the_path_meant(tmp_path):
    rubric = _course(
        tmp_path, "typo", ("e1.value",), _replace("checks.py", '"after backward(): t.grad"', '"after backward: t.grad"')
    )
    line = _one_error_line(run_grader("-a", rubric, "--no-cache", SAMPLES / "correct.ipynb"))
    assert line.startswith(f"grade: error: {rubric}: item e1.value (check 'e1_value'), part 'differentiable': ")
    assert "the fact pattern 'after backward: t.grad' matches no fact of the reference's observation" in line
    assert line.endswith("(did you mean 'after backward(): t.grad'?)")


def test_a_pattern_that_matches_only_on_some_inputs_is_no_error_even_with_one_example(tmp_path):
    # One example may well draw t and u without requires_grad, and so no backward(): its facts are
    # looked for on more inputs, drawn for the reference alone, before anything is called an error.
    rubric = _course(tmp_path, "fine", ("e1.value",))
    done = run_grader("-a", rubric, "--no-cache", "--examples", "1", "-f", "json", SAMPLES / "correct.ipynb")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["score"] == 5


RAISES_ON_LONG_T = """
def grad_f1_analytic(t, u):
    if t.numel() > 3:
        raise ValueError("only short vectors")
    return 2 * t.detach(), 1 / u.detach()
"""


def test_a_reference_that_raises_on_its_domain_is_an_error_not_a_comparison(tmp_path):
    rubric = _course(tmp_path, "raises", ("e1.analytic",), _append("solution.py", RAISES_ON_LONG_T))
    # A student who raises on the same inputs was judged "correct on all 100 generated inputs".
    student = write_notebook(
        tmp_path / "raises_too.ipynb", [*code_cells(SAMPLES / "correct.ipynb"), RAISES_ON_LONG_T], assignment=None
    )
    line = _one_error_line(run_grader("-a", rubric, "--no-cache", student))
    assert line.startswith(
        f"grade: error: {rubric}: item e1.analytic (check 'e1_analytic'): the reference grad_f1_analytic() "
        "raised ValueError: only short vectors on an input the check draws: t = tensor(["
    )
    assert ", u = tensor(" in line
    assert line.endswith(
        "(the reference must answer every input of its check: fix the reference or the check's inputs)"
    )


def test_a_reference_whose_backward_fails_is_an_error(tmp_path):
    detached = "\ndef f1(t, u):\n    return (t.pow(2).sum() + u.log().sum()).detach()\n"
    rubric = _course(tmp_path, "detached", ("e1.value",), _append("solution.py", detached))
    line = _one_error_line(run_grader("-a", rubric, "--no-cache", SAMPLES / "correct.ipynb"))
    assert line.startswith(
        f"grade: error: {rubric}: item e1.value (check 'e1_value'): the follow-up step 'after backward()' on the "
        "reference f1()'s result raised RuntimeError: element 0 of tensors does not require grad"
    )
    assert "on an input the check draws: t = tensor(" in line


def test_grade_batch_stops_on_the_instructors_error_and_keeps_what_it_graded(tmp_path):
    course = tmp_path / "course"
    _course(course, "good", ("e1.analytic",))
    _course(course, "broken", ("e1.analytic",), _append("solution.py", RAISES_ON_LONG_T))
    hand_ins = tmp_path / "hand-ins"
    hand_ins.mkdir()
    cells = code_cells(SAMPLES / "correct.ipynb")
    write_notebook(hand_ins / "a_first.ipynb", cells, assignment="good")
    write_notebook(hand_ins / "b_second.ipynb", cells, assignment="broken")
    out = tmp_path / "out"
    env = {"GRADER_COURSE": str(course)}
    args = ("batch", hand_ins, "--out", out, "--jobs", "1", "--no-cache", "-q")

    done = run_grader(*args, env=env)
    line = _one_error_line(done)
    assert line.startswith(f"grade: error: {course / 'rubrics' / 'broken.yaml'}: item e1.analytic")
    assert line.endswith(
        f"(grade batch stopped: 1 of 2 results are in {out}; once this is fixed, --resume grades the rest)"
    )
    assert sorted(p.name for p in (out / "reports").iterdir()) == ["a_first.json"]  # nothing charged to b_second
    assert json.loads((out / "reports" / "a_first.json").read_text())["score"] == 5

    # Fixed, the batch resumes: the finished result is kept, the rest graded.
    shutil.copyfile(REFERENCE / "solution.py", course / "reference_broken" / "solution.py")
    done = run_grader(*args, "--resume", env=env)
    assert done.returncode == 0, done.stderr
    assert "1 kept from an earlier run (--resume)" in done.stderr
    assert json.loads((out / "reports" / "b_second.json").read_text())["score"] == 5


def test_grade_assign_refuses_to_derive_public_checks_from_a_broken_reference(tmp_path):
    """Deriving the public checks vouches for the reference as grading does: one line, no file written."""
    rubric = _course(
        tmp_path, "typo", ("e1.value",), _replace("checks.py", '"after backward(): t.grad"', '"after backward: t.grad"')
    )
    data = yaml.safe_load(rubric.read_text(encoding="utf-8"))
    data["public_checks"] = "../assignments/typo/public_checks.examples"
    rubric.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    solution = json.loads((REFERENCE / "solution.ipynb").read_text(encoding="utf-8"))
    solution["metadata"]["grader"]["assignment"] = "typo"
    notebook = tmp_path / "solution.ipynb"
    notebook.write_text(json.dumps(solution), encoding="utf-8")
    done = run_grader("assign", notebook, "--no-verify", env={"GRADER_COURSE": str(tmp_path)})
    assert done.returncode == 2, done.stderr
    assert done.stdout.splitlines() == [f"wrote {tmp_path / 'assignments' / 'typo' / 'typo.ipynb'}"]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith(f"grade: error: {rubric}: item e1.value (check 'e1_value'), part 'differentiable': ")
    assert lines[0].endswith("(did you mean 'after backward(): t.grad'?)")
    assert not (tmp_path / "assignments" / "typo" / "public_checks.examples").exists()
