"""A submission must not choose anything on the trusted side: not the rubric, not a path, not an import.

The attack: a student's repository holds ``evil/rubric.yaml``, a copy of the
course rubric whose ``reference:`` is ``evil/ref/``, a copy of the reference
package with one extra line that writes a marker file when it is imported
(with the TA's permissions, outside the sandbox). The notebook's
``metadata.grader.assignment`` names that rubric (absolute, relative, with
``..``) or a bundle made of it. Every command must refuse the value and never
create the marker; the same rubric named by the TA with ``--assignment`` is
still accepted and does create it, which shows that the payload is live.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT, SAMPLES, SHORT_LIMITS, run_grader

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)")

CORRECT = SAMPLES / "correct.ipynb"


class Repo:
    """A hostile student's repository: the notebook, the evil rubric, its reference and a bundle of them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.marker = root.parent / "PWNED"
        evil = root / "evil"
        shutil.copytree(
            ROOT / "reference" / "autograd_basics", evil / "ref", ignore=shutil.ignore_patterns("__pycache__")
        )
        shutil.copyfile(ROOT / "assignments" / "autograd-basics" / "public_checks.py", evil / "public_checks.py")
        init = evil / "ref" / "__init__.py"
        init.write_text(init.read_text() + f"\nopen({str(self.marker)!r}, 'w').write('imported on the trusted side')\n")
        rubric = (ROOT / "rubrics" / "autograd-basics.yaml").read_text()
        rubric = rubric.replace("assignment: autograd-basics", "assignment: evil-basics")
        rubric = rubric.replace("reference: ../reference/autograd_basics", "reference: ref")
        rubric = rubric.replace(
            "public_checks: ../assignments/autograd-basics/public_checks.py", "public_checks: public_checks.py"
        )
        rubric = rubric.replace("solution_notebook: ../reference/autograd_basics/solution.ipynb\n", "")
        rubric = rubric.replace("examples: 100", "examples: 10")
        assert "evil-basics" in rubric and "reference: ref\n" in rubric
        self.rubric = evil / "rubric.yaml"
        self.rubric.write_text(rubric)
        # The bundle: `grade bundle` imports the reference (so the payload fires once here), then the marker goes.
        made = run_grader("bundle", self.rubric, "-o", root / "evil.zip", cwd=root)
        assert made.returncode == 0, made.stderr
        assert self.marker.exists(), "the payload did not run: the tests below would prove nothing"
        self.marker.unlink()
        self.bundle = root / "evil.zip"

    def notebook(self, name: str, assignment: object, **metadata: object) -> Path:
        nb = nbformat.read(str(CORRECT), as_version=4)
        nb.metadata["grader"] = {"assignment": assignment}
        nb.metadata.update(metadata)
        path = self.root / name
        nbformat.write(nb, str(path))
        return path


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Repo:
    root = tmp_path_factory.mktemp("student") / "repo"
    root.mkdir()
    return Repo(root)


def attacks(repo: Repo) -> dict[str, str]:
    """What a notebook's metadata may try to name, each relative to the repository (the grader's cwd there)."""
    return {
        "absolute": str(repo.rubric),
        "relative": "evil/rubric.yaml",
        "dotdot": f"../{repo.root.name}/evil/rubric.yaml",
        "bundle": "evil.zip",
        "absolute_bundle": str(repo.bundle),
        "parent_id": "../autograd-basics",
    }


ATTACKS = ("absolute", "relative", "dotdot", "bundle", "absolute_bundle", "parent_id")


@pytest.mark.parametrize("attack", ATTACKS)
def test_grade_refuses_a_rubric_named_by_the_notebook(repo, attack, plan_cache):
    value = attacks(repo)[attack]
    notebook = repo.notebook(f"grade_{attack}.ipynb", value)
    done = run_grader(notebook.name, cwd=repo.root, env={"GRADER_CACHE_DIR": str(plan_cache)})
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0] == (
        f"grade: error: {notebook.name}: metadata.grader.assignment '{value}' is not an assignment id "
        "(known: autograd-advanced, autograd-basics); a rubric file or bundle can only be named by the TA's --assignment"
    )
    assert not repo.marker.exists()


