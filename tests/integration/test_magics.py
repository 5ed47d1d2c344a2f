"""Shell escapes and magics are recorded and never reach a shell."""

from __future__ import annotations

from conftest import SAMPLES, code_cells, items_by_id, write_notebook


def test_shell_escapes_never_run_and_are_listed(grade_json, tmp_path):
    marker = tmp_path / "shell_ran"
    cells = [
        f"!touch {marker}-1\n!pip install -q torchviz",
        f"%%bash\ntouch {marker}-2\n",
        f"listing = !touch {marker}-3\n%pip install nothing-at-all\n%matplotlib inline",
        "import os\nos.environ['PIP_NO_INDEX']",  # the child's environment forbids indexes anyway
        *code_cells(SAMPLES / "correct.ipynb"),
    ]
    report = grade_json(write_notebook(tmp_path / "shell_escapes.ipynb", cells))
    assert not list(tmp_path.glob("shell_ran*"))
    texts = [m["text"] for m in report["notebook"]["magics_not_run"]]
    assert texts == [
        f"!touch {marker}-1",
        "!pip install -q torchviz",
        "%%bash",
        f"!touch {marker}-3",
        "%pip install nothing-at-all",
        "%matplotlib inline",
    ]
    assert report["score"] == 100


def test_functions_defined_under_a_time_magic_are_graded(grade_json, tmp_path):
    cells = code_cells(SAMPLES / "correct.ipynb")
    cells = ["%%time\n" + c if "def f1(" in c else c for c in cells]
    cells.append("%time x = f1(torch.ones(2), torch.ones(2))\n%timeit f1\n%matplotlib inline")
    report = grade_json(write_notebook(tmp_path / "time_magic_cell.ipynb", cells))
    assert items_by_id(report)["e1.value"]["status"] == "passed"
    # Their Python ran: they are not listed as magics left unrun (%matplotlib is).
    assert [m["text"] for m in report["notebook"]["magics_not_run"]] == ["%matplotlib inline"]


def test_plots_render_headless(grade_json, tmp_path):
    cells = [
        "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()\nplt.savefig('plot.png')",
        *code_cells(SAMPLES / "correct.ipynb"),
    ]
    report = grade_json(write_notebook(tmp_path / "plot_cell.ipynb", cells))
    assert report["notebook"]["cell_problems"] == []
    assert report["score"] == 100
