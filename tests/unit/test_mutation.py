from __future__ import annotations

import ast

import numpy as np
import pytest
from hypothesis import strategies as st

from grader.authoring import Case, Check, LinearArg, Part, TensorArg
from grader.errors import RubricError
from grader.mutation.operators import OPERATORS, Caller, caller_objects, callers, functions_of, mutants
from grader.mutation.run import load_equivalents

SGD = '''
def sgd_step_(params, lr):
    """p <- p - lr * p.grad, in place."""
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p -= lr * p.grad
                p.grad = None
'''

TRAIN = """
def train_step(linear, X, y, lr):
    linear.zero_grad()
    loss = F.binary_cross_entropy_with_logits(linear(X).squeeze(1), y)
    loss.backward()
    sgd_step_(list(linear.parameters()), lr)
    return loss.item()

def accuracy(logits, y):
    return ((logits >= 0).float() == y).float().mean().item()

def train_logreg(X, y):
    return train_step(None, X, y, 0.1)
"""


def _made(source: str, name: str, operator: str) -> list[str]:
    return [m.source for m in mutants(functions_of([source]), [name], operators=(operator,))]


@pytest.mark.parametrize(
    "operator, present, absent",
    [
        ("remove_no_grad", "for p in params", "no_grad"),
        ("drop_grad_clearing", "p -= lr * p.grad", "p.grad = None"),
        ("rebind_update", "p = p - lr * p.grad", "p -= lr"),
        ("arithmetic", "p += lr * p.grad", "p -= lr * p.grad"),
        ("arithmetic", "p -= lr / p.grad", "p -= lr * p.grad"),
    ],
)
def test_each_mistake_is_made_and_the_rest_of_the_function_stays(operator, present, absent):
    made = [s for s in _made(SGD, "sgd_step_", operator) if present in s and absent not in s]
    assert made, f"no {operator} mutant with {present!r}"
    for source in made:
        assert ast.parse(source)  # every mutant is valid Python
        assert '"""p <- p - lr * p.grad, in place."""' in source  # the docstring is never dropped
        assert source.count("\n") >= SGD.strip().count("\n") - 2


def test_the_lecture_slips_are_among_the_mutants():
    assert any("logits >= 0.5" in s for s in _made(TRAIN, "accuracy", "threshold_half"))
    assert any("F.cross_entropy(" in s for s in _made(TRAIN, "train_step", "cross_entropy"))


def test_dropping_a_statement_never_leaves_an_empty_block():
    for source in _made(SGD, "sgd_step_", "drop_statement"):
        ast.parse(source)
    assert len(_made(SGD, "sgd_step_", "drop_statement")) == 5  # the with, the for, the if, the update, the clearing


def test_mutants_are_unique_and_named_by_function_operator_and_place():
    made = mutants(functions_of([SGD]), ["sgd_step_"])
    assert len({m.source for m in made}) == len(made)
    assert len({m.id for m in made}) == len(made)
    assert {m.operator for m in made} <= set(OPERATORS)
    first = made[0]
    assert first.id == f"sgd_step_/{first.operator}/{first.site}"
    assert first.diff().startswith("--- sgd_step_ (solution)\n+++ sgd_step_ (mutant ")


def test_a_function_is_covered_by_the_functions_that_call_it_directly_or_not():
    reached = callers(functions_of([SGD, TRAIN]))
    assert reached["sgd_step_"] == {"sgd_step_", "train_step", "train_logreg"}
    assert reached["accuracy"] == {"accuracy"}


def test_later_definitions_win_and_broken_cells_are_skipped():
    found = functions_of(["def f():\n    return 1\n", "def f(:\n", "def f():\n    return 2\n"])
    assert ast.unparse(found["f"]).endswith("return 2")


class _Rubric:
    def __init__(self, path):
        self.path = path


def test_an_equivalent_mutant_needs_a_reason(tmp_path):
    (tmp_path / "course.equivalent.yaml").write_text("- id: f/constant/0\n  source_sha: abc\n  reason: ''\n")
    with pytest.raises(RubricError) as info:
        load_equivalents(_Rubric(tmp_path / "course.yaml"))
    assert str(info.value) == f"{tmp_path / 'course.equivalent.yaml'}: [0].reason: an equivalent mutant needs a reason"