def test_the_same_rubric_named_by_the_ta_is_accepted_and_the_disagreement_reported(repo, plan_cache):
    notebook = repo.notebook("ta_path.ipynb", "autograd-basics")
    for given in (repo.rubric, repo.bundle):
        done = run_grader(
            "-f", "json", "-a", given, notebook.name, cwd=repo.root, env={"GRADER_CACHE_DIR": str(plan_cache)}
        )
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["assignment"] == "evil-basics" and report["score"] == 100
        assert report["notebook"]["declared_assignment"] == "autograd-basics"
        assert report["notebook"]["assignment_mismatch"] is True
        assert repo.marker.exists(), f"-a {given}: the TA's own rubric was not loaded"
        repo.marker.unlink()
    text = run_grader("-a", repo.rubric, notebook.name, cwd=repo.root, env={"GRADER_CACHE_DIR": str(plan_cache)})
    assert "the notebook says it is assignment 'autograd-basics', but it was graded as 'evil-basics'" in text.stdout
    repo.marker.unlink()


def test_grade_check_refuses_it_too_and_takes_the_tas_choice(repo):
    for attack in ("absolute", "dotdot", "bundle"):
        notebook = repo.notebook(f"check_{attack}.ipynb", attacks(repo)[attack])
        done = run_grader("check", notebook.name, cwd=repo.root)
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and "is not an assignment id" in done.stderr
    accepted = run_grader(
        "check", "-a", repo.rubric, repo.notebook("check_ta.ipynb", "autograd-basics").name, cwd=repo.root
    )
    assert accepted.returncode == 0, accepted.stderr
    assert "Public self-check · evil-basics" in accepted.stdout
    assert not repo.marker.exists()  # grade check never imports a reference, whoever names it


def test_grade_batch_rejects_those_notebooks_and_grades_the_rest(repo, plan_cache, tmp_path):
    hand_ins = tmp_path / "hand-ins"
    hand_ins.mkdir()
    for attack in ("absolute", "relative", "bundle"):
        shutil.copyfile(repo.notebook(f"batch_{attack}.ipynb", attacks(repo)[attack]), hand_ins / f"{attack}.ipynb")
    shutil.copyfile(CORRECT, hand_ins / "honest.ipynb")
    nb = nbformat.read(str(CORRECT), as_version=4)
    del nb.metadata["grader"]
    nbformat.write(nb, str(hand_ins / "no_id.ipynb"))
    (hand_ins / "deep.ipynb").write_text("[" * 100_000 + "]" * 100_000)

    out = tmp_path / "out"
    env = {"GRADER_CACHE_DIR": str(plan_cache)}
    done = run_grader("batch", hand_ins, "--out", out, "-q", "--jobs", "2", cwd=repo.root, env=env)
    assert done.returncode == 0, done.stderr
    records = {p.stem: json.loads(p.read_text()) for p in (out / "reports").glob("*.json")}
    outcomes = {student: record["batch"]["outcome"] for student, record in records.items()}
    assert outcomes == {
        "absolute": "rejected",
        "relative": "rejected",
        "bundle": "rejected",
        "honest": "graded",
        "no_id": "rejected",
        "deep": "rejected",
    }
    assert "is not an assignment id" in records["relative"]["error"]
    assert records["no_id"]["error"].endswith(
        "does not name its assignment (metadata.grader.assignment); name it with --assignment"
    )
    assert records["deep"]["error"].endswith("not a notebook: its JSON is nested too deeply to read")
    assert records["honest"]["score"] == 100
    assert not repo.marker.exists()

    # The TA's --assignment wins for every notebook, whatever it says (the deep one is still malformed).
    ta_out = tmp_path / "ta"
    done = run_grader(
        "batch", hand_ins, "--out", ta_out, "-q", "--jobs", "2", "-a", repo.rubric, cwd=repo.root, env=env
    )
    assert done.returncode == 0, done.stderr
    records = {p.stem: json.loads(p.read_text()) for p in (ta_out / "reports").glob("*.json")}
    assert {s: r["batch"]["outcome"] for s, r in records.items()} == {
        **outcomes,
        **dict.fromkeys(("absolute", "relative", "bundle", "honest", "no_id"), "graded"),
    }
    assert records["relative"]["assignment"] == "evil-basics"
    assert records["relative"]["notebook"]["assignment_mismatch"] is True
    assert records["no_id"]["notebook"]["declared_assignment"] is None
    assert repo.marker.exists()
    repo.marker.unlink()


