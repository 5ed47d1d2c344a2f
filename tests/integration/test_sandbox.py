"""What the sandboxed child can see and reach, observed from inside.

A notebook records what it finds at the top level; its f1 raises an error
carrying that record, which comes back in the feedback as plain text.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys

import pytest

from conftest import ROOT, SAMPLES, code_cells, items_by_id, write_notebook

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")

LOOK_AROUND = """
import json, os, socket
def _can_read(path):
    try:
        with open(path, 'rb') as handle:
            handle.read(1)
        return True
    except OSError:
        return False
def _can_connect(port):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=1).close()
        return True
    except OSError:
        return False
def _can_write(path):
    try:
        with open(path, 'w') as handle:
            handle.write('x')
        return True
    except OSError:
        return False
SEEN = {
    'uid': os.getuid(),
    'reference': os.path.exists(%(reference)r) or _can_read(%(solution)r),
    'rubrics': os.path.exists(%(rubrics)r),
    'submission folder': os.path.exists(%(folder)r),
    'grader home': sorted(os.listdir(%(home)r)) if os.path.isdir(%(home)r) else [],
    'secret in environment': any('GRADER_TEST_SECRET' in v for v in os.environ.values()),
    'loopback listener': _can_connect(%(port)d),
    'dns': _can_connect_dns() if False else None,
    'writes repo': _can_write(%(repo_marker)r),
    'writes /': _can_write('/written-at-the-root'),
    'writes home': _can_write('written-in-home'),
    'processes': sorted(p for p in os.listdir('/proc') if p.isdigit()),
    'cwd': os.getcwd(),
}
try:
    socket.getaddrinfo('pypi.org', 443)
    SEEN['dns'] = True
except OSError:
    SEEN['dns'] = False
