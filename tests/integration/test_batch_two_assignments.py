"""``grade batch`` over notebooks of both assignments: each graded with its own rubric, one gradebook each.

One real batch (``--jobs 2``, the real sandbox) of two notebooks of each assignment
and one that names none runs once for the module; the verdicts it gives are those
pinned for ``grade`` alone in ``tests/samples/*/expected.yaml``. Then ``--resume``
over it grades nothing and writes the same files, and ``--assignment`` still puts
every notebook in one gradebook graded with the TA's rubric.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from conftest import ROOT

SAMPLES = ROOT / "tests" / "samples"
BASICS, ADVANCED = "autograd-basics", "autograd-advanced"
EXPECTED = {a: yaml.safe_load((SAMPLES / a / "expected.yaml").read_text(encoding="utf-8")) for a in (BASICS, ADVANCED)}
ITEMS = {
    a: [item["id"] for item in yaml.safe_load((ROOT / "rubrics" / f"{a}.yaml").read_text(encoding="utf-8"))["items"]]
    for a in (BASICS, ADVANCED)
}

# student id -> (assignment its notebook names, the sample it is a copy of); scores pinned in expected.yaml.
CLASS = {
    "basics_correct": (BASICS, "correct.ipynb"),
    "basics_grad_not_cleared": (BASICS, "wrong_grad_not_cleared.ipynb"),
    "advanced_correct": (ADVANCED, "correct.ipynb"),
    "advanced_hvp_create_graph_missing": (ADVANCED, "wrong_hvp_create_graph_missing.ipynb"),
}
NO_ID = "no_assignment"  # basics' correct.ipynb without metadata.grader: names no assignment, rejected

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)")


def _batch(*args: object, plan_cache: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "grader", "batch", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
        env={**os.environ, "GRADER_CACHE_DIR": str(plan_cache)},
    )


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _records(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (out / "reports").glob("*.json")}


def _expected(assignment: str, sample: str) -> dict:
    expected = EXPECTED[assignment][sample]
    assert isinstance(expected["score"], (int, float)), f"{assignment}/{sample}: its score is not pinned yet"
    return expected


@pytest.fixture(scope="module")
def hand_ins(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("two") / "hand-ins"
    folder.mkdir()
    for student, (assignment, sample) in CLASS.items():
        source = SAMPLES / assignment / sample
        assert nbformat.read(str(source), as_version=4).metadata["grader"]["assignment"] == assignment
        shutil.copyfile(source, folder / f"{student}.ipynb")
    nameless = nbformat.read(str(SAMPLES / BASICS / "correct.ipynb"), as_version=4)
    del nameless.metadata["grader"]
    nbformat.write(nameless, str(folder / f"{NO_ID}.ipynb"))
    return folder


@pytest.fixture(scope="module")
def graded(hand_ins, plan_cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("two-out") / "grades"
    return _batch(hand_ins, "--out", out, "--jobs", 2, plan_cache=plan_cache), out


def test_each_notebook_is_graded_with_the_rubric_its_metadata_names(graded):
    done, out = graded
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    records = _records(out)
    assert sorted(records) == sorted([*CLASS, NO_ID])
    for student, (assignment, sample) in CLASS.items():
        record, expected = records[student], _expected(assignment, sample)
        assert record["batch"]["outcome"] == "graded", student
        assert record["assignment"] == assignment, student
        assert record["score"] == expected["score"], student
        assert [item["id"] for item in record["items"]] == ITEMS[assignment], student
        for item in record["items"]:
            want = (expected.get("items") or {}).get(item["id"], {"status": "passed"})
            assert item["status"] == want["status"], (student, item["id"])
    assert records[NO_ID]["batch"]["outcome"] == "rejected"
    assert records[NO_ID]["error"].endswith(
        "does not name its assignment (metadata.grader.assignment); name it with --assignment"
    )


def test_one_gradebook_and_summary_per_assignment_and_an_index_of_the_batch(graded, hand_ins):
    done, out = graded
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [
            "reports",
            "gradebook.csv",
            "summary.json",
            *(
                f"{kind}-{a}.{ext}"
                for a in (BASICS, ADVANCED)
                for kind, ext in (("gradebook", "csv"), ("summary", "json"), ("summary", "html"))
            ),
        ]
    )
    for assignment in (BASICS, ADVANCED):
        rows = _csv(out / f"gradebook-{assignment}.csv")
        assert list(rows[0]) == ["student", "submission", "sha256", "score", "max_score", *ITEMS[assignment], "outcome"]
        mine = {s: sample for s, (a, sample) in CLASS.items() if a == assignment}
        assert {row["student"]: row["score"] for row in rows} == {
            s: f"{_expected(assignment, sample)['score']:g}" for s, sample in mine.items()
        }
        assert all(row["outcome"] == "graded" and row["max_score"] == "100" for row in rows)
        summary = json.loads((out / f"summary-{assignment}.json").read_text(encoding="utf-8"))
        assert (summary["submissions"], summary["graded"], summary["rejected"], summary["pending"]) == (2, 2, 0, 0)
        assert [item["id"] for item in summary["items"]] == ITEMS[assignment]

    index = {row["student"]: row for row in _csv(out / "gradebook.csv")}
    assert list(next(iter(index.values()))) == [
        "student",
        "assignment",
        "submission",
        "sha256",
        "score",
        "max_score",
        "outcome",
    ]
    assert {s: (row["assignment"], row["outcome"]) for s, row in index.items()} == {
        **{s: (a, "graded") for s, (a, _) in CLASS.items()},
        NO_ID: ("", index[NO_ID]["outcome"]),
    }
    assert index[NO_ID]["outcome"].startswith("rejected: ") and index[NO_ID]["score"] == "0"
    assert index["advanced_correct"]["submission"] == str(hand_ins / "advanced_correct.ipynb")
    overview = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert (overview["submissions"], overview["graded"], overview["rejected"], overview["pending"]) == (5, 4, 1, 0)
    assert [(a["assignment"], a["gradebook"], a["graded"]) for a in overview["assignments"]] == [
        (ADVANCED, f"gradebook-{ADVANCED}.csv", 2),
        (BASICS, f"gradebook-{BASICS}.csv", 2),
    ]
    assert overview["unassigned"] == {"submissions": 1, "graded": 0, "rejected": 1, "failed": 0, "pending": 0}

    # Standard output: the tables, one per assignment; standard error: one line per assignment at the end.
    assert done.stdout.startswith("4 of 5 graded, 1 not notebooks we can grade, in 2 assignments\n")
    assert f"\n{ADVANCED} (gradebook-{ADVANCED}.csv): 2 of 2 graded\n" in done.stdout
    assert "a6.jacobian" in done.stdout and "e7.train_step" in done.stdout
    mean = {a: sum(_expected(a, sample)["score"] for b, sample in CLASS.values() if b == a) / 2 for a in ITEMS}
    assert done.stderr.strip().splitlines()[-3:] == [
        f"{ADVANCED}: 2 of 2 graded, mean score {mean[ADVANCED]:g}: {out}/gradebook-{ADVANCED}.csv",
        f"{BASICS}: 2 of 2 graded, mean score {mean[BASICS]:g}: {out}/gradebook-{BASICS}.csv",
        f"naming no assignment of the course: 0 of 1 graded, 1 not notebooks we can grade: {out}/gradebook.csv",
    ]


def test_resume_keeps_every_result_and_writes_the_same_files(graded, hand_ins, plan_cache, tmp_path):
    done, first = graded
    assert done.returncode == 0, done.stderr
    out = tmp_path / "grades"
    shutil.copytree(first, out)
    (out / f"gradebook-{BASICS}.csv").unlink()  # rewritten from the records alone
    resumed = _batch(hand_ins, "--out", out, "--jobs", 2, "--resume", plan_cache=plan_cache)
    assert resumed.returncode == 0, resumed.stderr
    assert "5 kept from an earlier run (--resume)" in resumed.stderr
    assert resumed.stdout == done.stdout
    for path in first.rglob("*"):
        if path.is_file():
            assert (out / path.relative_to(first)).read_bytes() == path.read_bytes(), path.name


def test_the_tas_assignment_wins_for_every_notebook_into_one_gradebook(hand_ins, plan_cache, tmp_path):
    folder = tmp_path / "hand-ins"
    folder.mkdir()
    # The advanced one defines none of the basics' functions; a few examples per item are enough here.
    for student in ("advanced_correct", NO_ID):
        shutil.copyfile(hand_ins / f"{student}.ipynb", folder / f"{student}.ipynb")
    out = tmp_path / "grades"
    done = _batch(folder, "--out", out, "--jobs", 2, "-a", BASICS, "--examples", 5, plan_cache=plan_cache)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["gradebook.csv", "reports", "summary.html", "summary.json"]
    rows = {row["student"]: row for row in _csv(out / "gradebook.csv")}
    assert list(next(iter(rows.values()))) == [
        "student",
        "submission",
        "sha256",
        "score",
        "max_score",
        *ITEMS[BASICS],
        "outcome",
    ]
    assert rows[NO_ID]["score"] == "100" and rows["advanced_correct"]["score"] == "0"
    records = _records(out)
    assert {s: r["assignment"] for s, r in records.items()} == {"advanced_correct": BASICS, NO_ID: BASICS}
    assert records["advanced_correct"]["notebook"]["assignment_mismatch"] is True
    assert done.stderr.strip().splitlines()[-1] == f"{BASICS}: 2 of 2 graded, mean score 50: {out}/gradebook.csv"
