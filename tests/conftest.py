"""Shared helpers: paths, a plan cache for the whole run, running the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "samples" / "autograd-basics"
TEMPLATE = ROOT / "assignments" / "autograd-basics" / "autograd-basics.ipynb"
SHORT_LIMITS = ROOT / "tests" / "rubrics" / "autograd-basics-short-limits.yaml"

# The suite runs on two pytest-xdist workers (README: `pytest -n 2 --dist loadgroup`). A module
# listed here runs whole on one worker: it builds an expensive module fixture once (a batch of the
# samples), or holds a fixed resource (loopback ports, an abstract socket name) its tests share.
WHOLE_MODULES = {
    "test_adversarial",
    "test_trusted_side",
    "test_students_side",
    "test_batch",
    "test_batch_two_assignments",
    "test_samples",
    "test_samples_advanced",
    "test_warm_children",
}


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        module = item.path.stem
        if module in WHOLE_MODULES:
            item.add_marker(pytest.mark.xdist_group(module))


@pytest.fixture(scope="session")
def plan_cache(tmp_path_factory) -> Path:
    """One plan cache for the test run: only the first grading draws every input."""
    return tmp_path_factory.mktemp("plans")


def run_grader(*args: object, cwd: Path = ROOT, env: dict | None = None, timeout: float = 600):
    """``python -m grader ARGS`` in a real subprocess, with these variables added; the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "grader", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def grade(plan_cache):
    """Runs ``python -m grader ARGS`` in a real subprocess, with the run's plan cache; returns the CompletedProcess."""

    def run(*args: object, timeout: float = 600, cwd: Path = ROOT, env: dict | None = None):
        return run_grader(*args, cwd=cwd, env={"GRADER_CACHE_DIR": str(plan_cache), **(env or {})}, timeout=timeout)

    return run


@pytest.fixture
def grade_json(grade):
    """Grades a notebook and returns the parsed JSON report (asserting exit status 0)."""

    def run(notebook: Path, *args: object, **kwargs):
        done = grade("-f", "json", *args, notebook, **kwargs)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    return run


SANDBOX_UID = 65534


def _parents() -> dict[int, int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return parents


def _ancestors(pid: int, parents: dict[int, int]) -> set[int]:
    seen: set[int] = set()
    while pid > 1 and pid not in seen:
        seen.add(pid)
        pid = parents.get(pid, 0)
    return seen


def grading_processes(settle: float = 5.0) -> list[str]:
    """Processes a grading started, if any are still alive: the sandbox's (uid nobody) or a child's.

    Under pytest-xdist the other worker grades at the same time: its live processes descend from
    the run's controller (this worker's parent) but not from this worker, and are not counted. A
    process that escaped to init (an orphan) is counted whoever made it, once it has outlived
    ``settle`` seconds: the other worker's tests kill graders on purpose, and their sandboxes take
    a moment to follow.
    """
    deadline = time.monotonic() + settle
    while True:
        found = _grading_processes()
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.25)


def _grading_processes() -> list[str]:
    parents = _parents()
    me, controller = os.getpid(), os.getppid() if "PYTEST_XDIST_WORKER" in os.environ else -1
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if entry.stat().st_uid != SANDBOX_UID and "from child.main import main" not in cmdline:
                continue
        except OSError:
            continue
        line = _ancestors(int(entry.name), parents)
        if me in line or controller not in line:
            found.append(f"{entry.name}: {cmdline[:200]}")
    return found


def write_notebook(path: Path, cells: list[str], *, assignment: str | None = "autograd-basics") -> Path:
    """A real .ipynb with these code cells (a markdown cell first, as students have)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Test notebook")] + [nbformat.v4.new_code_cell(c) for c in cells]
    if assignment is not None:
        nb.metadata["grader"] = {"assignment": assignment}
    nbformat.write(nb, str(path))
    return path


def code_cells(notebook: Path) -> list[str]:
    nb = nbformat.read(str(notebook), as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


def items_by_id(report: dict) -> dict[str, dict]:
    return {item["id"]: item for item in report["items"]}


def batch_reports(notebooks: list[Path], out: Path, plan_cache: Path, *args: object) -> dict[Path, dict]:
    """Grades the notebooks in one ``grade batch`` (2 workers); each JSON report by the notebook's resolved path."""
    done = run_grader(
        "batch", *notebooks, "-o", out, "-j", 2, "-q", *args, env={"GRADER_CACHE_DIR": str(plan_cache)}, timeout=1800
    )
    assert done.returncode == 0, done.stderr
    reports = {}
    for path in (out / "reports").glob("*.json"):
        report = json.loads(path.read_text(encoding="utf-8"))
        reports[(ROOT / report["notebook"]["path"]).resolve()] = report
    return reports


def assert_verdicts(report: dict, spec: dict, rubric_items: list[str]) -> None:
    """The report gives exactly the verdicts an expected.yaml entry lists (every other item full points)."""
    items = items_by_id(report)
    assert list(items) == rubric_items
    for item_id, item in items.items():
        want = spec.get("items", {}).get(item_id, {"status": "passed", "score": item["max_score"]})
        assert (item_id, item["status"], item["score"]) == (item_id, want["status"], want["score"])
        found = [m["id"] for m in item.get("misconceptions", [])]
        assert found == want.get("misconceptions", []), (item_id, item["feedback"])
        if item["status"] != "passed":
            assert item["feedback"].strip()
        if item["status"] in ("failed", "error", "timeout", "crashed"):
            assert item["counterexample"]["input"]["args"], item_id
    assert report["score"] == spec["score"]
    assert report["max_score"] == 100


def without_timings(report: dict) -> dict:
    report = json.loads(json.dumps(report))
    report.pop("timings", None)
    return report