"""


def _report_what_it_sees(grade, tmp_path):
    folder = tmp_path / "hand-in"
    folder.mkdir()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    marker = ROOT / "written-from-the-sandbox"
    setup = LOOK_AROUND % {
        "reference": str(ROOT / "reference"),
        "solution": str(ROOT / "reference" / "autograd_basics" / "solution.py"),
        "rubrics": str(ROOT / "rubrics"),
        "folder": str(folder),
        "home": os.path.expanduser("~"),
        "port": port,
        "repo_marker": str(marker),
    }
    cells = [setup, "def f1(t, u):\n    raise RuntimeError('SEEN=' + json.dumps(SEEN))"]
    notebook = write_notebook(folder / "looks_around.ipynb", cells)
    try:
        done = grade("-f", "json", notebook, env={"GRADER_TEST_SECRET": "s3cr3t"})
        server.settimeout(0.1)
        with pytest.raises(TimeoutError):
            server.accept()
    finally:
        server.close()
    assert done.returncode == 0, done.stderr
    assert not marker.exists()
    feedback = items_by_id(json.loads(done.stdout))["e1.value"]["feedback"]
    return json.loads(feedback.split("SEEN=", 1)[1].split(" (cell", 1)[0]), json.loads(done.stdout)


@needs_bwrap
def test_the_sandbox_sees_nothing_of_the_grader(grade, tmp_path):
    seen, report = _report_what_it_sees(grade, tmp_path)
    home = os.path.expanduser("~")
    # The interpreter may live under the home (pyenv): then only the way to it is there.
    interpreter_ways = {
        os.path.relpath(tree, home).split(os.sep)[0]
        for tree in (sys.base_prefix, sys.prefix, os.path.realpath(sys.executable))
        if tree.startswith(home + os.sep)
    }
    assert set(seen["grader home"]) <= interpreter_ways
    assert seen == {
        **seen,
        "uid": 65534,
        "reference": False,
        "rubrics": False,
        "submission folder": False,
        "secret in environment": False,
        "loopback listener": False,
        "dns": False,
        # Where the checkout sits under /tmp (a CI clone), the way to the venv is
        # inside the sandbox's own /tmp: writable there, gone with it. The host
        # side is checked above: the marker never appears in the checkout.
        "writes repo": seen["writes repo"] if str(ROOT).startswith("/tmp/") else False,
        "writes /": False,
        "writes home": True,  # its own tmpfs, gone with it
        "processes": seen["processes"],
        "cwd": "/home/student",
    }
    assert len(seen["processes"]) <= 4  # its own pid namespace: bubblewrap's init, the notebook, a worker
    assert report["environment"]["sandbox"] == "bubblewrap"


def test_without_the_sandbox_the_report_says_so(grade_json):
    report = grade_json(SAMPLES / "correct.ipynb", "--sandbox", "none")
    assert report["environment"]["sandbox"] == "none (no isolation: --sandbox none)"
    assert report["score"] == 100


def test_a_missing_sandbox_is_refused_with_the_fix(grade):
    done = grade(SAMPLES / "correct.ipynb", env={"PATH": "/nonexistent"}, timeout=120)
    assert done.returncode == 3
    assert done.stdout == ""
    assert done.stderr.strip() == (
        "grade: error: the sandbox is not available: bwrap is not installed (Debian/Ubuntu: apt-get install "
        "bubblewrap); fix that, or pass --sandbox none to run the notebook without isolation"
    )


def test_sandbox_none_runs_where_bubblewrap_is_missing(grade_json):
    report = grade_json(SAMPLES / "correct.ipynb", "--sandbox", "none", env={"PATH": "/nonexistent"})
    assert report["score"] == 100


@needs_bwrap
def test_memory_limit_is_named_and_costs_only_its_item(grade_json, tmp_path):
    from conftest import SHORT_LIMITS

    cells = code_cells(SAMPLES / "correct.ipynb")
    cells.append(
        "def accuracy(logits, y):\n"
        "    import torch\n"
        "    hoard = []\n"
        "    while True:\n"
        "        hoard.append(torch.ones(64 * 2**20))\n"
    )
    report = grade_json(write_notebook(tmp_path / "memory_bomb_in_accuracy.ipynb", cells), "-a", SHORT_LIMITS)
    items = items_by_id(report)
    assert items["e7.accuracy"]["status"] == "crashed"
    assert items["e7.accuracy"]["limit"] == "memory limit"
    assert "ran out of memory" in items["e7.accuracy"]["feedback"]
    assert "memory limit" in report["notebook"]["limits_hit"]
    assert all(i["status"] == "passed" for k, i in items.items() if k != "e7.accuracy")


def test_python_is_the_one_running_the_tests():
    assert sys.executable  # the sandbox binds this interpreter's folders: keep the suite on one interpreter


def test_cgroups_left_by_a_killed_grader_are_swept_by_the_next():
    from grader.sandbox import cgroups

    made = cgroups.Cgroups.create(memory_bytes=1 << 30, processes=16)
    if made is None:
        pytest.skip("cgroup v1 memory and pids controllers are not writable here")
    made.remove()
    # What a grader killed with SIGKILL leaves: empty cgroups named after its pid.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = [path.parent / f"grader-{dead.pid}-0123456789ab" for path in (made.memory, made.pids)]
    for path in stale:
        path.mkdir()
    live = [path.parent / f"grader-{os.getpid()}-ba9876543210" for path in (made.memory, made.pids)]
    for path in live:
        path.mkdir()
    try:
        again = cgroups.Cgroups.create(memory_bytes=1 << 30, processes=16)
        assert again is not None
        again.remove()
        assert [path.exists() for path in stale] == [False, False]
        assert [path.exists() for path in live] == [True, True]  # its owner still runs
    finally:
        for path in stale + live:
            if path.exists():
                path.rmdir()


def test_working_folders_left_by_a_killed_grader_are_swept_by_the_next():
    import tempfile
    from pathlib import Path

    from grader.sandbox import launch as sandbox

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = Path(tempfile.mkdtemp(prefix=f"grader-child-{dead.pid}-"))
    (stale / "etc").mkdir()
    live = Path(tempfile.mkdtemp(prefix=f"grader-child-{os.getpid()}-"))
    try:
        sandbox.sweep_stale_workdirs.__wrapped__()  # once per process otherwise
        assert not stale.exists()
        assert live.exists()  # its owner still runs
    finally:
        shutil.rmtree(stale, ignore_errors=True)
        shutil.rmtree(live, ignore_errors=True)


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_a_notebook_process_that_exits_by_itself_leaves_no_zombie():
    # Bubblewrap outside exits as soon as its init reports the notebook's process gone,
    # without reaping that init: it must not be left for a slow machine init to collect.
    import time

    from conftest import grading_processes
    from grader.sandbox import launch as sandbox

    already = grading_processes()
    for _ in range(5):
        child = sandbox.start_child(
            confinement=sandbox.Confinement(memory_bytes=2 << 30, processes=16),
            output_cap=1 << 16,
            max_frame_bytes=1 << 20,
        )
        deadline = time.monotonic() + 60
        assert child.control.recv(deadline=deadline)[0]["ev"] == "hello"
        child.control.send({"device": "cpu", "cells": []}, deadline=deadline)
        assert child.control.recv(deadline=deadline)[0]["ev"] == "ready"
        child.control.send({"op": "quit"}, deadline=deadline)
        assert child.proc.wait(timeout=30) == 0
        child.kill()
        assert grading_processes() == already
