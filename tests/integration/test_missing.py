"""A function the notebook does not define: status missing, and why."""

from __future__ import annotations

from conftest import SAMPLES, code_cells, items_by_id, write_notebook


def test_misspelt_and_broken_definitions_are_explained(grade_json, tmp_path):
    cells = []
    for cell in code_cells(SAMPLES / "correct.ipynb"):
        if "def grad_f3(" in cell:
            cell = cell.replace("def grad_f3(", "def grad_F3(")
        if "def sgd_step_(" in cell:
            cell = cell.replace("def sgd_step_(params, lr):", "def sgd_step_(params, lr)")  # SyntaxError
        cells.append(cell)
    report = grade_json(write_notebook(tmp_path / "misspelt_and_syntax_error.ipynb", cells))
    items = items_by_id(report)
    assert items["e4.grads"]["status"] == "missing"
    assert "It defines grad_F3(): check the name, it must be exactly grad_f3." in items["e4.grads"]["feedback"]
    assert items["e6.sgd_step"]["status"] == "missing"
    assert "defines it, but running that cell failed (SyntaxError" in items["e6.sgd_step"]["feedback"]
    assert items["e4.grads"]["score"] == items["e6.sgd_step"]["score"] == 0
    assert items["e1.value"]["status"] == "passed"
