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
import re
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
    job = WORKFLOW["jobs"]["grade"]
    assert job["name"] == "Autograding Tests"  # the check run Classroom reads the points from
    steps = job["steps"]
    fetch = next(s for s in steps if "bundle" in s.get("name", "").lower())
    assert "$RUNNER_TEMP" in fetch["run"] and "secrets." in fetch["env"]["GH_TOKEN"]  # private, outside the checkout
    grade = next(s for s in steps if s.get("id") == "grade")
    assert grade["with"]["assignment"].startswith("${{ runner.temp }}/")
    assert grade["uses"] == "./.grader" and grade["with"]["notebook"].startswith("submission/")
    checkouts = [s for s in steps if s.get("uses", "").startswith("actions/checkout@")]
    assert [c["with"]["path"] for c in checkouts] == [".grader", "submission"]  # the student cannot write .grader
    assert checkouts[0]["with"]["ref"] == "${{ vars.GRADER_COMMIT }}"
    assert set(ACTION["inputs"]) >= {"notebook", "assignment", "fail-under"}
    assert ACTION["outputs"]["result"]["value"] == "${{ steps.grade.outputs.result }}"


def test_the_workflow_and_the_action_pin_every_action_and_keep_no_token():
    uses = [s["uses"] for s in WORKFLOW["jobs"]["grade"]["steps"] if "uses" in s]
    uses += [s["uses"] for s in ACTION["runs"]["steps"] if "uses" in s]
    remote = [u for u in uses if not u.startswith("./")]
    assert remote and all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u) for u in remote), remote
    assert all(
        s["with"]["persist-credentials"] is False
        for s in WORKFLOW["jobs"]["grade"]["steps"]
        if "checkout" in s.get("uses", "")
    )
    assert WORKFLOW["permissions"] == {}
    assert WORKFLOW["jobs"]["grade"]["permissions"] == {"contents": "read", "checks": "write", "actions": "read"}


@pytest.mark.skipif(
    shutil.which("zizmor") is None and not (Path(sys.executable).parent / "zizmor").exists(),
    reason="needs zizmor (pip install zizmor)",
)
def test_zizmor_finds_nothing_in_the_workflow_or_the_action():
    zizmor = shutil.which("zizmor") or str(Path(sys.executable).parent / "zizmor")
    done = subprocess.run(
        [zizmor, "--offline", "--persona", "pedantic", "docs/classroom/grade.yml", "action.yml"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout + done.stderr


FAKE_GH = """#!/bin/sh
# GitHub's CLI as this test needs it: records each call and its input, answers the two look-ups.
printf '%s\n' "$*" >> "$CALLS"
case "$*" in
  *"actions/runs/"*) echo 4242 ;;
  *"check-suites/4242/check-runs"*) echo 777 ;;
  *"-X PATCH"*) cat > "$BODY" ;;
esac
"""


def test_the_points_reach_the_check_run_classroom_reads(tmp_path):
    step = next(s for s in WORKFLOW["jobs"]["grade"]["steps"] if "Classroom" in s.get("name", ""))
    if shutil.which("jq") is None:
        pytest.skip("needs jq (as GitHub's runners have)")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(FAKE_GH)
    (bin_dir / "gh").chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "CALLS": str(tmp_path / "calls"),
        "BODY": str(tmp_path / "body.json"),
        "GITHUB_REPOSITORY": "course/student-alice",
        "GITHUB_RUN_ID": "99",
        "GH_TOKEN": "job-token",
        "SCORE": "91",
        "MAX_SCORE": "100",
    }
    done = subprocess.run(["bash", "-e", "-c", step["run"]], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[0].startswith("api repos/course/student-alice/actions/runs/99")
    assert "check-suites/4242/check-runs?check_name=Autograding%20Tests" in calls[1]
    assert calls[2] == "api -X PATCH repos/course/student-alice/check-runs/777 --input -"
    body = json.loads((tmp_path / "body.json").read_text())
    assert body["output"]["summary"] == body["output"]["text"] == "Points 91/100"
    assert body["output"]["annotations"][0]["title"] == "Autograding complete"
