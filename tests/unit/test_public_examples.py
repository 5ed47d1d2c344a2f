"""Public checks derived from the grading checks (``grader.selfcheck.examples``, ``derive``).

The shipped ``public_checks.examples`` of autograd-advanced must be what ``grade
assign`` would write today: the same parts and inputs, and the reference's
answers on them. A self-check judges as grading does: the part that differs
fails with grading's sentence and the input; an exception is the item's
error; the kernel's random state survives it.
"""

from __future__ import annotations

import random
import sys

import pytest
import torch

from conftest import ROOT
from grader.course.assignment import with_reference
from grader.course.rubric import load_rubric
from grader.errors import RubricError
from grader.i18n import language
from grader.observe.compare import Tolerance, compare
from grader.observe.observation import decode
from grader.selfcheck import examples as public
from grader.selfcheck.derive import derive

RUBRIC = load_rubric(ROOT / "rubrics" / "autograd-advanced.yaml")
SHIPPED = ROOT / "assignments" / "autograd-advanced" / "public_checks.examples"


@pytest.fixture(scope="module")
def shipped() -> public.PublicExamples:
    return public.read(SHIPPED)


@pytest.fixture(scope="module")
def reference():
    sys.path.insert(0, str(ROOT / "reference"))
    try:
        from autograd_advanced import solution, variants
    finally:
        sys.path.remove(str(ROOT / "reference"))
    return solution, variants


def test_the_rubric_names_derived_checks():
    assert public.is_derived(RUBRIC.public_checks) and RUBRIC.public_checks == SHIPPED


def test_the_shipped_examples_have_the_checks_parts(shipped):
    assignment = with_reference(RUBRIC)
    assert [item.id for item in shipped.items] == [item.id for item in RUBRIC.items]
    for item, examples in zip(RUBRIC.items, shipped.items, strict=True):
        check = assignment.check_for(item)
        assert examples.target == item.target
        assert [p.name for p in examples.parts] == [name for name, _ in assignment.parts_of(item)]
        for part in examples.parts:
            assert part.description["en"] == check.part(part.name).description
            assert part.facts == tuple(check.part(part.name).facts)
        assert len(examples.cases) == 8
    reverse = shipped.items[2].parts[1].description
    assert reverse == {
        "en": "x.grad gains −lam·g from an upstream g",
        "pl": "do x.grad dodaje się −lam·g dla gradientu z góry g",
    }


def test_the_shipped_examples_are_the_references_answers(shipped, reference):
    """A reference changed without grade assign run again fails here."""
    from grader.child import probe

    solution, _variants = reference
    for item in shipped.items:
        for case in item.cases:
            now = decode(*probe.run_call(getattr(solution, item.target), *case.request, device="cpu"))
            stored = decode(*case.expected)
            tolerance = Tolerance(*case.tolerance)
            for part in item.parts:
                assert compare(now, stored, part.facts, tolerance) == [], (item.id, part.name)


def test_deriving_again_draws_the_same_inputs(shipped):
    again = derive(RUBRIC)
    assert [[c.request for c in i.cases] for i in again.items] == [[c.request for c in i.cases] for i in shipped.items]
    assert again.messages == shipped.messages and again.messages["pl"]["after backward(g)"] == "po backward(g)"


def test_public_inputs_are_not_the_grading_inputs(shipped):
    """A seed of their own: no public input is one that grading draws first."""
    from grader.judging.search import item_seed

    item = RUBRIC.items[0]
    assert item_seed(RUBRIC.seed, f"public {item.id}") != item_seed(RUBRIC.seed, item.id)
    seeds = {case.request[0]["seed"] for case in shipped.items[0].cases}
    assert seeds == {item_seed(RUBRIC.seed, f"public {item.id}") % (1 << 31)}


def test_a_self_check_judges_as_grading_does(reference):
    import grader

    solution, _variants = reference

    class IgnoresGradOut(solution.SoftClip):
        @staticmethod
        def backward(ctx, grad_out):
            (x,) = ctx.saved_tensors
            return 1 - torch.tanh(x / ctx.c) ** 2, None

    functions = dict(vars(solution))
    functions["soft_clip"] = IgnoresGradOut.apply
    functions["jacobian"] = lambda f, x: torch.autograd.functional.jacobian(f, x.detach()).T.contiguous()
    del functions["hvp"]
    functions["consistency_loss"] = lambda net, x1, x2: (_ for _ in ()).throw(NotImplementedError("TODO"))
    torch.manual_seed(7)
    random.seed(7)
    state, drawn = torch.random.get_rng_state(), random.random()
    random.seed(7)
    results = grader.check_all(assignment="autograd-advanced", namespace=functions, lang="en")
    assert torch.equal(torch.random.get_rng_state(), state) and random.random() == drawn
    statuses = {item.id: item.status for item in results.items}
    assert statuses == {
        "a1.forward": "failed",
        "a1.backward": "failed",
        "a2.reverse": "passed",
        "a3.hvp": "missing",
        "a3.penalty": "passed",
        "a4.accumulate": "passed",
        "a5.stop_grad": "error",
        "a6.jacobian": "failed",
    }
    backward = next(item for item in results.items if item.id == "a1.backward")
    failed = {f["check"]: f["message"] for f in backward.findings if f["status"] == "failed"}
    gradient = failed["x.grad = g·(1 − tanh²(x / c)) for an upstream g"]
    assert gradient.startswith("`x.grad` after backward(g) differs") and "; input: x = tensor(" in gradient
    assert "then backward(g) on the result with g = tensor(" in gradient
    stop = next(item for item in results.items if item.id == "a5.stop_grad")
    assert stop.message.startswith("not implemented yet (NotImplementedError: TODO")
    assert not results.all_passed
    polish = str(grader.check("a6", assignment="autograd-advanced", namespace=functions, lang="pl"))
    assert "niezaliczone" in polish and "dane wejściowe: f(x) =" in polish


def test_a_correct_solution_passes_every_item(reference):
    import grader

    solution, _variants = reference
    results = grader.check_all(assignment="autograd-advanced", namespace=dict(vars(solution)), lang="en")
    assert results.all_passed and {item.status for item in results.items} == {"passed"}


@pytest.mark.parametrize(
    "data",
    [b"", b"not frames at all", public.dumps(public.PublicExamples("x", ()))[:-3]],
    ids=["empty", "garbage", "truncated"],
)
def test_a_damaged_file_is_one_line_naming_it(tmp_path, data):
    path = tmp_path / "public_checks.examples"
    path.write_bytes(data)
    with pytest.raises(RubricError) as raised:
        public.read(path)
    assert str(raised.value).startswith(f"{path}: ") and "\n" not in str(raised.value)
    assert "grade assign" in str(raised.value)


def test_a_file_round_trips(shipped):
    again = public.loads(public.dumps(shipped))
    assert again == shipped


def test_a_part_judged_by_a_rule_is_left_to_grading():
    item = public.PublicItem("e.x", "f", (public.PublicPart("rule", {"en": "a rule"}, ()),), {}, ())
    with language("en"):
        verdict = public.judge(item, [], messages={})
    assert verdict["findings"] == [{"check": "a rule", "status": public.LATER, "message": ""}]
