"""The reproduction snippet, pasted after a notebook's cells, prints the wrong value the report shows.

Each sample is graded by the real CLI; the snippet of the item that lost points is appended
as a new cell and the notebook runs again, without the sandbox, through the grader's own
cell runner (``grader.child.cells``: shell escapes and magics are recorded, never run). What
the snippet prints must be the value the report calls "got", and not the expected one.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, batch_reports

BASICS = ROOT / "tests" / "samples" / "autograd-basics"
ADVANCED = ROOT / "tests" / "samples" / "autograd-advanced"

# Runs a notebook's code cells and then the snippet, in a fresh interpreter; prints a marker first,
# so that only what the snippet prints is read back, with every digit the comparison needs.
RUNNER = textwrap.dedent(
    """
    import sys
    from grader.child import cells
    from grader.notebook import read_notebook, to_python

    notebook = read_notebook(sys.argv[1])
    ns, shell = cells.make_namespace(lambda note: None)
    for index, source in to_python(notebook.cells):
        cells.run_cell(index, source, ns, shell)
    print("<<snippet>>", flush=True)
    import torch
    torch.set_printoptions(precision=10)  # what a student sees, to more digits than the report's six
    cells.run_source(open(sys.argv[2], encoding="utf-8").read(), "<cell snippet>", ns)
    """
)

# (sample, item, the argument kinds its snippet builds)
CASES = [
    (BASICS / "wrong_grad_not_cleared.ipynb", "e7.train_step", "nn.Linear with stale .grad"),
    (BASICS / "wrong_cross_entropy_binary.ipynb", None, "tensors"),
    (ADVANCED / "wrong_backward_ignores_grad_out.ipynb", None, "an upstream gradient g"),
    (ADVANCED / "wrong_hvp_finite_differences.ipynb", "hvp", "a function from the catalogue"),
    (ADVANCED / "wrong_accumulate_stale_grads_kept.ipynb", None, "nn.Linear"),
    (ADVANCED / "wrong_hook_on_caller_tensor.ipynb", None, "a second backward through x"),
]

_NUMBER = re.compile(r"-?(?:\d+\.?\d*(?:e[-+]?\d+)?|inf|nan)", re.IGNORECASE)


def numbers(text: str) -> np.ndarray:
    """The numbers of a printed tensor or of "got tensor([...], dtype=float32)", in order."""
    text = re.sub(r"dtype=\w+|torch\.\w+|grad_fn=<\w+>|requires_grad=True|Parameter containing:", "", text)
    return np.array([float(n) for n in _NUMBER.findall(text)], dtype=np.float64)


def _got_and_expected(message: str) -> tuple[np.ndarray, np.ndarray]:
    got, _, expected = message.rpartition(": got ")[2].partition(", expected ")
    return numbers(got), numbers(expected)


def _first_lost(report: dict, item_id: str | None) -> dict:
    lost = [item for item in report["items"] if item["status"] == "failed" and item.get("counterexample")]
    if item_id is not None:
        lost = [item for item in lost if item["id"].startswith(item_id) or item["function"] == item_id]
    with_values = [
        item
        for item in lost
        if any(": got " in p["message"] for p in item["counterexample"].get("problems", []))
        and item["counterexample"].get("snippet")
    ]
    assert with_values, f"no failed item with a value that differs among {[i['id'] for i in report['items']]}"
    return with_values[0]


def _run(notebook: Path, snippet: str, tmp_path: Path) -> str:
    code = tmp_path / "snippet.py"
    code.write_text(snippet, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(notebook), str(code)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.split("<<snippet>>\n", 1)[1]


@pytest.fixture(scope="module")
def batched(plan_cache, tmp_path_factory) -> tuple[Path, dict[Path, dict]]:
    """The samples graded in one batch (each notebook names its assignment), rendered for students."""
    out = tmp_path_factory.mktemp("snippets") / "out"
    return out, batch_reports(
        [case[0] for case in CASES], out, plan_cache, "-f", "text", "-f", "markdown", "-f", "html"
    )


@pytest.mark.parametrize(("notebook", "item_id", "kinds"), CASES, ids=[c[0].stem for c in CASES])
def test_the_snippet_prints_the_wrong_value_the_report_shows(batched, tmp_path, notebook, item_id, kinds):
    report = batched[1][notebook.resolve()]
    item = _first_lost(report, item_id)
    counterexample = item["counterexample"]
    snippet = counterexample["snippet"]
    assert f"{item['function']}(" in snippet
    problem = next(p for p in counterexample["problems"] if ": got " in p["message"])
    got, expected = _got_and_expected(problem["message"])
    assert got.size and got.size == expected.size

    printed = _run(notebook, snippet, tmp_path)
    # One print per wrong fact, labelled when there are several.
    shown = _printed_values(printed.splitlines()) or [numbers(printed)]
    same = [values for values in shown if values.shape == got.shape and _close(values, got)]
    assert same, f"the snippet printed\n{printed}\nthe report says: {problem['message']}"
    assert not _close(same[0], expected)


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    # The report rounds to 6 significant digits (grader.observe.formatting).
    return bool(np.allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True))


def _printed_values(lines: list[str]) -> list[np.ndarray]:
    """``print("x.grad:", x.grad)`` lines (a tensor's repr may run over several lines), one array each."""
    blocks: list[list[str]] = []
    for line in lines:
        if re.match(r"^[\w\[\].]+( is \w+)?: ", line):
            blocks.append([line.split(": ", 1)[1]])
        elif blocks:
            blocks[-1].append(line)
    return [numbers(" ".join(block)) for block in blocks]


def test_the_snippet_of_a_report_is_in_every_students_format(batched):
    """The same snippet in the text, Markdown and HTML reports (HTML-escaped there)."""
    out, reports = batched
    notebook = BASICS / "wrong_grad_not_cleared.ipynb"
    snippet = _first_lost(reports[notebook.resolve()], "e7.train_step")["counterexample"]["snippet"]
    rendered = out / "reports" / notebook.stem
    text = rendered.with_suffix(".txt").read_text(encoding="utf-8")
    assert "\n".join("    " + line if line else "" for line in snippet.rstrip().splitlines()) in text
    markdown = rendered.with_suffix(".md").read_text(encoding="utf-8")
    assert f"```python\n{snippet.rstrip()}\n```" in markdown
    page = rendered.with_suffix(".html").read_text(encoding="utf-8")
    assert f"<code>{html.escape(snippet.rstrip())}</code>" in page