def test_an_equivalents_entry_with_other_keys_is_named(tmp_path):
    (tmp_path / "course.equivalent.yaml").write_text("- id: f/constant/0\n  why: same\n")
    with pytest.raises(
        RubricError, match=r"course\.equivalent\.yaml: \[0\]: expected the keys id, source_sha and reason"
    ):
        load_equivalents(_Rubric(tmp_path / "course.yaml"))


def test_no_equivalents_file_means_none(tmp_path):
    assert load_equivalents(_Rubric(tmp_path / "course.yaml")) == {}


def test_exercise_specific_operators_are_made_only_where_the_assignment_asks():
    from grader.mutation.operators import OPERATORS, OPTIONAL, operators_for

    assert not set(OPTIONAL) & set(operators_for(()))
    assert operators_for(OPTIONAL) == OPERATORS  # autograd-basics asks for both: the order is unchanged
    assert operators_for(("cross_entropy",)) == tuple(op for op in OPERATORS if op != "threshold_half")


def _drawn(target: str, *cases: Case) -> Check:
    return Check(target=target, cases=st.sampled_from(cases), parts=(Part("value", "", ("return",)),))


def test_what_the_caller_passes_is_read_from_the_checks_inputs():
    params = [TensorArg(np.zeros(2), requires_grad=True), TensorArg(np.zeros(()), requires_grad=True)]
    linear = LinearArg(np.zeros((1, 2)), np.zeros(1))
    found = caller_objects(
        [
            _drawn("sgd_step_", Case(args=(("params", params), ("lr", 0.1)))),
            _drawn("train_step", Case(args=(("linear", linear), ("X", TensorArg(np.zeros((3, 2)))), ("lr", 0.5)))),
            _drawn(
                "f1",
                Case(args=(("t", TensorArg(np.zeros(2), True)), ("n", 3))),
                Case(args=(("t", TensorArg(np.zeros(2), False)), ("n", 4))),
            ),
            _drawn("count", Case(args=(("labels", TensorArg(np.zeros(2, dtype=np.int64))),))),
        ]
    )
    assert found == {
        "sgd_step_": {"params": Caller("tensors", True)},
        "train_step": {"linear": Caller("module", True), "X": Caller("tensor", False)},
        "f1": {"t": Caller("tensor", None)},
    }  # numbers, and integer tensors (which cannot require grad), are left alone


def test_mutate_caller_changes_only_what_the_caller_passes_as_tensors_lists_or_modules():
    callers = {
        "sgd_step_": {"params": Caller("tensors", True)},
        "train_step": {"linear": Caller("module", True), "X": Caller("tensor", False)},
        "accuracy": {"logits": Caller("tensor", None)},
    }
    functions = functions_of([SGD, TRAIN])
    made = {m.id: m.source for m in mutants(functions, list(callers), operators=("mutate_caller",), callers=callers)}
    # One mutant per such argument, named by the argument's position: lr (a float) gets none.
    assert sorted(made) == [
        "accuracy/mutate_caller/0",
        "sgd_step_/mutate_caller/0",
        "train_step/mutate_caller/0",
        "train_step/mutate_caller/1",
    ]
    assert "for _t in params:" in made["sgd_step_/mutate_caller/0"]
    assert "_t.requires_grad_(False)" in made["sgd_step_/mutate_caller/0"]  # they all require grad: turned off
    assert "linear.requires_grad_(False)" in made["train_step/mutate_caller/0"]
    assert "X.requires_grad_(True)" in made["train_step/mutate_caller/1"]
    assert "logits.requires_grad_(not logits.requires_grad)" in made["accuracy/mutate_caller/0"]  # drawn both ways
    for source in made.values():
        ast.parse(source)
    # Without the checks' inputs, every argument gets the guarded change (a no-op where it is no tensor).
    assert len(mutants(functions, ["sgd_step_"], operators=("mutate_caller",))) == 2
