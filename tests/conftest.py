"""Shared helpers: paths, a plan cache for the whole run, running the real CLI."""

from __future__ import annotations

import json
import os
import re
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

# The course's rubrics say `language: pl`. The suite's tests read English (`grade --lang en`, which
# $GRADER_LANG sets for every grade and grader.check() they start); a test of the Polish sets it to ""
# (the rubric's language) or passes --lang pl.
os.environ["GRADER_LANG"] = "en"

# Under pytest-xdist (not the README's command: slower on 2 cores), use --dist loadfile: a file's module
# fixtures (a batch of the samples) are built once, and its fixed resources (loopback ports, an
# abstract socket name) are never held twice.


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


# The start of a script run with ``python -c`` as a stand-in for a student's Jupyter kernel.
KERNEL_PRELUDE = """
import json, os, sys


def run_cells(cells):
    \"\"\"Each cell in the kernel's __main__, as Jupyter runs them: a failing cell does not stop the rest.\"\"\"
    namespace = vars(sys.modules["__main__"])
    for cell in cells:
        try:
            exec(cell, namespace)
        except Exception:
            pass
"""


def code_cells(notebook: Path) -> list[str]:
    nb = nbformat.read(str(notebook), as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


def items_by_id(report: dict) -> dict[str, dict]:
    return {item["id"]: item for item in report["items"]}


STUDENT_FORMATS = ("text", "markdown", "html", "junit", "gradescope", "classroom")


def batch_reports(
    notebooks: list[Path], out: Path, plan_cache: Path, *args: object, env: dict | None = None
) -> dict[Path, dict]:
    """Grades the notebooks in one ``grade batch`` (2 workers); each JSON report by the notebook's resolved path."""
    done = run_grader(
        "batch",
        *notebooks,
        "-o",
        out,
        "-j",
        2,
        "-q",
        *args,
        env={"GRADER_CACHE_DIR": str(plan_cache), **(env or {})},
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr
    reports = {}
    for path in (out / "reports").glob("*.json"):
        if path.name.endswith(".gradescope.json"):
            continue  # the same report for Gradescope
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


# -- "no English sentence left": what a Polish report may not contain ------------------------------

# English words that are not Polish words and name nothing in code: one of them in a report's prose
# (after code, tensors, snippets and exception messages are taken out) is an English sentence left.
_ENGLISH_WORDS = re.compile(
    r"\b(the|is|are|was|were|and|with|of|for|from|by|not|your|this|that|when|which|should|expected|"
    r"returned|instead|before|after|been|has|have|does|did|its|than|these|those|only|every|must|cannot|"
    r"could|would|into|because|while|got|wrong|passed|failed|score|points|likely|cause|smallest|input|"
    r"missing|limit|feedback|item|items|notebook|cell|graded|differs|elements)\b",
    re.IGNORECASE,
)
_CODE = [
    re.compile(r"```.*?```", re.DOTALL),  # Markdown code blocks
    re.compile(r"<(pre|code|style|head)\b.*?</\1>", re.DOTALL | re.IGNORECASE),  # HTML code, CSS, <head>
    re.compile(r"`[^`\n]*`"),  # code spans
    re.compile(r"\w*tensor\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)"),  # tensor reprs, nested brackets
    re.compile(r"\b\w+(Error|Exception|Warning|Interrupt|Exit)\b:?[^\n]*"),  # exceptions stay verbatim
    re.compile(r"^(    |\t)+\S.*$", re.MULTILINE),  # an indented snippet in the text report
    re.compile(r"\b[\w.]+\([^()\n]*\)"),  # calls: backward(), linear.zero_grad(), p.grad = None's kin
    re.compile(r"\b\w+(\.\w+)+\b"),  # attribute paths: p.grad, nn.Linear, torch.no_grad
    re.compile(r"\b\w+_\w+\b"),  # identifiers with an underscore: requires_grad, train_step
    re.compile(r"https?://\S+"),
    re.compile(r"\S+\.ipynb\b"),  # file names (the samples' are English: wrong_grad_not_cleared.ipynb)
]


def student_text(rendering: str, fmt: str) -> str:
    """What a student reads in a rendering: its prose and code, without markup and machine fields."""
    import base64
    import html
    import xml.etree.ElementTree as ET

    if fmt == "html":
        rendering = re.sub(r"<(head|style)\b.*?</\1>", " ", rendering, flags=re.DOTALL | re.IGNORECASE)
        rendering = re.sub(r"<(pre|code)\b.*?</\1>", " ", rendering, flags=re.DOTALL | re.IGNORECASE)
        return html.unescape(re.sub(r"<[^>]+>", " ", rendering))
    if fmt == "markdown":
        return re.sub(r"\\([\\`*_{}\[\]()#+\-.!|<>~])", r"\1", rendering)
    if fmt == "junit":
        root = ET.fromstring(rendering.encode())
        texts = [p.get("value", "") for p in root.iter("property") if p.get("name") == "title"]
        for case in root.iter("testcase"):
            texts.append(case.get("name", ""))
            for child in case:
                if child.tag in ("failure", "error", "skipped", "system-out"):
                    texts += [child.get("message", ""), child.text or ""]
        return "\n".join(texts)
    if fmt in ("gradescope", "classroom"):
        data = json.loads(base64.b64decode(rendering) if fmt == "classroom" else rendering)
        texts = [str(data.get("output", ""))]
        for test in data.get("tests", []):
            texts += [str(test.get("name", "")), str(test.get("output", "")), str(test.get("message", ""))]
        return "\n".join(texts)
    if fmt == "json":
        report = json.loads(rendering)
        texts = [report["title"]]
        for item in report["items"]:
            texts += [item["title"], item["feedback"]]
            texts += [part["description"] + "\n" + part["message"] for part in item["parts"]]
            texts += [hit["name"] + "\n" + hit["fix"] for hit in item.get("misconceptions", [])]
        return "\n".join(texts)
    return rendering


def assert_all_polish(out: Path) -> int:
    """Every rendering of every report in a batch folder is Polish prose (code and values aside);
    returns how many renderings were read."""
    assert english_left("Wrong: the loss differs from the expected one")  # the detector sees English
    read = 0
    for record in sorted((out / "reports").glob("*.json")):
        if record.name.endswith(".gradescope.json"):
            continue
        report = json.loads(record.read_text(encoding="utf-8"))
        if "items" not in report:
            continue  # a notebook the batch could not grade: its record holds the error line only
        assert report["language"] == "pl", record.name
        snippets = [
            i["counterexample"]["snippet"] for i in report["items"] if i.get("counterexample", {}).get("snippet")
        ]
        # A cell's exception, as the notebook raised it: "graphviz...ExecutableNotFound: failed to ... (wiersz 5)".
        verbatim = [p["error"].rsplit(" (", 1)[0] for p in report["notebook"]["cell_problems"] if p.get("error")]
        left = {"json": english_left(student_text(record.read_text(encoding="utf-8"), "json"), snippets, verbatim)}
        for fmt, suffix in (
            ("text", ".txt"),
            ("markdown", ".md"),
            ("html", ".html"),
            ("junit", ".xml"),
            ("gradescope", ".gradescope.json"),
            ("classroom", ".classroom.txt"),
        ):
            path = record.with_name(record.stem + suffix)
            assert path.is_file(), path
            left[fmt] = english_left(student_text(path.read_text(encoding="utf-8"), fmt), snippets, verbatim)
            read += 1
        assert {fmt: words for fmt, words in left.items() if words} == {}, record.name
    return read


def english_left(text: str, snippets: list[str] = (), verbatim: list[str] = ()) -> list[str]:
    """The English words left in a Polish rendering's prose, with a little context each; the lines
    of ``snippets`` (the report's reproduction code) are code wherever they stand, and ``verbatim``
    (the notebook's exception messages) is the student's own, wherever a line wraps it."""
    import html

    code_lines = {line.strip() for snippet in snippets for line in snippet.splitlines() if line.strip()}
    prose = "\n".join(line for line in html.unescape(text).splitlines() if line.strip() not in code_lines)
    prose = re.sub(r"\s+", " ", prose)
    for quoted in sorted({re.sub(r"\s+", " ", v).strip() for v in verbatim}, key=len, reverse=True):
        prose = prose.replace(quoted, " ") if quoted else prose
    for pattern in _CODE:
        prose = pattern.sub(" ", prose)
    return [prose[max(0, m.start() - 40) : m.end() + 40].replace("\n", " ") for m in _ENGLISH_WORDS.finditer(prose)]
