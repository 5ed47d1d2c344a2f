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

from conftest import (
    KERNEL_PRELUDE,
    ROOT,
    STUDENT_FORMATS,
    assert_all_polish,
    assert_verdicts,
    batch_reports,
    code_cells,
    run_grader,
)
from grader.report.diff import HEADER

SAMPLES = ROOT / "tests" / "samples" / "autograd-advanced"
EXPECTED = yaml.safe_load((SAMPLES / "expected.yaml").read_text(encoding="utf-8"))
EXPECTED_CHECK = yaml.safe_load((SAMPLES / "expected_check.yaml").read_text(encoding="utf-8"))
RUBRIC = yaml.safe_load((ROOT / "rubrics" / "autograd-advanced.yaml").read_text(encoding="utf-8"))


def _notebook(name: str):
    spec = EXPECTED[name] or {}
    return ROOT / spec["notebook"] if "notebook" in spec else SAMPLES / name


@pytest.fixture(scope="module")
def batch_out(plan_cache, tmp_path_factory):
    """One grade batch of every sample: its output folder, and each report by the notebook's path."""
    out = tmp_path_factory.mktemp("advanced") / "out"
    formats = [arg for fmt in STUDENT_FORMATS for arg in ("-f", fmt)]
    notebooks = [_notebook(name) for name in sorted(EXPECTED)]
    return out, batch_reports(notebooks, out, plan_cache, *formats, env={"GRADER_LANG": ""})  # in Polish


@pytest.fixture(scope="module")
def reports(batch_out) -> dict:
    return batch_out[1]


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


RUN_IN_KERNEL = (
    KERNEL_PRELUDE
    + """
run_cells(json.loads(sys.argv[1]))
import grader
print(json.dumps({item.id: item.status for item in grader.check_all().items}))
"""
)


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
    # The bundle carries the derived public checks (public_checks.examples) too.
    checked = grade("check", "-f", "json", "-a", bundle, SAMPLES / name, cwd=tmp_path, timeout=300)
    assert checked.returncode == 1, checked.stderr
    statuses = {item["id"]: item["status"] for item in json.loads(checked.stdout)["items"]}
    assert statuses == {item["id"]: "failed" if item["id"] == "a6.jacobian" else "passed" for item in RUBRIC["items"]}


# -- grade export: the batch's grades as Moodle and Canvas import them ------------------

ROSTER = """student,email,name,id,sis_user_id,sis_login_id,section
correct,anna.nowak@uni.example,"Nowak, Anna",1001,S1001,anowak,Grupa 1
wrong_jacobian_transposed,jan.kowalski@uni.example,"Kowalski, Jan",1002,S1002,jkowalski,Grupa 1
never_handed_in,ewa.wisniewska@uni.example,"Wiśniewska, Ewa",1003,S1003,ewisniewska,Grupa 2
"""


@pytest.mark.parametrize(
    ("target", "header", "rows"),
    [
        (
            "moodle",
            ["Email address,autograd-advanced"],
            ["anna.nowak@uni.example,10", "jan.kowalski@uni.example,8.8"],  # no row: Moodle would clear it
        ),
        (
            "canvas",
            ["Student,ID,SIS User ID,SIS Login ID,Section,autograd-advanced", "Points Possible,,,,,10"],
            [
                '"Nowak, Anna",1001,S1001,anowak,Grupa 1,10',
                '"Kowalski, Jan",1002,S1002,jkowalski,Grupa 1,8.8',
                '"Wiśniewska, Ewa",1003,S1003,ewisniewska,Grupa 2,',
            ],
        ),
    ],
)
def test_export_writes_the_importers_layout_with_one_row_per_roster_student(batch_out, tmp_path, target, header, rows):
    out, _ = batch_out
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    done = run_grader("export", out, "--to", target, "--roster", roster, "--max-points", 10)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == header + rows
    problems = done.stderr.splitlines()
    left = "no row: the grade in Moodle stays" if target == "moodle" else "cell left empty"
    assert f"grade export: no graded notebook ({left}): never_handed_in" in problems
    unlisted = next(line for line in problems if line.startswith("grade export: not in the roster"))
    assert "correct_torch_func" in unlisted and "wrong_hook_on_caller_tensor" in unlisted


