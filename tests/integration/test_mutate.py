"""``grade mutate``: the real rubric kills its mutants; a weakened one honestly scores lower."""

from __future__ import annotations

import json
import shutil

import yaml

from tests.conftest import ROOT

RUBRIC = ROOT / "rubrics" / "autograd-basics.yaml"
EQUIVALENTS = ROOT / "rubrics" / "autograd-basics.equivalent.yaml"
FUNCTIONS = ("--function", "sgd_step_", "--function", "predict_no_grad")


def _weakened(folder):
    """The real rubric, but e6.sgd_step ignores the clearing of .grad and e5.no_grad draws one example."""
    rubric = yaml.safe_load(RUBRIC.read_text(encoding="utf-8"))
    for key in ("reference", "public_checks", "solution_notebook"):
        rubric[key] = str((RUBRIC.parent / rubric[key]).resolve())
    items = {item["id"]: item for item in rubric["items"]}
    assert items["e6.sgd_step"]["parts"] == {"update": 9, "still_leaves": 3, "grad_cleared": 3}
    items["e6.sgd_step"]["parts"] = {"update": 12, "still_leaves": 3}
    items["e5.no_grad"]["examples"] = 1
    path = folder / "weak.yaml"
    path.write_text(yaml.safe_dump(rubric, allow_unicode=True, sort_keys=False), encoding="utf-8")
    shutil.copy(EQUIVALENTS, folder / "weak.equivalent.yaml")  # the same reviewed equivalents
    return path


def test_the_real_rubric_kills_every_mutant_that_is_not_equivalent(grade):
    done = grade("mutate", "autograd-basics", *FUNCTIONS, "-f", "json", "--min-kill-rate", "0.95", "-q")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["survived"] == 0, [v["id"] for v in report["verdicts"] if v["status"] == "survived"]
    assert report["kill_rate"] == 1.0
    statuses = {v["id"]: v for v in report["verdicts"]}
    assert statuses["sgd_step_/drop_grad_clearing/0"]["killed_by"] == ["e6.sgd_step"]
    assert statuses["sgd_step_/rebind_update/0"]["status"] == "killed"
    assert statuses["predict_no_grad/remove_no_grad/0"]["killed_by"] == ["e5.no_grad"]
    # mutate_caller changes what the check passes as tensors, lists of tensors or modules, never lr (a float):
    # params' tensors all require grad, so the mutant turns it off, and the still_leaves part sees it.
    assert statuses["sgd_step_/mutate_caller/0"]["killed_by"] == ["e6.sgd_step"]
    assert "sgd_step_/mutate_caller/1" not in statuses
    assert statuses["predict_no_grad/mutate_caller/1"]["killed_by"] == ["e5.no_grad"]  # w.requires_grad_(False)
    assert report["items"]["e6.sgd_step"]["survived"] == 0
    assert report["items"]["e1.value"]["mutants"] == 0  # only the functions asked for are mutated


def test_a_weakened_rubric_scores_lower_and_the_survivors_name_what_it_ignores(grade, tmp_path):
    weak = _weakened(tmp_path)
    # The two operators whose mutants the weakening lets through (the real rubric's run above makes them all).
    operators = ("--operator", "drop_grad_clearing", "--operator", "arithmetic")
    done = grade("mutate", weak, *FUNCTIONS, *operators, "-f", "json", "--min-kill-rate", "0.95", "-q")
    assert done.returncode == 1, done.stderr
    assert "is below --min-kill-rate 95.0%" in done.stderr
    report = json.loads(done.stdout)
    assert report["kill_rate"] < 0.95
    survivors = {v["id"]: v for v in report["verdicts"] if v["status"] == "survived"}
    # The part the rubric left out still notices the mistake: the report says which one.
    assert survivors["sgd_step_/drop_grad_clearing/0"]["noticed_by_unscored"] == ["e6.sgd_step: grad_cleared"]
    assert "p.grad = None" in survivors["sgd_step_/drop_grad_clearing/0"]["diff"]
    # One example (hypothesis's simplest: zeros) cannot tell x @ w - b from x @ w + b.
    assert "predict_no_grad/arithmetic/0" in survivors
    assert report["items"]["e5.no_grad"]["survived"] >= 1
    # ... and the rubric's 100 examples can: the report says it is the item's budget that lets it through.
    assert (
        "predict_no_grad/arithmetic/0 survives only through the example budget of e5.no_grad (1 examples): "
        "with 100 examples e5.no_grad kills it" in report["warnings"]
    )

    # The text report, on the one mutant it is about.
    text = grade("mutate", weak, "--function", "sgd_step_", "--operator", "drop_grad_clearing", "-q")
    assert text.returncode == 0
    assert "noticed only by parts the rubric gives no points: e6.sgd_step: grad_cleared" in text.stdout
    assert "-                p.grad = None" in text.stdout


def test_mutate_refuses_a_function_the_rubric_does_not_grade(grade):
    done = grade("mutate", "autograd-basics", "--function", "sgd_step")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "grade: error: --function sgd_step: not a function of the rubric (its functions: f1, grad_f1, "
        "grad_f1_analytic, linear_bce_grads, intermediate_grads, grad_f3, predict_no_grad, freeze_weight_, "
        "sgd_step_, train_step, accuracy, train_logreg)"
    ]
