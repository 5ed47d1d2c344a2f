"""The child's cell runner, in-process."""

from __future__ import annotations

from grader.child import cells


def run(sources):
    notes = []
    ns, shell = cells.make_namespace(notes.append)
    results = [cells.run_cell(i, src, ns, shell) for i, src in enumerate(sources, start=1)]
    return ns, results, notes


def test_a_failing_cell_is_recorded_and_the_next_one_runs():
    ns, results, _ = run(["x = 1\nraise ValueError('bad')\ny = 2", "z = x + 1"])
    assert results[0]["ok"] is False and results[0]["error"]["type"] == "ValueError"
    assert results[0]["error"]["where"] == {"cell": "1", "line": 2, "code": "raise ValueError('bad')"}
    assert "y" not in ns and ns["z"] == 2


def test_a_missing_module_skips_only_its_import():
    ns, results, _ = run(
        ["import numpy as np\nimport sklearn_is_not_here\nfrom torchviz_missing import make_dot\nz = 3"]
    )
    assert results[0]["ok"] is True and ns["z"] == 3
    assert [s["line"] for s in results[0]["skipped_imports"]] == [2, 3]


def test_syntax_errors_and_exits_are_cell_failures():
    _, results, _ = run(["def f(:\n  pass", "import sys\nsys.exit(0)", "x = 1"])
    assert results[0]["error"]["type"] == "SyntaxError"
    assert results[1]["error"]["type"] == "SystemExit"
    assert results[2]["ok"] is True


def test_the_shell_records_and_runs_nothing():
    ns, results, notes = run(
        [
            "get_ipython().system('rm -rf /tmp/definitely-not')",
            "listing = get_ipython().getoutput('ls')",
            "get_ipython().run_cell_magic('time', '', 'def f():\\n    return 7\\n')",
            "get_ipython().run_cell_magic('bash', '', 'echo hi')",
            "get_ipython().run_line_magic('matplotlib', 'inline')",
        ]
    )
    assert all(r["ok"] for r in results)
    assert ns["listing"] == [] and ns["f"]() == 7
    assert [n["kind"] for n in notes] == ["shell", "shell", "cell_magic", "cell_magic", "line_magic"]


def test_defined_callables():
    ns, _, _ = run(["def grad_f1(t, u):\n    return t, u\nclass Helper: pass\nvalue = 3"])
    assert {"grad_f1", "Helper"} <= set(cells.defined_callables(ns))
    assert "value" not in cells.defined_callables(ns)


def test_captured_output_is_capped_with_a_marker():
    import io

    from grader.sandbox.launch import CapturedOutput

    captured = CapturedOutput(io.BufferedReader(io.BytesIO(b"x" * 5000)), cap=1000)
    captured.join(5)
    assert captured.total == 5000 and captured.truncated
    assert captured.text() == "x" * 1000 + "\n[output truncated: 4000 more bytes were printed]\n"
