"""Nothing a notebook does reaches the verdict of anything but its own items."""

from __future__ import annotations

import time

from conftest import SAMPLES, SHORT_LIMITS, code_cells, grading_processes, items_by_id, write_notebook


def test_monkeypatching_comparisons_changes_no_verdict(grade_json, tmp_path):
    patched = SAMPLES / "hostile_monkeypatch_compare.ipynb"
    cells = code_cells(patched)
    assert any("torch.allclose = lambda" in c for c in cells)
    plain = write_notebook(
        tmp_path / "same_without_patches.ipynb", [c for c in cells if "torch.allclose = lambda" not in c]
    )
    a, b = grade_json(patched), grade_json(plain)
    verdicts = lambda report: [(i["id"], i["status"], i["score"], i["feedback"]) for i in report["items"]]  # noqa: E731
    assert verdicts(a) == verdicts(b)
    assert items_by_id(a)["e4.grads"]["status"] == "failed"


def test_a_function_that_sleeps_forever_costs_only_its_item(grade_json):
    started = time.monotonic()
    report = grade_json(SAMPLES / "sleeps_forever_in_function.ipynb", "-a", SHORT_LIMITS)
    elapsed = time.monotonic() - started
    items = items_by_id(report)
    assert items["e4.grads"]["status"] == "timeout"
    assert "did not return within the time limit" in items["e4.grads"]["feedback"]
    assert all(i["status"] == "passed" for k, i in items.items() if k != "e4.grads")
    assert elapsed < 60  # one 3 s call limit, not a hang
    assert grading_processes() == []


def test_a_function_that_kills_its_process_costs_only_its_item(grade_json):
    report = grade_json(SAMPLES / "kills_own_process.ipynb")
    items = items_by_id(report)
    assert items["e6.sgd_step"]["status"] == "crashed"
    assert "killed by SIGKILL" in items["e6.sgd_step"]["feedback"]
    assert all(i["status"] == "passed" for k, i in items.items() if k != "e6.sgd_step")
    assert grading_processes() == []


def test_grad_mode_switched_off_at_top_level_does_not_leak_into_calls(grade_json, tmp_path):
    cells = code_cells(SAMPLES / "correct.ipynb") + [
        "torch.set_grad_enabled(False)\nimport torch as _t\n_t.manual_seed(123)"
    ]
    report = grade_json(write_notebook(tmp_path / "grad_mode_off_at_the_end.ipynb", cells))
    assert report["score"] == 100


def test_state_changed_by_one_item_does_not_reach_the_next(grade_json, tmp_path):
    cells = code_cells(SAMPLES / "correct.ipynb")
    # f1 (graded first) breaks torch for everything that runs after it in its process:
    # its own later calls, and grad_f1 and grad_f3 if they shared that process.
    cells.append(
        "_f1 = f1\n"
        "def f1(t, u):\n"
        "    import torch\n"
        "    value = _f1(t, u)\n"
        "    torch.Tensor.log = lambda self: self * 0\n"
        "    torch.sqrt = lambda x: x\n"
        "    return value\n"
    )
    report = grade_json(write_notebook(tmp_path / "f1_sabotages_torch.ipynb", cells))
    items = items_by_id(report)
    assert items["e1.value"]["status"] == "failed"
    assert all(i["status"] == "passed" for k, i in items.items() if k != "e1.value")


def test_a_top_level_cell_that_never_ends_is_skipped(grade_json):
    report = grade_json(SAMPLES / "infinite_loop_top_level.ipynb", "-a", SHORT_LIMITS)
    assert report["score"] == 100
    problems = report["notebook"]["cell_problems"]
    assert [(p["status"]) for p in problems] == ["timeout"]
    assert grading_processes() == []


def test_failing_cells_are_recorded_and_the_rest_still_runs(grade_json):
    report = grade_json(SAMPLES / "correct_colab_style.ipynb")
    assert report["score"] == 100
    notebook = report["notebook"]
    errors = [p for p in notebook["cell_problems"] if p["status"] == "error"]
    # sklearn and torchviz are the course's packages (installed); CUDA on a CPU machine fails, and the rest runs
    assert any("Torch not compiled with CUDA enabled" in p["error"] for p in errors)
    assert {m["text"].split()[0] for m in notebook["magics_not_run"]} >= {"!nvidia-smi", "!pip", "%matplotlib"}


def test_a_slow_function_hits_the_item_limit_and_the_run_still_ends(grade_json, tmp_path):
    rubric = tmp_path / "tight-item-limit.yaml"
    rubric.write_text(
        SHORT_LIMITS.read_text()
        .replace(
            "reference: ../../reference/autograd_basics",
            f"reference: {SHORT_LIMITS.parents[2] / 'reference' / 'autograd_basics'}",
        )
        .replace("item_seconds: 60", "item_seconds: 4")
    )
    cells = code_cells(SAMPLES / "correct.ipynb")
    cells.append(
        "_grad_f3 = grad_f3\ndef grad_f3(x, y, z):\n    import time\n    time.sleep(0.25)\n    return _grad_f3(x, y, z)\n"
    )
    started = time.monotonic()
    report = grade_json(write_notebook(tmp_path / "slow_grad_f3.ipynb", cells), "-a", rubric)
    items = items_by_id(report)
    assert items["e4.grads"]["status"] == "timeout"
    assert "took longer than the item's time limit" in items["e4.grads"]["feedback"]
    assert all(i["status"] == "passed" for k, i in items.items() if k != "e4.grads")
    assert time.monotonic() - started < 60
    assert grading_processes() == []
