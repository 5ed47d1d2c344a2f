"""``grade batch``: a small class graded by real workers in the real sandbox.

One batch of the class runs once for the module; the other tests interrupt
batches of the same class (a killed worker, a killed grader) and run it on a
real Dask scheduler with two workers, and compare their gradebooks with it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import yaml

from conftest import ROOT, SAMPLES, grading_processes, write_notebook

ADVERSARIAL = ROOT / "tests" / "adversarial" / "notebooks"
EXPECTED = yaml.safe_load((SAMPLES / "expected.yaml").read_text())
RUBRIC_ITEMS = [item["id"] for item in yaml.safe_load((ROOT / "rubrics" / "autograd-basics.yaml").read_text())["items"]]

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)")

# student id -> the sample it is a copy of (None: not a notebook).
CLASS = {
    "correct": "correct.ipynb",
    "wrong_grad_not_cleared": "wrong_grad_not_cleared.ipynb",
    "alice-submit": "wrong_accuracy_threshold_half.ipynb",
    "bob-submit": "correct_unusual_styles.ipynb",
    "hand-in-7": "wrong_sgd_step_rebinds.ipynb",
    "script_and_ansi": "ansi_and_bidi_in_errors.ipynb",
    "malformed": None,
}


def _make_class(folder: Path) -> Path:
    folder.mkdir()
    shutil.copyfile(SAMPLES / "correct.ipynb", folder / "correct.ipynb")
    shutil.copyfile(SAMPLES / "wrong_grad_not_cleared.ipynb", folder / "wrong_grad_not_cleared.ipynb")
    for student, sample in (("alice", "wrong_accuracy_threshold_half.ipynb"), ("bob", "correct_unusual_styles.ipynb")):
        (folder / student).mkdir()
        shutil.copyfile(SAMPLES / sample, folder / student / "submit.ipynb")  # nbgrader's layout: same names
    tagged = nbformat.read(str(SAMPLES / "wrong_sgd_step_rebinds.ipynb"), as_version=4)
    tagged.metadata.setdefault("grader", {})["student"] = "s123"  # shown, but the id comes from the path
    nbformat.write(tagged, str(folder / "hand-in-7.ipynb"))
    shutil.copyfile(ADVERSARIAL / "ansi_and_bidi_in_errors.ipynb", folder / "script_and_ansi.ipynb")
    (folder / "malformed.ipynb").write_text('{"cells": [', encoding="utf-8")
    (folder / ".ipynb_checkpoints").mkdir()
    shutil.copyfile(SAMPLES / "correct.ipynb", folder / ".ipynb_checkpoints" / "correct-checkpoint.ipynb")
    return folder


def _batch(*args: object, plan_cache: Path, **popen):
    command = [sys.executable, "-m", "grader", "batch", *map(str, args)]
    env = {**os.environ, "GRADER_CACHE_DIR": str(plan_cache)}
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env, **popen
    )


def _gradebook(out: Path) -> list[dict[str, str]]:
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _records(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (out / "reports").glob("*.json")}


@pytest.fixture(scope="module")
def class_folder(tmp_path_factory) -> Path:
    return _make_class(tmp_path_factory.mktemp("class") / "hand-ins")


@pytest.fixture(scope="module")
def module_plans(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("plans")


@pytest.fixture(scope="module")
def local_batch(class_folder, module_plans, tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "grades"
    done = _batch(class_folder, "--out", out, "--jobs", 2, "-f", "html", "-f", "junit", plan_cache=module_plans)
    stdout, stderr = done.communicate(timeout=600)
    return done.returncode, stdout, stderr, out


def test_each_notebook_gets_its_record_gradebook_row_and_the_verdicts_of_grade(local_batch, class_folder):
    code, stdout, stderr, out = local_batch
    assert code == 0, stderr
    assert "Traceback" not in stderr
    records = _records(out)
    assert sorted(records) == sorted(CLASS)
    for student, sample in CLASS.items():
        record = records[student]
        assert record["batch"]["student"] == student
        if sample is None:
            assert record["batch"]["outcome"] == "rejected"
            assert "not a notebook: malformed JSON" in record["error"]
            continue
        assert record["batch"]["outcome"] == "graded"
        assert [item["id"] for item in record["items"]] == RUBRIC_ITEMS
        expected = EXPECTED.get(sample, {"score": 100})  # the adversarial one: checked below
        if sample in EXPECTED:
            assert record["score"] == expected["score"], student
            for item in record["items"]:
                want = expected.get("items", {}).get(item["id"], {"status": "passed"})
                assert item["status"] == want["status"], (student, item["id"])
    rows = {row["student"]: row for row in _gradebook(out)}
    assert list(_gradebook(out)[0]) == [
        "student",
        "submission",
        "sha256",
        "score",
        "max_score",
        *RUBRIC_ITEMS,
        "outcome",
    ]
    assert sorted(rows) == sorted(CLASS)
    assert rows["alice-submit"]["submission"] == str(class_folder / "alice" / "submit.ipynb")
    assert rows["hand-in-7"]["submission"] == str(class_folder / "hand-in-7.ipynb")
    assert records["hand-in-7"]["batch"]["declared_student"] == "s123"
    assert rows["correct"]["score"] == "100" and rows["correct"]["outcome"] == "graded"
    assert rows["wrong_grad_not_cleared"]["score"] == str(EXPECTED["wrong_grad_not_cleared.ipynb"]["score"])
    assert rows["malformed"]["outcome"].startswith("rejected: ") and rows["malformed"]["score"] == "0"
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["submissions"], summary["graded"], summary["rejected"], summary["pending"]) == (7, 6, 1, 0)
    accuracy = next(item for item in summary["items"] if item["id"] == "e7.accuracy")
    assert accuracy["failed"] >= 1  # alice thresholds logits at 0.5
    assert stdout.startswith("6 of 7 graded, 1 not notebooks we can grade")
    assert "e7.accuracy" in stdout
    assert stderr.count("[") >= 7 and "[7/7]" in stderr  # progress, one line per notebook off a terminal


def test_a_file_name_no_utf_8_holds_is_graded_and_shown_escaped(module_plans, tmp_path):
    """A byte that is not UTF-8 (and an escape) in a file name once stopped the whole batch."""
    folder = tmp_path / "hand-ins"
    folder.mkdir()
    shutil.copyfile(SAMPLES / "correct.ipynb", folder / os.fsdecode(b"carol_\xff\x1b[2J.ipynb"))
    out = tmp_path / "grades"
    done = _batch(folder, "--out", out, plan_cache=module_plans)
    stdout, stderr = done.communicate(timeout=600)
    assert done.returncode == 0, stderr
    assert "Traceback" not in stderr
    (row,) = _gradebook(out)
    assert (row["score"], row["outcome"]) == ("100", "graded")
    assert row["student"] == "carol__2J"  # an id of plain characters
    assert "\\udcff" in row["submission"] and "\x1b" not in row["submission"]  # the path shown escaped
    (record,) = _records(out).values()
    assert record["score"] == 100


def test_html_of_errors_with_script_and_ansi_contains_neither_raw(local_batch):
    _, _, _, out = local_batch
    page = (out / "reports" / "script_and_ansi.html").read_text(encoding="utf-8")
    record = json.loads((out / "reports" / "script_and_ansi.json").read_text())
    assert "alert(1)" in json.dumps(record)  # the notebook's errors do carry a script ...
    assert "&lt;script&gt;" in page  # ... shown as text,
    assert "<script" not in page.lower() and "\x1b" not in page and "\u202e" not in page  # never raw
    assert "<testcase" in (out / "reports" / "script_and_ansi.xml").read_text(encoding="utf-8")


def _grading_workers(batch_pid: int) -> list[int]:
    """The pool's workers: the children of the batch's fork server (which is a child of the batch)."""
    children: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            names[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    servers = [pid for pid in children.get(batch_pid, []) if "forkserver" in names.get(pid, "")]
    return [worker for server in servers for worker in children.get(server, [])]


def _wait_for_records(out: Path, count: int, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while len(list((out / "reports").glob("*.json"))) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_a_killed_worker_and_a_killed_grader_lose_nothing_and_resume_gives_the_same_gradebook(
    local_batch, class_folder, module_plans, tmp_path
):
    out = tmp_path / "grades"
    running = _batch(class_folder, "--out", out, "--jobs", 2, plan_cache=module_plans, start_new_session=True)
    _wait_for_records(out, 2, running)
    before = _records(out)
    workers = _grading_workers(running.pid)
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)  # one worker dies mid-grading: the pool is restarted, the batch goes on
    _wait_for_records(out, len(before) + 2, running)
    os.killpg(running.pid, signal.SIGKILL)  # then the grader, its workers and their sandboxes, at once
    running.communicate(timeout=60)
    finished = _records(out)
    assert all(finished[student] == record for student, record in before.items())  # nothing finished was redone
    rows = _gradebook(out)
    assert {row["student"] for row in rows} == set(finished)  # the gradebook on disk matches the records on disk

    resumed = _batch(class_folder, "--out", out, "--jobs", 2, "--resume", plan_cache=module_plans)
    stdout, stderr = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, stderr
    assert f"{len(finished)} kept from an earlier run (--resume)" in stderr
    assert all(_records(out)[student] == record for student, record in finished.items())
    assert _gradebook(out) == _gradebook(local_batch[3])
    assert grading_processes() == []


def _as_in_a_terminal() -> None:
    """SIGINT as a command started from a terminal has it. A shell starts a background job (``pytest … &``,
    a CI step's ``cmd &``) with SIGINT ignored, every process started from it inherits that, and Python then
    installs no KeyboardInterrupt handler: Ctrl-C would be ignored by design, not by the grader."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_keeps_every_finished_result_and_says_how_to_go_on(class_folder, module_plans, tmp_path):
    out = tmp_path / "grades"
    hand_ins = tmp_path / "hand-ins"
    shutil.copytree(class_folder, hand_ins)
    # Still running when Ctrl-C comes, however fast the rest of the class went.
    write_notebook(hand_ins / "zz-slow.ipynb", ["import time\ntime.sleep(6)"])
    running = _batch(
        hand_ins,
        "--out",
        out,
        "--jobs",
        2,
        plan_cache=module_plans,
        start_new_session=True,
        preexec_fn=_as_in_a_terminal,
    )
    _wait_for_records(out, 1, running)
    os.killpg(running.pid, signal.SIGINT)  # what Ctrl-C in the TA's terminal sends
    stdout, stderr = running.communicate(timeout=60)
    assert running.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == (
        f"grade: interrupted: the finished results are in {out}; rerun with --resume to grade the rest"
    )
    finished = _records(out)
    assert {row["student"] for row in _gradebook(out)} == set(finished) and finished
    deadline = time.monotonic() + 10
    while grading_processes() and time.monotonic() < deadline:
        time.sleep(0.1)  # sandboxes of abandoned gradings die with their workers, a moment later
    assert grading_processes() == []


def test_bad_command_lines_are_one_line_errors(class_folder, module_plans, tmp_path):
    cases = [
        ((tmp_path / "nowhere", "--out", tmp_path / "o"), "no such file or folder"),
        ((f"{tmp_path}/*.ipynb", "--out", tmp_path / "o"), "matches no file"),
        ((class_folder, "--out", tmp_path / "o", "-a", "no-such-assignment"), "no-such-assignment"),
    ]
    for args, message in cases:
        done = _batch(*args, plan_cache=module_plans)
        stdout, stderr = done.communicate(timeout=120)
        assert done.returncode == 2, stderr
        assert stdout == "" and len(stderr.strip().splitlines()) == 1 and message in stderr, stderr


@pytest.fixture
def dask_cluster(module_plans, tmp_path):
    pytest.importorskip("distributed")
    dask = Path(sys.executable).with_name("dask")
    env = {**os.environ, "GRADER_CACHE_DIR": str(module_plans)}
    address_file = tmp_path / "scheduler.json"
    started = [
        subprocess.Popen(
            [
                dask,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                address_file,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not address_file.exists():
            assert time.monotonic() < deadline, "the Dask scheduler did not start"
            time.sleep(0.1)
        for name in ("w1", "w2"):
            started.append(
                subprocess.Popen(
                    [
                        dask,
                        "worker",
                        "--scheduler-file",
                        address_file,
                        "--nthreads",
                        "1",
                        "--nworkers",
                        "1",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                        "--name",
                        name,
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        from distributed import Client

        address = json.loads(address_file.read_text())["address"]
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for process in reversed(started):
            os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def test_dask_batch_gives_the_local_gradebook(local_batch, class_folder, dask_cluster, module_plans, tmp_path):
    out = tmp_path / "grades"
    assert dask_cluster.startswith("tcp://127.0.0.1:")
    done = _batch(class_folder, "--out", out, "--scheduler", dask_cluster, "-f", "html", plan_cache=module_plans)
    stdout, stderr = done.communicate(timeout=600)
    assert done.returncode == 0, stderr
    assert _gradebook(out) == _gradebook(local_batch[3])
    local, remote = _records(local_batch[3]), _records(out)
    for student in CLASS:
        for record in (local[student], remote[student]):
            record.pop("timings", None)
        assert remote[student] == local[student], student
    assert (out / "reports" / "correct.html").is_file()
