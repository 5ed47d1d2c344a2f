"""The CI bot: the action's grading step, run here as GitHub's runner would run it.

The step's shell script is taken from ``action.yml`` as it is and run with the
variables the runner sets (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, RUNNER_TEMP,
GITHUB_ACTIONS), against a bundle made by ``grade bundle``, the way
``docs/classroom/grade.yml`` uses it.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, SAMPLES

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
WORKFLOW = yaml.safe_load((ROOT / "docs" / "classroom" / "grade.yml").read_text(encoding="utf-8"))


def _outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines() if "=" in line)


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)")
def test_the_grading_step_sets_the_classroom_result_annotates_and_fails_under(tmp_path, plan_cache):
    step = next(s for s in ACTION["runs"]["steps"] if s.get("id") == "grade")
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    (runner_temp / "grader-venv").symlink_to(Path(sys.executable).parent.parent)  # what the install step made
    bundle = runner_temp / "autograd-basics.zip"
    made = subprocess.run(
        [sys.executable, "-m", "grader", "bundle", "autograd-basics", "-o", bundle], capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    workspace = tmp_path / "student-repo"
    workspace.mkdir()
    shutil.copyfile(SAMPLES / "wrong_grad_not_cleared.ipynb", workspace / "autograd-basics.ipynb")
    output, summary = tmp_path / "github-output", tmp_path / "step-summary.md"
    env = {
        **os.environ,
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(runner_temp),
        "GRADER_CACHE_DIR": str(plan_cache),
        "NOTEBOOK": "autograd-basics.ipynb",
        "ASSIGNMENT": str(bundle),
        "FAIL_UNDER": "95",
    }
    done = subprocess.run(
        ["bash", "-e", "-c", step["run"]], capture_output=True, text=True, cwd=workspace, env=env, timeout=600
    )

    assert done.returncode == 1, done.stderr  # 91 points, under --fail-under 95: the check fails
    outputs = _outputs(output)
    payload = json.loads(base64.b64decode(outputs["result"]))
    assert (payload["status"], payload["max_score"]) == ("fail", 100)
    assert sum(test["score"] for test in payload["tests"]) == 91
    assert (outputs["score"], outputs["max-score"]) == ("91", "100")
    annotations = [line for line in done.stderr.splitlines() if line.startswith("::error ")]
    assert [line.split("title=", 1)[1].split(" ", 1)[0] for line in annotations] == ["e7.train_step", "e7.train_logreg"]
    assert all("file=autograd-basics.ipynb," in line for line in annotations)
    assert "— 91/100" in summary.read_text(encoding="utf-8")


def test_the_workflow_takes_the_rubric_from_the_grader_side_and_reports_to_classroom():
    steps = WORKFLOW["jobs"]["grade"]["steps"]
    fetch = next(s for s in steps if "bundle" in s.get("name", "").lower())
    assert "$RUNNER_TEMP" in fetch["run"] and "secrets." in fetch["env"]["GH_TOKEN"]  # private, outside the checkout
    grade = next(s for s in steps if s.get("id") == "grade")
    assert grade["with"]["assignment"].startswith("${{ runner.temp }}/")
    reporter = next(s for s in steps if "autograding-grading-reporter" in s.get("uses", ""))
    assert reporter["with"]["runners"] == "grade"
    assert reporter["env"]["GRADE_RESULTS"] == "${{ steps.grade.outputs.result }}"
    assert set(ACTION["inputs"]) >= {"notebook", "assignment", "fail-under"}
    assert ACTION["outputs"]["result"]["value"] == "${{ steps.grade.outputs.result }}"