KERNEL = """
import json, sys
import grader
try:
    grader.check("e1", assignment=sys.argv[1] or None, namespace={})
except ValueError as exc:
    print("REFUSED", exc)
else:
    print("RAN")
"""


@pytest.mark.parametrize("value", ["../../../evil", "/tmp/evil", "evil/..", "autograd-basics/../../x"])
def test_grader_check_in_a_kernel_takes_only_an_id(repo, value, tmp_path):
    # assignments/<value>/public_checks.py would be the evil checks: the course folder is a copy here.
    course = tmp_path / "course"
    shutil.copytree(ROOT / "rubrics", course / "rubrics")
    shutil.copytree(ROOT / "assignments", course / "assignments")
    target = (course / "assignments" / value / "public_checks.py").resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(f"open({str(repo.marker)!r}, 'w').write('public checks from a path')\n")
    env = {"GRADER_COURSE": str(course)}
    done = subprocess.run(
        [sys.executable, "-c", KERNEL, value], capture_output=True, text=True, cwd=tmp_path, env={**os.environ, **env}
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("REFUSED grader.check(assignment=…): ") and "is not an assignment id" in done.stdout
    assert not repo.marker.exists()
    # The same file named by the student's own environment variable does run: the payload is live.
    live = subprocess.run(
        [sys.executable, "-c", KERNEL, ""],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, **env, "GRADER_PUBLIC_CHECKS": str(target)},
    )
    assert repo.marker.exists(), live.stderr
    repo.marker.unlink()


def test_grader_check_refuses_a_path_in_the_running_notebooks_metadata(repo, tmp_path):
    notebook = repo.notebook("kernel.ipynb", attacks(repo)["dotdot"])
    done = subprocess.run(
        [sys.executable, "-c", KERNEL, ""],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "JPY_SESSION_NAME": str(notebook)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"REFUSED {notebook}: metadata.grader.assignment '../") and not repo.marker.exists()


def test_kernelspec_cell_tags_and_cell_metadata_choose_nothing(repo, grade_json):
    nb = nbformat.read(str(CORRECT), as_version=4)
    nb.metadata["kernelspec"] = {"name": "../../evil", "display_name": "/bin/sh", "language": str(repo.rubric)}
    nb.metadata["language_info"] = {"name": "evil", "file_extension": "../../x.py"}
    nb.metadata["grader"] = {"assignment": "autograd-basics", "reference": str(repo.rubric.parent / "ref")}
    for cell in nb.cells:
        cell.metadata["tags"] = ["hidden", str(repo.rubric)]
        cell.metadata["grader"] = {"assignment": str(repo.rubric)}
    path = repo.root / "metadata_everywhere.ipynb"
    nbformat.write(nb, str(path))
    report = grade_json(path)
    assert report["assignment"] == "autograd-basics" and report["score"] == 100
    assert not repo.marker.exists()


def test_json_nested_too_deeply_is_one_line(tmp_path, grade):
    path = tmp_path / "deep.ipynb"
    path.write_text('{"cells": ' + "[" * 100_000 + "]" * 100_000 + "}")
    for command in ((), ("check",)):
        done = grade(*command, path)
        assert done.returncode == 2
        assert done.stderr == f"grade: error: {path}: not a notebook: its JSON is nested too deeply to read\n"


