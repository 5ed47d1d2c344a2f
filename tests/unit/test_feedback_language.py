"""Feedback in the language of the run (issue 12): Polish sentences, code and values as they are.

The item's feedback, the mismatch sentences and the input's description are
built with Polish active, from the harness's catalogue and an assignment's
(its part descriptions). Outside a ``language`` block everything stays English.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from hypothesis import strategies as st

from conftest import ROOT
from grader.authoring.api import Check, Part
from grader.course.rubric import Item, Titles
from grader.i18n import language
from grader.judging.feedback import Failure, build_result, missing_result
from grader.judging.model import ItemSetup
from grader.observe.case import Backward, Case, LinearArg, TensorArg
from grader.observe.compare import Tolerance, compare, compare_fact
from grader.observe.observation import Kind, Observation, TensorFact
from grader.result import MisconceptionHit
from grader.sandbox.execution import budget_text, describe_exit

TOL = Tolerance(rtol=1e-4, atol=1e-5)
BASICS = (ROOT / "reference" / "autograd_basics" / "locale",)
DESCRIPTION = "∂f/∂t and ∂f/∂u"  # a part description of autograd-basics, translated in its catalogue
HIT = MisconceptionHit("grad_not_cleared", "gradient nie został wyzerowany", "Wyzeruj `.grad` przed `backward()`.")


def fact(values, dtype="float32", **kw) -> TensorFact:
    values = np.asarray(values, dtype=dtype)
    base = dict(cls="Tensor", dtype=dtype, shape=values.shape, device="cpu", layout="strided", grad_fn=None)
    base.update(kw)
    return TensorFact(values=values, **base)


def obs(**facts) -> Observation:
    return Observation(error=None, facts=facts, versions={})


def setup() -> ItemSetup:
    item = Item(
        id="grad_f",
        titles=Titles((("pl", "Gradient f"), ("en", "The gradient of f"))),
        target="grad_f",
        check="grad_f",
        points=10.0,
        parts=(),
        misconceptions=("grad_not_cleared",),
        examples=10,
        tolerances={"float32": TOL},
    )
    check = Check(
        target="grad_f",
        cases=st.nothing(),
        parts=(Part("grad", DESCRIPTION, ("after backward(): t.grad",)),),
    )
    return ItemSetup(item=item, check=check, parts=(("grad", 10.0),), misconceptions=(), seed=1, examples=10)


CASE = Case(args=(("t", TensorArg(np.float32([1.0, 2.5]), requires_grad=True, grad=np.float32([1.0, 1.0]))),))


def failed_feedback() -> tuple[str, dict]:
    student = obs(**{"after backward(): t.grad": fact([3.0, 4.5])})
    expected = obs(**{"after backward(): t.grad": fact([2.0, 3.5])})
    problems = {"grad": compare(student, expected, ("after backward(): t.grad",), TOL)}
    failure = Failure(case=CASE, parts=frozenset({"grad"}), problems=problems, misconceptions=(HIT,))
    result = build_result(
        setup(), verdicts=[object()] * 3, failures=[failure], fatal=None, out_of_time=False, time_s=0.1
    )
    return result.feedback, result.to_dict()


def test_an_items_feedback_is_polish_with_its_code_and_values_verbatim():
    with language("pl", BASICS):
        feedback, data = failed_feedback()
    lines = feedback.splitlines()
    assert lines[0] == "Błąd w części „grad” (∂f/∂t i ∂f/∂u)"
    assert lines[1] == (
        "  `t.grad` po backward(): 2 z 2 elementów się różnią (największa różnica bezwzględna 1,0, względna 0,5), "
        "pierwsza różnica na indeksie [0]: otrzymano tensor([3., 4.5], dtype=float32), "
        "oczekiwano tensor([2., 3.5], dtype=float32)"
    )
    assert lines[2] == (
        "Najmniejszy kontrprzykład: t = tensor([1., 2.5], dtype=float32, requires_grad=True) "
        "z .grad = tensor([1., 1.], dtype=float32)"
    )
    assert lines[3] == "Prawdopodobna przyczyna: gradient nie został wyzerowany. Wyzeruj `.grad` przed `backward()`."
    assert data["parts"][0]["description"] == "∂f/∂t i ∂f/∂u"
    assert data["misconceptions"] == [{"id": "grad_not_cleared", "name": HIT.name, "fix": HIT.fix}]
    assert data["status"] == "failed"


def test_without_a_language_the_feedback_stays_english():
    feedback, _data = failed_feedback()
    assert feedback.splitlines()[:3] == [
        f"Wrong: grad ({DESCRIPTION})",
        "  `t.grad` after backward() 2 of 2 elements differ (max abs diff 1.0, max rel diff 0.5), first at index [0]: "
        "got tensor([3., 4.5], dtype=float32), expected tensor([2., 3.5], dtype=float32)",
        "Smallest failing input: t = tensor([1., 2.5], dtype=float32, requires_grad=True) "
        "with .grad = tensor([1., 1.], dtype=float32)",
    ]


def test_counts_take_the_polish_plural_forms():
    want, sequence = fact(np.zeros(6)), obs(**{"return": Kind("sequence", "tuple", 7)})
    with language("pl"):
        one, two, five = (compare_fact(fact(np.arange(6) < n), want, TOL) for n in (1, 2, 5))
        lengths = [
            compare(obs(**{"return": Kind("sequence", "tuple", n)}), sequence, ("return",), TOL)[0].message
            for n in (1, 3, 12)
        ]
    assert one.startswith("1 z 6 elementów się różni (")
    assert two.startswith("2 z 6 elementów się różnią (")
    assert five.startswith("5 z 6 elementów się różni (")
    assert lengths == [
        "zwrócona wartość ma 1 element, a oczekiwano 7",
        "zwrócona wartość ma 3 elementy, a oczekiwano 7",
        "zwrócona wartość ma 12 elementów, a oczekiwano 7",
    ]


def test_autograd_sentences_use_the_lectures_words():
    paths = ("grad_mode", "return.requires_grad", "after backward(): x.grad", "return.grad_fn")
    student = obs(
        **{"grad_mode": False, "return.requires_grad": False, "after backward(): x.grad": None, "return.grad_fn": True}
    )
    expected = obs(
        **{
            "grad_mode": True,
            "return.requires_grad": True,
            "after backward(): x.grad": fact([1.0]),
            "return.grad_fn": False,
        }
    )
    with language("pl"):
        found = [m.message for m in compare(student, expected, paths, TOL)]
    assert found == [
        "po wywołaniu tryb gradientu jest wyłączony, a powinien być włączony",
        "requires_grad (zwrócona wartość) ma wartość False, a oczekiwano True",
        "`x.grad` jest None po backward(), a oczekiwano gradientu",
        "zwrócona wartość ma grad_fn: jest węzłem grafu obliczeń, a oczekiwano wartości bez historii",
    ]


def test_inputs_limits_and_missing_functions_in_polish():
    linear = LinearArg(np.float32([[0.5]]), np.float32([0.0]), weight_grad=np.float32([[1.0]]))
    case = Case(args=(("linear", linear),), grad_mode="no_grad", then=(Backward(grad=np.float32([2.0])),))
    with language("pl"):
        shown = case.describe()
        budget = budget_text(SimpleNamespace(total_s=2.5))
        killed = describe_exit(-9)
        missing = missing_result(setup(), " It defines grad_F(): check the name, it must be exactly grad_f.").feedback
    assert shown == (
        "linear = nn.Linear(1, 1), gdzie weight = tensor([[0.5]], dtype=float32), "
        "bias = tensor([0.], dtype=float32) (weight.grad zawiera już stary gradient); "
        "potem backward(g) na wyniku, gdzie g = tensor([2.], dtype=float32), wywołanie wewnątrz torch.no_grad()"
    )
    assert (
        budget
        == "sprawdzanie tego notatnika wyczerpało cały przydzielony mu czas (2,5 s, limits.total_seconds w kryteriach oceny)"
    )
    assert killed == "proces został zabity sygnałem SIGKILL"
    # The hint came from outside the block (English); the sentence around it is Polish.
    assert missing.startswith("Notatnik nie definiuje funkcji grad_f(). It defines grad_F()")


def test_a_cells_error_names_the_cell_it_was_raised_in_when_that_is_another_one():
    from grader.grading import _error_line

    raised_in = {"type": "RuntimeError", "message": "m" * 400, "where": {"cell": "19", "line": 9, "code": "y[i]"}}
    with language("en"):
        assert _error_line(raised_in, 20) == f"RuntimeError: {'m' * 299}… (cell 19, line 9)"
        assert _error_line({**raised_in, "message": "short"}, 19) == "RuntimeError: short (line 9)"
        # A frame the notebook named <cell AAA…> itself, a line number of its own: bounded.
        forged = {"type": "E", "message": "m", "where": {"cell": "A" * 1_500_000, "line": 10**9}}
        assert _error_line(forged, 3) == f"E: m (cell {'A' * 11}…, line ?)"
