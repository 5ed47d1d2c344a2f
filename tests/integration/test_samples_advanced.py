"""The second assignment's samples: the verdicts of `grade` (one batch for all) and of `grade check`.

Every sample of ``tests/samples/autograd-advanced`` gets exactly the verdicts its
``expected.yaml`` lists; the solution notebook scores 100 and the template 0.
The samples are graded in one ``grade batch`` run (the verdicts are those of
``grade`` alone: ``test_batch`` checks that), which keeps the suite short.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, assert_verdicts, batch_reports, code_cells

SAMPLES = ROOT / "tests" / "samples" / "autograd-advanced"
EXPECTED = yaml.safe_load((SAMPLES / "expected.yaml").read_text(encoding="utf-8"))
EXPECTED_CHECK = yaml.safe_load((SAMPLES / "expected_check.yaml").read_text(encoding="utf-8"))
RUBRIC = yaml.safe_load((ROOT / "rubrics" / "autograd-advanced.yaml").read_text(encoding="utf-8"))


def _notebook(name: str):
    spec = EXPECTED[name] or {}
    return ROOT / spec["notebook"] if "notebook" in spec else SAMPLES / name


@pytest.fixture(scope="module")
def reports(plan_cache, tmp_path_factory) -> dict:
    notebooks = [_notebook(name) for name in sorted(EXPECTED)]
    return batch_reports(notebooks, tmp_path_factory.mktemp("advanced") / "out", plan_cache)


def test_every_sample_has_expected_verdicts():
    listed = {spec.get("notebook", name) if spec else name for name, spec in EXPECTED.items()}
    assert {p.name for p in SAMPLES.glob("*.ipynb")} <= listed


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_gets_its_verdicts(name, reports):
    notebook = _notebook(name)
    report = reports[notebook.resolve()]
    assert report["assignment"] == "autograd-advanced"
    assert_verdicts(report, EXPECTED[name], [item["id"] for item in RUBRIC["items"]])


@pytest.mark.parametrize("name", sorted(EXPECTED_CHECK))
def test_public_checks_flag_what_they_can_see(name, grade):
    spec = EXPECTED_CHECK[name] or {}
    notebook = ROOT / spec["notebook"] if "notebook" in spec else SAMPLES / name
    done = grade("check", "-f", "json", notebook, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    statuses = {item["id"]: item["status"] for item in json.loads(done.stdout)["items"]}
    assert statuses == {item_id: spec.get("items", {}).get(item_id, "passed") for item_id in statuses}
    assert done.returncode == (0 if not spec.get("items") else 1)


RUN_IN_KERNEL = """
import json, sys
namespace = vars(sys.modules["__main__"])
for cell in json.loads(sys.argv[1]):
    try:
        exec(cell, namespace)
    except Exception:
        pass
import grader
print(json.dumps({item.id: item.status for item in grader.check_all().items}))
"""


@pytest.mark.parametrize(("sample", "failing"), [("wrong_hook_on_caller_tensor.ipynb", {"a2.reverse"})])
def test_grader_check_in_the_live_kernel(sample, failing):
    cells = [c for c in code_cells(SAMPLES / sample) if not c.lstrip().startswith(("!", "%"))]
    done = subprocess.run(
        [sys.executable, "-c", RUN_IN_KERNEL, json.dumps(cells)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT / "assignments" / "autograd-advanced",
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert done.returncode == 0, done.stderr
    statuses = json.loads(done.stdout.splitlines()[-1])
    assert list(statuses) == [item["id"] for item in RUBRIC["items"]]
    assert {item for item, status in statuses.items() if status != "passed"} == failing


def test_a_bundle_of_the_second_assignment_grades_like_its_folders(grade, grade_json, tmp_path):
    bundle = tmp_path / "autograd-advanced.zip"
    assert grade("bundle", "autograd-advanced", "-o", bundle).returncode == 0
    name = "wrong_jacobian_transposed.ipynb"
    report = grade_json(SAMPLES / name, "--assignment", bundle)
    assert_verdicts(report, EXPECTED[name], [item["id"] for item in RUBRIC["items"]])
