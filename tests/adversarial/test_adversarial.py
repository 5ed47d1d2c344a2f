"""Hostile and broken notebooks, graded in the real sandbox.

Each notebook in ``notebooks/`` has an entry in ``expected.yaml`` (see there
for the schema). The whole corpus is graded in one ``grade batch`` (each
notebook in a warm child forked from a zygote, as a TA grades a class); those
in ``GRADED_ALONE`` are also graded by ``grade`` alone (a cold child, as the
CI bot runs it). Whatever a notebook does, the grader must exit normally
(with a report, or with its one-line error for files that are not
notebooks), give no undeserved points, still grade the other items where
the notebook allows, change nothing outside the sandbox, receive no
connection, leave no process behind, and leak no secret of the grader's
environment.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, SAMPLES, SHORT_LIMITS, grading_processes

HERE = Path(__file__).resolve().parent
NOTEBOOKS = HERE / "notebooks"
EXPECTED = yaml.safe_load((HERE / "expected.yaml").read_text(encoding="utf-8")) or {}
RUBRIC_ITEMS = [item["id"] for item in yaml.safe_load(SHORT_LIMITS.read_text())["items"]]
LIMIT_NAMES = {"time limit", "memory limit", "process limit", "output truncated", "exited", "disk limit"}

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)")


class Listener:
    """A loopback server the notebooks try to reach; it records every connection."""

    def __init__(self, port: int) -> None:
        self.connections: list[bytes] = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(0.5)
            try:
                self.connections.append(conn.recv(1024) or b"<connected>")
            except OSError:
                self.connections.append(b"<connected>")
            conn.close()

    def close(self) -> None:
        self.running = False
        self.thread.join(2)
        self.sock.close()


@pytest.fixture(scope="module")
def listener():
    ports = {spec["listener"] for spec in EXPECTED.values() if spec.get("listener")}
    servers = {port: Listener(port) for port in ports}
    yield servers
    for server in servers.values():
        server.close()


def grader_cgroups(pid: int | str = "*") -> list[Path]:
    """The cgroups graders made (``grader-<pid>-<id>``), all or those of the grader whose pid is given."""
    return [p for p in Path("/sys/fs/cgroup").glob(f"*/**/grader-{pid}-*") if p.is_dir()]


def grade_recording_pid(
    *args: object, env: dict[str, str], plan_cache: Path
) -> tuple[subprocess.CompletedProcess, int]:
    """``grade ARGS`` as the ``grade`` fixture runs it, and the pid its cgroups are named after."""
    process = subprocess.Popen(
        [sys.executable, "-m", "grader", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "GRADER_CACHE_DIR": str(plan_cache), **env},
    )
    stdout, stderr = process.communicate(timeout=600)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr), process.pid


UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def limits_named(report: dict) -> set[str]:
    named = set(report["notebook"].get("limits_hit", []))
    named |= {item["limit"] for item in report["items"] if item.get("limit")}
    return named


def test_every_notebook_has_an_expected_outcome():
    assert {p.name for p in NOTEBOOKS.glob("*.ipynb")} == set(EXPECTED)
    assert len(EXPECTED) >= 25
    for name, spec in EXPECTED.items():
        assert set(spec) <= {"does", "exit", "error", "score_at_most", "items", "limits", "untouched", "listener"}, name
        assert set(spec.get("limits", [])) <= LIMIT_NAMES, name
        assert set(spec.get("items", {})) <= set(RUBRIC_ITEMS), name


# Graded alone too (a cold child, as `grade` and the CI bot run it), besides the whole corpus in one
# `grade batch` (warm children forked from a zygote): the notebooks that go for the process tree, the
# file system outside the sandbox and the network, where the two paths confine differently.
GRADED_ALONE = (
    "kills_parent_process.ipynb",
    "double_fork_daemon_top_level.ipynb",
    "writes_outside_sandbox.ipynb",
    "reads_reference_solution.ipynb",
    "connects_to_loopback_listener.ipynb",
)


def _check_outcome(name: str, spec: dict, report: dict | None, error: str | None) -> None:
    """The report (or the one-line refusal) says what expected.yaml says of the notebook."""
    if spec.get("exit", 0) == 2:
        assert report is None and error is not None and spec["error"] in error, error
        return
    assert report is not None, error
    items = {item["id"]: item for item in report["items"]}
    assert list(items) == RUBRIC_ITEMS
    for item_id, item in items.items():
        want = spec.get("items", {}).get(item_id, "passed")
        assert (item_id, item["status"]) == (item_id, want), item["feedback"]
    assert report["score"] <= spec.get("score_at_most", 100)
    assert set(spec.get("limits", [])) <= limits_named(report), report["notebook"]
    assert report["environment"]["sandbox"] == "bubblewrap"
    assert [s for s in strings(report) if UNSAFE.search(s)] == []  # what the student wrote, escaped


def _check_nothing_escaped(specs: list[dict], listener: dict, readme: bytes) -> None:
    """Nothing changed outside the sandbox and nothing reached the loopback listeners."""
    assert (ROOT / "README.md").read_bytes() == readme
    for spec in specs:
        for path in spec.get("untouched", []):
            assert not Path(path).exists(), path
    for server in listener.values():
        assert server.connections == []


@pytest.fixture(scope="module")
def corpus(plan_cache, tmp_path_factory, listener):
    """The whole corpus in one ``grade batch``, as a TA grades a class: what it printed, its reports, its pid."""
    folder = tmp_path_factory.mktemp("corpus") / "hand-ins"
    folder.mkdir()
    for name, spec in EXPECTED.items():
        shutil.copyfile(NOTEBOOKS / name, folder / name)
        for path in spec.get("untouched", []):
            Path(path).unlink(missing_ok=True)
    readme = (ROOT / "README.md").read_bytes()
    secret = f"GRADER_TEST_SECRET-{uuid.uuid4().hex}"
    already = set(grading_processes())
    out = folder.parent / "out"
    args = ("batch", folder, "-o", out, "-j", 2, "-q", "-a", SHORT_LIMITS)
    done, pid = grade_recording_pid(*args, env={"GRADER_TEST_SECRET": secret}, plan_cache=plan_cache)
    left = set(grading_processes()) - already
    return {"done": done, "pid": pid, "out": out, "folder": folder, "secret": secret, "readme": readme, "left": left}


def test_the_corpus_batch_ends_normally_and_nothing_escapes_it(corpus, listener):
    done = corpus["done"]
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert sorted(p.name for p in corpus["folder"].iterdir()) == sorted(EXPECTED)  # nothing written beside them
    _check_nothing_escaped(list(EXPECTED.values()), listener, corpus["readme"])
    assert corpus["left"] == set()
    assert grader_cgroups(corpus["pid"]) == []
    secret = corpus["secret"]
    assert secret not in done.stdout and secret not in done.stderr
    for path in corpus["out"].rglob("*"):
        assert not path.is_file() or secret.encode() not in path.read_bytes(), path


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_notebook(name, corpus):
    record = json.loads((corpus["out"] / "reports" / f"{Path(name).stem}.json").read_text(encoding="utf-8"))
    rejected = record["batch"]["outcome"] == "rejected"
    _check_outcome(name, EXPECTED[name], None if rejected else record, record.get("error"))


@pytest.mark.parametrize("name", GRADED_ALONE)
def test_hostile_notebook_graded_alone(name, plan_cache, tmp_path, listener):
    spec = EXPECTED[name]
    folder = tmp_path / "hand-in"
    folder.mkdir()
    notebook = folder / name
    shutil.copyfile(NOTEBOOKS / name, notebook)
    for path in spec.get("untouched", []):
        Path(path).unlink(missing_ok=True)
    readme = (ROOT / "README.md").read_bytes()
    secret = f"GRADER_TEST_SECRET-{uuid.uuid4().hex}"
    already = set(grading_processes())

    done, pid = grade_recording_pid(
        "-f", "json", "-a", SHORT_LIMITS, notebook, env={"GRADER_TEST_SECRET": secret}, plan_cache=plan_cache
    )

    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == spec.get("exit", 0), done.stderr[-2000:]
    _check_outcome(name, spec, json.loads(done.stdout), None)
    # Nothing leaked, changed, reached or left running.
    assert secret not in done.stdout and secret not in done.stderr
    assert sorted(p.name for p in folder.iterdir()) == [name]
    _check_nothing_escaped([spec], listener, readme)
    assert set(grading_processes()) <= already
    assert grader_cgroups(pid) == []  # the other xdist worker's graders make their own meanwhile


def test_killing_the_notebooks_process_is_a_crash_even_when_every_call_was_answered(grade):
    # With one example, f1's worker answers before the pid namespace's end takes it, nearly
    # always: only the check that the notebook's process outlived the calls makes this a crash.
    done = grade("-f", "json", "-a", SHORT_LIMITS, "--examples", "1", NOTEBOOKS / "kills_every_process.ipynb")
    assert done.returncode == 0, done.stderr[-2000:]
    item = next(i for i in json.loads(done.stdout)["items"] if i["id"] == "e1.value")
    assert item["status"] == "crashed", item["feedback"]
    assert "the notebook's whole process died while it ran" in item["feedback"]


def test_escapes_and_bidi_overrides_never_reach_the_terminal(grade):
    done = grade("-a", SHORT_LIMITS, NOTEBOOKS / "ansi_and_bidi_in_errors.ipynb", timeout=600)
    assert done.returncode == 0
    assert UNSAFE.search(done.stdout) is None
    assert "\\x1b[2J" in done.stdout  # shown, not obeyed


def test_a_fifty_megabyte_notebook_is_graded(grade, tmp_path):
    nb = json.loads((SAMPLES / "correct.ipynb").read_text())
    blob = "A" * (50 << 20)
    nb["cells"][1]["outputs"] = [{"output_type": "display_data", "metadata": {}, "data": {"image/png": blob}}]
    big = tmp_path / "fifty_megabytes_of_outputs.ipynb"
    big.write_text(json.dumps(nb))
    assert big.stat().st_size > 50 << 20
    done = grade("-f", "json", big, timeout=600)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["score"] == 100


def test_a_symlink_is_read_once_through(grade, tmp_path):
    link = tmp_path / "submit.ipynb"
    link.symlink_to(SAMPLES / "correct.ipynb")
    done = grade("-f", "json", link, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["score"] == 100
    assert report["sha256"] == json.loads(grade("-f", "json", SAMPLES / "correct.ipynb").stdout)["sha256"]


def test_a_symlink_to_a_secret_file_is_not_a_notebook(grade, tmp_path):
    link = tmp_path / "submit.ipynb"
    link.symlink_to("/etc/shadow" if os.path.exists("/etc/shadow") else "/etc/hostname")
    done = grade(link, timeout=120)
    assert done.returncode == 2
    assert "not a notebook" in done.stderr or "not a Jupyter notebook" in done.stderr
    assert done.stderr.count("\n") == 1
