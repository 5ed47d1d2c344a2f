"""Shared helpers: paths, a plan cache for the whole run, running the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "samples" / "autograd-basics"
TEMPLATE = ROOT / "assignments" / "autograd-basics" / "autograd-basics.ipynb"
SHORT_LIMITS = ROOT / "tests" / "rubrics" / "autograd-basics-short-limits.yaml"


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


def grading_processes() -> list[str]:
    """Processes a grading started, if any are still alive: the sandbox's (uid nobody) or a child's."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if entry.stat().st_uid == SANDBOX_UID or "from child.main import main" in cmdline:
                found.append(f"{entry.name}: {cmdline[:200]}")
        except OSError:
            continue
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
