"""``grade check`` on a student's laptop: no bubblewrap, nothing Linux-only (issue 12, item 5).

As a student on macOS would meet it, on this Linux machine: ``bwrap`` is hidden
from PATH (a folder of links to everything else on it), and the grader's own
process cannot import ``resource`` or ``fcntl`` (stubs first on its PYTHONPATH
that raise ImportError; ``subprocess`` does without ``fcntl``). A
``sitecustomize`` there writes, as the process exits, which modules it
imported: none of the grader's Linux-only ones (cgroups, the zygotes). As on
Windows, it can also take away Unix sockets, ``fork()`` and process groups.
The notebook's process has its own scrubbed environment and is not affected.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

SAMPLES = ROOT / "tests" / "samples"
LINUX_ONLY = {"resource", "fcntl", "grader.sandbox.cgroups", "grader.sandbox.zygote", "grader.child.zygote"}
REFUSED = (
    "grade: error: the sandbox is not available: bwrap is not installed (Debian/Ubuntu: apt-get install "
    "bubblewrap); fix that, or pass --sandbox none to run the notebook without isolation"
)
NOTICE = {
    "en": "grade check: no sandbox on this machine: your notebook ran without isolation, as when you run it "
    "yourself (grading runs it in the sandbox)",
    "pl": "grade check: na tym komputerze nie ma piaskownicy: Twój notatnik działał bez izolacji, tak jak "
    "wtedy, gdy uruchamiasz go u siebie (przy ocenianiu działa w piaskownicy)",
}

_SITECUSTOMIZE = """\
import atexit, os, socket, sys

if os.environ.get("GRADER_TEST_AS_WINDOWS"):  # what Windows lacks (the child's own environment is clean)
    del socket.AF_UNIX, os.fork, os.killpg

def _record(path):
    with open(path, "w") as handle:
        handle.write("\\n".join(sorted(sys.modules)))

if os.environ.get("GRADER_TEST_MODULES"):
    atexit.register(_record, os.environ["GRADER_TEST_MODULES"])