# -- a total time budget per notebook ------------------------------------------------------

SLOW_F1 = """
import time
_f1 = f1

def f1(t, u):
    time.sleep(0.5)  # every call is slow, none past the call limit: only the total budget stops it
    return _f1(t, u)
"""


def test_no_notebook_holds_a_worker_longer_than_its_total_budget(tmp_path, grade_json):
    rubric = SHORT_LIMITS.read_text()
    for relative in ("../../reference/autograd_basics", "../../assignments/autograd-basics/public_checks.py"):
        rubric = rubric.replace(relative, str((SHORT_LIMITS.parent / relative).resolve()))
    rubric = rubric.replace("  item_seconds: 60 ", "  total_seconds: 12\n  item_seconds: 60 ")
    assert "total_seconds: 12" in rubric
    (tmp_path / "budget.yaml").write_text(rubric)
    nb = nbformat.read(str(CORRECT), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(SLOW_F1))
    nbformat.write(nb, str(tmp_path / "slow.ipynb"))

    report = grade_json(tmp_path / "slow.ipynb", "-a", tmp_path / "budget.yaml", "--no-cache")
    assert report["notebook"]["limits_hit"] == ["total time limit"]
    items = {item["id"]: item for item in report["items"]}
    assert items["e1.value"]["status"] == "timeout" and items["e1.value"]["limit"] == "total time limit"
    assert "total time budget (12 s, limits.total_seconds in the rubric)" in items["e1.value"]["feedback"]
    later = items["e7.train_logreg"]
    assert later["status"] == "timeout" and later["score"] == 0
    assert later["feedback"].startswith("Not graded: the grading of this notebook used up its total time budget")
    # The budget bounds the whole grading: at most one call's limit (3 s) past it, plus starting up.
    assert report["timings"]["total"] < 12 + 3 + 5


TOO_LARGE_F1 = """
def f1(t, u):
    big = torch.zeros(1 << 22)  # 16 MiB each: three are more than one answer may send back
    return [big, big, big]
"""


def test_an_answer_too_large_to_check_ends_its_item_at_the_first_call(tmp_path, grade_json):
    nb = nbformat.read(str(CORRECT), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(TOO_LARGE_F1))
    nbformat.write(nb, str(tmp_path / "too_large.ipynb"))
    report = grade_json(tmp_path / "too_large.ipynb", "-a", SHORT_LIMITS)
    item = {i["id"]: i for i in report["items"]}["e1.value"]
    assert item["status"] == "failed" and item["score"] == 0 and item["examples"] == 0
    assert item["feedback"].startswith("f1() returned an answer too large to check (more than 32 MiB of tensor data)")
    assert report["score"] == 100 - item["max_score"]


# -- what the child sends back ----------------------------------------------------------------

FORGE_FRAMES = """
import json, os, socket, stat, struct

def _forge(header):
    head = json.dumps({**header, "_blobs": []}).encode()
    frame = struct.pack("!II", len(head), 0) + head
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.write(fd, frame)
        except OSError:
            pass

_forge({"ev": "cell", "phase": "end", "ok": False, "error": "not a dict", "skipped_imports": "abc"})
_forge({"ev": "cell", "phase": "start", "index": "../../x"})
_forge({"ev": "exited", "pid": "1; rm -rf /", "code": [1]})
"""


def test_forged_control_frames_are_a_broken_child_not_a_crash_of_the_grader(tmp_path, grade):
    nb = nbformat.read(str(CORRECT), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(FORGE_FRAMES))
    nbformat.write(nb, str(tmp_path / "forges.ipynb"))
    done = grade("-f", "json", "-a", SHORT_LIMITS, tmp_path / "forges.ipynb")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    forging = len(nb.cells)  # the last cell
    problems = {c["cell"]: c for c in report["notebook"]["cell_problems"]}
    assert problems[forging]["status"] in ("crashed", "skipped"), problems
    assert report["score"] == 100  # the notebook ran again without that cell; every function is intact
