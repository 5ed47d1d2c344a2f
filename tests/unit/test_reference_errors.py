"""A reference package that does not import, does not fit, or misbehaves once it runs is the instructor's error,
named in one line, never our crash and never a grade."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from hypothesis import strategies as st

from conftest import ROOT
from grader.authoring import Backward, Case, Check, Observation, Part, TensorArg
from grader.course.assignment import with_reference
from grader.course.rubric import load_rubric
from grader.errors import ExitCode, ReferenceBroken, RubricError
from grader.judging.instructor import Audit
from grader.observe.reference import ReferenceFailed, ReferenceRunner, failure_in


def _course(tmp_path, edit):
    reference = tmp_path / "ref"
    shutil.copytree(ROOT / "reference" / "autograd_basics", reference, ignore=shutil.ignore_patterns("__pycache__"))
    edit(reference)
    text = (ROOT / "rubrics" / "autograd-basics.yaml").read_text()
    text = text.replace("reference: ../reference/autograd_basics", f"reference: {reference}")
    (tmp_path / "rubric.yaml").write_text(text)
    return load_rubric(tmp_path / "rubric.yaml")


def _append(name, line):
    return lambda ref: (ref / name).write_text((ref / name).read_text() + "\n" + line + "\n")


@pytest.mark.parametrize(
    "edit, message",
    [
        (_append("__init__.py", "raise ImportError('no module named sklearn')"), "importing .* failed: ImportError"),
        (_append("__init__.py", "CHECKS = [1, 2]"), "CHECKS in .* is not a dict"),
        (
            _append("__init__.py", "CHECKS = {**CHECKS, 'e1_value': 3}"),
            r"items\[0\]\.check: CHECKS\['e1_value'\] .* not a Check",
        ),
        (_append("solution.py", "import no_such_module_here"), "SOLUTION failed to import: ModuleNotFoundError"),
    ],
)
def test_a_broken_reference_is_one_line_naming_the_rubric(tmp_path, edit, message):
    rubric = _course(tmp_path, edit)
    with pytest.raises(RubricError, match=message) as raised:
        assignment = with_reference(rubric)
        assignment.solution  # noqa: B018 - SOLUTION is imported on first use
    assert str(raised.value).startswith(f"{tmp_path / 'rubric.yaml'}: ")
    assert raised.value.exit_code == ExitCode.USAGE and "\n" not in str(raised.value)


# -- mistakes that show only once the reference runs (grader.judging.instructor) ----------------------------


def _check(*facts: str) -> Check:
    """A check of f(t) whose t requires grad in some inputs; backward() is added only then."""
    cases = st.builds(
        lambda n, rg: Case(args=(("t", TensorArg(np.zeros(n), rg)),), then=(Backward(),) if rg else ()),
        st.integers(1, 5),
        st.booleans(),
    )
    return Check(target="f1", cases=cases, parts=(Part("value", "f(t)", ("return",)), Part("grad", "t.grad", facts)))


def _observed(case: Case) -> Observation:
    facts: dict = {"return": 1.0, "t": 0.0, "t.grad": None, "grad_mode": True}
    if case.then:
        facts.update({"after backward(): error": None, "after backward(): t.grad": 2.0})
    return Observation(error=None, facts=facts, versions={})


def _audit(check: Check, observe=_observed) -> Audit:
    item = load_rubric(ROOT / "rubrics" / "autograd-basics.yaml").items[0]
    return Audit("course/rubric.yaml", item, check, observe, seed=7)


def test_a_pattern_unmatched_on_the_items_inputs_is_looked_for_on_more_before_it_is_an_error():
    check = _check("after backward(): t.grad", "after backward(): error")
    no_backward = Case(args=(("t", TensorArg(np.zeros(2))),))
    _audit(check).vouch([_observed(no_backward)])  # none of the item's inputs had a backward(): no error


def test_a_misspelt_pattern_is_one_line_naming_the_rubric_item_part_and_the_path_meant():
    check = _check("after backward: t.grad", "after backward(): error")
    with pytest.raises(ReferenceBroken) as raised:
        _audit(check).vouch([])
    message = str(raised.value)
    assert message.startswith(
        "course/rubric.yaml: item e1.value (check 'e1_value'), part 'grad': the fact pattern "
        "'after backward: t.grad' matches no fact of the reference's observation on any of "
    )
    assert message.endswith("inputs (did you mean 'after backward(): t.grad'?)")
    assert "\n" not in message and raised.value.exit_code == ExitCode.USAGE and isinstance(raised.value, RubricError)


def test_every_unmatched_pattern_is_named_and_without_a_close_path_the_facts_are_listed():
    check = _check("zzz", "after backward(): t.grad", "qqq.*")
    with pytest.raises(ReferenceBroken, match=r"the fact pattern 'zzz' .* \(its facts: after backward\(\): error, "):
        _audit(check).vouch([])
    with pytest.raises(ReferenceBroken, match=r"; nor do 'qqq\.\*' \(part 'grad'\)$"):
        _audit(check).vouch([])


def test_a_reference_that_raises_is_named_with_the_smallest_input_that_makes_it_raise():
    def observe(case: Case) -> Observation:
        t = dict(case.args)["t"]
        assert isinstance(t, TensorArg)
        if t.data.size >= 3:
            raise ReferenceFailed("f1", case, {"type": "ValueError", "message": "too\nlong"})
        return _observed(case)

    first = ReferenceFailed("f1", Case(args=(("t", TensorArg(np.ones(5))),)), {"type": "ValueError", "message": "x"})
    error = _audit(_check("t.grad"), observe).failed(first, examples=100)
    assert str(error) == (
        "course/rubric.yaml: item e1.value (check 'e1_value'): the reference f1() raised ValueError: too long "
        "on an input the check draws: t = tensor([0., 0., 0.], dtype=float64) (the reference must answer every input of its "
        "check: fix the reference or the check's inputs)"
    )
    with pytest.raises(ReferenceBroken, match="raised ValueError: too long"):  # found while looking for more facts
        _audit(_check("never there"), observe).vouch([])


def test_the_reference_raising_in_a_follow_up_step_is_a_failure_too():
    case = Case(args=(("t", TensorArg(np.ones(2), True)),), then=(Backward(),))
    reply = {"error": None, "then": [{"label": "after backward()", "error": {"type": "RuntimeError", "message": "no"}}]}
    failed = failure_in("f1", reply, case)
    assert failed is not None and failed.what == (
        "the follow-up step 'after backward()' on the reference f1()'s result raised RuntimeError: no"
    )
    assert failure_in("f1", {"error": None, "then": [{"label": "after backward()", "error": None}]}, case) is None


def test_the_real_reference_is_probed_for_its_steps_in_process():
    rubric = load_rubric(ROOT / "rubrics" / "autograd-basics.yaml")
    assignment = with_reference(rubric)
    runner = ReferenceRunner(lambda: assignment.solution, device_as="cpu", rubric=rubric.path)
    plain = Case(args=(("t", TensorArg(np.ones(2))), ("u", TensorArg(np.ones(2)))), then=(Backward(),))
    header, blobs = plain.request("f1", seed=0)
    with pytest.raises(ReferenceFailed, match="'after backward[(][)]' on the reference f1[(][)]'s result raised"):
        runner.expected("f1", header, blobs, plain)  # nothing requires grad: backward() cannot run
    tracked = Case(args=(("t", TensorArg(np.ones(2), True)), ("u", TensorArg(np.ones(2)))), then=(Backward(),))
    reply, _ = runner.expected("f1", *tracked.request("f1", seed=0), tracked)
    assert reply["then"][0]["error"] is None
