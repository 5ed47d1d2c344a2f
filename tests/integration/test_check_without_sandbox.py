"""``grade check`` on a student's laptop: no bubblewrap, nothing Linux-only (issue 12, item 5).

As a student on macOS would meet it, on this Linux machine: ``bwrap`` is hidden
from PATH (a folder of links to everything else on it), and the grader's own
process cannot import ``resource`` or ``fcntl`` (stubs first on its PYTHONPATH
that raise ImportError; ``subprocess`` does without ``fcntl``). A
``sitecustomize`` there writes, as the process exits, which modules it
imported: none of the grader's Linux-only ones (cgroups, the zygotes). The
notebook's process has its own scrubbed environment and is not affected.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

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
import atexit, os, sys

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


def test_windows_is_refused_in_one_line_before_any_child_starts(monkeypatch):
    from grader.errors import ExitCode, SandboxError
    from grader.i18n import language
    from grader.sandbox import plain

    # What plain.py sees on Windows: no Unix sockets (only its own names are replaced).
    monkeypatch.setattr(plain, "socket", SimpleNamespace(socket=object))
    monkeypatch.setattr(plain, "sys", SimpleNamespace(platform="win32"))
    with pytest.raises(SandboxError) as refused:
        plain.start_plain(output_cap=1 << 10, max_frame_bytes=1 << 10)
    assert refused.value.exit_code == ExitCode.INTERNAL
    assert str(refused.value) == (
        "grade check cannot run a notebook on win32 yet: run grader.check_all() in the notebook itself, "
        "or grade check under WSL"
    )
    with language("pl"), pytest.raises(SandboxError) as refused:
        plain.require_plain()
    assert str(refused.value) == (
        "grade check nie umie jeszcze uruchomić notatnika w systemie win32: uruchom grader.check_all() "
        "w samym notatniku albo użyj grade check w WSL"
    )