def test_export_reads_a_roster_row_with_a_trailing_comma(batch_out, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student,email\ncorrect,anna.nowak@uni.example,\n", encoding="utf-8")  # as Excel writes it
    done = run_grader("export", batch_out[0], "--to", "moodle", "--roster", roster)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["Email address,autograd-advanced", "anna.nowak@uni.example,100"]


def test_export_refuses_a_roster_without_student_ids_in_one_line(batch_out, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("email\nanna@uni.example\n", encoding="utf-8")
    done = run_grader("export", batch_out[0], "--to", "moodle", "--roster", roster)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"grade: error: {roster}: the roster needs a header with a 'student' column (our student ids)"
    ]


# -- grade diff: a regrade of the class explained ---------------------------------------


def test_diff_shows_a_notebook_fixed_between_two_runs_with_its_item(batch_out, plan_cache, tmp_path):
    old, _ = batch_out
    fixed = tmp_path / "class" / "wrong_jacobian_transposed.ipynb"  # the same student hands in a fixed notebook
    fixed.parent.mkdir()
    fixed.write_bytes((SAMPLES / "correct.ipynb").read_bytes())
    new = tmp_path / "new"
    batch_reports([fixed], new, plan_cache, "--examples", 20)

    done = run_grader("diff", old, new, "-f", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["settings"] == [
        {"assignment": "autograd-advanced", "setting": "examples per item", "old": 100, "new": 20}
    ]
    (student,) = data["students"]
    assert (student["student"], student["old_score"], student["new_score"]) == ("wrong_jacobian_transposed", 88, 100)
    assert [(i["id"], i["old_status"], i["old_score"], i["new_status"], i["new_score"]) for i in student["items"]] == [
        ("a6.jacobian", "failed", 3, "passed", 15)
    ]
    assert data["summary"]["up"] == 1 and data["summary"]["compared"] == 1
    assert "correct" in data["only_old"] and data["only_new"] == []
    assert {"id": "jacobian_transposed", "old": 1, "new": 0} in data["misconceptions"]

    text = run_grader("diff", old, new).stdout
    assert "changed: autograd-advanced: examples per item: 100 → 20" in text
    assert "wrong_jacobian_transposed: 88 → 100" in text and "a6.jacobian: failed 3 → passed 15" in text
    rows = run_grader("diff", old, new, "-f", "csv").stdout.splitlines()
    assert rows == [",".join(HEADER), "wrong_jacobian_transposed,88,100,a6.jacobian,failed,3,passed,15"]


def test_resume_after_a_rubric_fix_regrades_what_the_old_rubric_graded(plan_cache, tmp_path):
    rubric = yaml.safe_load((ROOT / "rubrics" / "autograd-advanced.yaml").read_text(encoding="utf-8"))
    for key in ("reference", "public_checks", "solution_notebook"):
        rubric[key] = str((ROOT / "rubrics" / rubric[key]).resolve())
    rubric_file = tmp_path / "autograd-advanced.yaml"
    rubric_file.write_text(yaml.safe_dump(rubric, allow_unicode=True), encoding="utf-8")
    hand_in = SAMPLES / "wrong_jacobian_transposed.ipynb"
    out, args = tmp_path / "out", ("-a", rubric_file, "--examples", 20)
    first = batch_reports([hand_in], out, plan_cache, *args)

    again = run_grader("batch", hand_in, "-o", out, "--resume", "-q", *args, env={"GRADER_CACHE_DIR": str(plan_cache)})
    assert "1 kept from an earlier run (--resume)" in again.stderr  # the same rubric: kept

    rubric["items"][-1]["parts"] = {"value": 13, "side_effects": 2}  # the fix: the Jacobian's value weighs more
    rubric_file.write_text(yaml.safe_dump(rubric, allow_unicode=True), encoding="utf-8")
    fixed = run_grader("batch", hand_in, "-o", out, "--resume", "-q", *args, env={"GRADER_CACHE_DIR": str(plan_cache)})
    assert fixed.returncode == 0, fixed.stderr
    assert "kept from an earlier run" not in fixed.stderr
    record = json.loads((out / "reports" / "wrong_jacobian_transposed.json").read_text(encoding="utf-8"))
    (before,) = first.values()
    assert (before["score"], record["score"]) == (88, 87)
    assert record["environment"]["rubric_sha256"] != before["environment"]["rubric_sha256"]


def test_the_class_page_counts_each_named_mistake_as_the_reports_do(batch_out):
    out, by_path = batch_out
    made: dict[str, set[str]] = {}
    for report in by_path.values():
        for item in report["items"]:
            for m in item.get("misconceptions", []):
                made.setdefault(m["id"], set()).add(report["batch"]["student"])
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert {m["id"]: m["students"] for m in summary["misconceptions"]} == {k: len(v) for k, v in made.items()}
    assert made["create_graph_missing"] == {"wrong_hvp_create_graph_missing", "wrong_penalty_create_graph_missing"}

    page = (out / "summary.html").read_text(encoding="utf-8")
    assert "<script" not in page and "Content-Security-Policy" in page and "<svg" in page
    graded = summary["graded"]
    for m in summary["misconceptions"]:
        assert (
            f"<code>{m['id']}</code></td><td class=n>{m['students']} ({round(100 * m['students'] / graded)} %)" in page
        )
    assert "wrong_jacobian_transposed" not in page  # anonymised: inputs and problems, never a student's name


def test_plans_are_stored_ahead_of_the_first_notebook(tmp_path):
    cache = tmp_path / "plans"
    done = run_grader("plans", "autograd-advanced", "--cache-dir", cache, "--examples", 20)
    assert done.returncode == 0, done.stderr
    assert f"plans of autograd-advanced stored in {cache} (seed 20261129, 20 examples per item, 8 items)" in done.stdout
    stored = sorted(cache.rglob("*.plan"))
    assert len(stored) == len(RUBRIC["items"])
    graded = run_grader(
        "-f", "json", "--cache-dir", cache, "--examples", 20, SAMPLES / "wrong_jacobian_transposed.ipynb"
    )
    assert graded.returncode == 0 and json.loads(graded.stdout)["score"] == 88
    assert sorted(cache.rglob("*.plan")) == stored  # the notebook replayed them: nothing drawn again


def test_export_to_canvas_refuses_a_roster_row_without_an_lms_id_in_one_line(batch_out, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text('student,name,id,sis_user_id,sis_login_id,section\ncorrect,"Nowak, Anna",,,,Grupa 1\n')
    done = run_grader("export", batch_out[0], "--to", "canvas", "--roster", roster)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "grade: error: roster: student 'correct' has none of id, sis_user_id, sis_login_id"
    ]


def test_every_classic_mistake_reads_in_polish_in_every_format(batch_out):
    out, reports = batch_out
    assert assert_all_polish(out) == len(reports) * len(STUDENT_FORMATS)