"""


@pytest.fixture(scope="module")
def laptop(tmp_path_factory) -> dict[str, str]:
    """The environment of a machine without bubblewrap whose Python has no ``resource`` or ``fcntl``."""
    root = tmp_path_factory.mktemp("laptop")
    bin_dir = root / "bin"
    bin_dir.mkdir()
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if not os.path.isdir(folder):
            continue
        for entry in os.scandir(folder):
            link = bin_dir / entry.name
            if entry.name != "bwrap" and not link.exists() and os.access(entry.path, os.X_OK):
                link.symlink_to(entry.path)
    stubs = root / "stubs"
    stubs.mkdir()
    for name in ("resource", "fcntl"):
        (stubs / f"{name}.py").write_text(f"raise ImportError('no {name} here: not Linux')\n")
    (stubs / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    return {"PATH": str(bin_dir), "PYTHONPATH": str(stubs)}


def _modules(path: Path) -> set[str]:
    return set(path.read_text().split())


def test_the_laptop_has_neither_bwrap_nor_the_linux_modules(laptop):
    assert shutil.which("bwrap", path=laptop["PATH"]) is None
    assert shutil.which("python3", path=laptop["PATH"]) is not None  # everything else is still there
    for name in ("resource", "fcntl"):
        tried = subprocess.run(
            [sys.executable, "-c", f"import {name}"], env={**os.environ, **laptop}, capture_output=True
        )
        assert tried.returncode == 1 and b"ImportError: no " + name.encode() in tried.stderr


@pytest.mark.parametrize("assignment", ["autograd-basics", "autograd-advanced"])
def test_grade_check_runs_the_correct_sample_unsandboxed_and_says_so_once(grade, laptop, tmp_path, assignment):
    modules = tmp_path / "modules.txt"
    env = {**laptop, "GRADER_TEST_MODULES": str(modules)}
    notebook = SAMPLES / assignment / "correct.ipynb"
    done = grade("check", "-f", "json", "--lang", "en", "-a", assignment, notebook, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [NOTICE["en"]]
    report = json.loads(done.stdout)
    assert report["sandbox"] == "none"
    assert report["all_passed"] is True
    assert {item["status"] for item in report["items"]} == {"passed"}
    assert report["items"] and all(f["status"] != "failed" for item in report["items"] for f in item["findings"])
    imported = _modules(modules)
    assert "grader.sandbox.plain" in imported  # the record is of this run: it did start a plain child
    assert not imported & LINUX_ONLY


def test_the_notice_is_in_the_students_language(grade, laptop):
    done = grade("check", "--lang", "pl", SAMPLES / "autograd-basics" / "correct.ipynb", env=laptop, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [NOTICE["pl"]]


def test_grade_for_tas_still_refuses_without_the_sandbox(grade, laptop):
    done = grade(SAMPLES / "autograd-basics" / "correct.ipynb", env=laptop, timeout=120)
    assert done.returncode == 3
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith("grade: error: ") and "apt-get install bubblewrap" in done.stderr


def test_grade_batch_still_refuses_without_the_sandbox(grade, laptop, tmp_path):
    notebook = SAMPLES / "autograd-basics" / "correct.ipynb"
    done = grade("batch", notebook, "--out", tmp_path / "grades", env=laptop, timeout=120)
    assert done.returncode == 3, done.stderr
    assert "apt-get install bubblewrap" in done.stderr


def test_an_explicit_sandbox_is_refused_where_bwrap_is_missing(grade, laptop):
    notebook = SAMPLES / "autograd-basics" / "correct.ipynb"
    done = grade("check", "--sandbox", "bubblewrap", "--lang", "en", notebook, env=laptop, timeout=120)
    assert done.returncode == 3
    assert done.stdout == ""
    assert done.stderr.strip() == REFUSED


@pytest.mark.parametrize(
    ("assignment", "sample", "statuses"),
    [
        ("autograd-basics", "correct", {}),
        ("autograd-advanced", "correct", {}),
        # os.kill(os.getpid(), 9) in sgd_step_: the worker is the notebook's process itself here, so the
        # notebook runs again for the next item, whose worker dials in anew
        ("autograd-basics", "kills_own_process", {"e6.sgd_step": "crashed"}),
    ],
)
def test_grade_check_runs_where_descriptors_cannot_travel_as_on_windows(
    grade, laptop, tmp_path, assignment, sample, statuses
):
    """What Windows lacks, taken away from the grader's process: Unix sockets, fork() and process groups.

    The child then dials a loopback port and presents a token, for its control connection and for every
    worker, which it serves itself. (A socket pair would fail here: Linux has none but Unix ones.)
    """
    modules = tmp_path / "modules.txt"
    env = {**laptop, "GRADER_TEST_MODULES": str(modules), "GRADER_TEST_AS_WINDOWS": "1"}
    notebook = SAMPLES / assignment / f"{sample}.ipynb"
    done = grade("check", "-f", "json", "--lang", "en", "-a", assignment, notebook, env=env, timeout=600)
    assert done.returncode == (0 if not statuses else 1), done.stderr
    assert done.stderr.splitlines() == [NOTICE["en"]]
    report = json.loads(done.stdout)
    assert {item["id"]: item["status"] for item in report["items"] if item["status"] != "passed"} == statuses
    assert len(report["items"]) == (12 if assignment == "autograd-basics" else 8)
    imported = _modules(modules)
    assert "grader.sandbox.plain" in imported
    assert not imported & LINUX_ONLY


def test_a_dialled_connection_needs_the_token(tmp_path):
    import socket
    import time

    from grader.child.wire import Connection, WireError
    from grader.sandbox.plain import Channel

    channel = Channel()
    try:
        stranger = socket.create_connection(("127.0.0.1", channel.port))
        stranger.sendall(b"0" * 32)  # the right length, not the token
        child = socket.create_connection(("127.0.0.1", channel.port))
        child.sendall(channel.token.encode())
        accepted = channel.accept(time.monotonic() + 5)
        assert stranger.recv(1) == b""  # closed unheard
        ours, theirs = Connection(accepted), Connection(child)
        theirs.send({"ev": "hello"}, [b"x" * 300_000])  # bigger than one write of a non-blocking socket
        header, blobs = ours.recv(deadline=time.monotonic() + 5)
        assert header == {"ev": "hello"} and blobs == [b"x" * 300_000]
        with pytest.raises(WireError):
            channel.accept(time.monotonic() + 0.3)  # nobody else dials: the deadline ends the wait
        ours.close()
        theirs.close()
        stranger.close()
    finally:
        channel.close()
