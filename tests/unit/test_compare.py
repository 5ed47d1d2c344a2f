from __future__ import annotations

import numpy as np

from grader.observe.compare import Tolerance, compare, compare_arrays, compare_fact, matches
from grader.observe.observation import Kind, Observation, TensorFact

TOL = Tolerance(rtol=1e-4, atol=1e-5)


def fact(values, dtype="float32", **kw) -> TensorFact:
    values = np.asarray(values, dtype=dtype)
    base = dict(cls="Tensor", dtype=dtype, shape=values.shape, device="cpu", layout="strided", grad_fn=None)
    base.update(kw)
    return TensorFact(values=values, **base)


def test_close_values_pass_and_far_values_are_reported_like_pytest_approx():
    assert compare_arrays(np.float32([1.0, 2.0]), np.float32([1.00001, 2.0]), TOL) is None
    message = compare_arrays(np.float32([1, 2, 3, 4]), np.float32([1, 2.5, 3, 5]), TOL)
    assert message == (
        "2 of 4 elements differ (max abs diff 1.0, max rel diff 0.2), first at index [1]: "
        "got tensor([1., 2., 3., 4.], dtype=float32), expected tensor([1., 2.5, 3., 5.], dtype=float32)"
    )


def test_nan_only_where_the_reference_has_nan_and_infinities_exactly():
    assert compare_arrays(np.float32([np.nan, 1]), np.float32([np.nan, 1]), TOL) is None
    assert compare_arrays(np.float32([np.nan, 1]), np.float32([0, 1]), TOL) is not None
    assert compare_arrays(np.float32([0, 1]), np.float32([np.nan, 1]), TOL) is not None
    assert compare_arrays(np.float32([np.inf]), np.float32([np.inf]), TOL) is None
    assert compare_arrays(np.float32([-np.inf]), np.float32([np.inf]), TOL) is not None
    assert compare_arrays(np.float32([1e30]), np.float32([np.inf]), TOL) is not None


def test_type_shape_dtype_device_come_before_values():
    want = fact([1.0, 2.0])
    assert compare_fact(fact([1.0]), want, TOL) == "has shape (1,), expected (2,)"
    assert compare_fact(fact([1.0, 2.0], "float64"), want, TOL) == "has dtype float64, expected float32"
    assert compare_fact(fact([1.0, 2.0], device="cuda"), want, TOL) == "is on device cuda, expected cpu"
    assert (
        compare_fact(fact([1.0, 2.0], cls="LyingTensor"), want, TOL)
        == "is a LyingTensor, expected a plain torch.Tensor"
    )
    assert compare_fact(None, want, TOL) == "is None, expected a tensor of shape (2,) (float32)"
    assert compare_fact(fact([]), fact([]), TOL) is None
    assert (
        compare_fact(fact(1.0), 1.0, TOL)
        == "is a tensor of shape () (float32), expected a Python float (convert with .item())"
    )
    assert (
        compare_fact(Kind("number", "numpy.float32"), 0.5, TOL)
        == "is a numpy.float32, expected a Python float (convert with float(...))"
    )


def test_a_list_where_a_tuple_is_asked_is_fine_but_the_length_is_not():
    assert compare_fact(Kind("sequence", "list", 2), Kind("sequence", "tuple", 2), TOL) is None
    assert compare_fact(Kind("sequence", "tuple", 3), Kind("sequence", "tuple", 2), TOL) == "has 3 elements, expected 2"


def test_patterns_match_one_step_per_star():
    assert matches("params[3]", ("params[*]",))
    assert not matches("params[3].grad", ("params[*]",))
    assert matches("params[3].grad", ("params[*].grad",))
    assert matches("linear.weight.is_leaf", ("linear.*.is_leaf",))
    assert matches("after backward(): t.grad", ("after backward(): t.grad",))


def obs(**facts) -> Observation:
    return Observation(error=None, facts=facts, versions={})


def test_children_of_a_wrong_value_are_not_reported_again():
    student = obs(**{"return": Kind("sequence", "tuple", 1), "return[0]": fact([1.0])})
    expected = obs(**{"return": Kind("sequence", "tuple", 2), "return[0]": fact([1.0]), "return[1]": fact([2.0])})
    found = compare(student, expected, ("return", "return[*]"), TOL)
    assert [(m.path, m.message) for m in found] == [("return", "the returned value has 1 elements, expected 2")]


def test_flags_of_a_none_are_left_to_the_value_itself():
    student = obs(**{"return[0]": None})
    expected = obs(**{"return[0]": fact([1.0]), "return[0].requires_grad": False})
    assert compare(student, expected, ("return[*].requires_grad",), TOL) == []
    assert len(compare(student, expected, ("return[*]",), TOL)) == 1


def test_sentences_name_what_is_wrong():
    student = obs(
        **{"t.requires_grad": True, "grad_mode": False, "params[0].same_object": False, "params[0].grad_cleared": False}
    )
    expected = obs(
        **{"t.requires_grad": False, "grad_mode": True, "params[0].same_object": True, "params[0].grad_cleared": True}
    )
    messages = [m.message for m in compare(student, expected, ("**",), TOL)]
    assert messages == [
        "`t.requires_grad` is True, expected False",
        "grad mode is off after the call, expected on",
        "`params[0]` was replaced by a new tensor; the caller's tensor must be updated in place",
        "`params[0].grad` was not cleared (expected None or zeros)",
    ]


def test_a_failed_step_says_what_it_raised_and_a_label_may_name_a_whole_path():
    student = obs(
        **{
            "after backward(g): error": "RuntimeError",
            "after backward(g): error message": "function BackwardX returned a gradient different than None at "
            "position 2, but the corresponding forward input was not a Variable\n(second line)",
            "gradcheck: value": False,
        }
    )
    expected = obs(**{"after backward(g): error": None, "gradcheck: value": True})
    labels = {"gradcheck: value": "gradcheck's verdict"}
    messages = [
        m.message for m in compare(student, expected, ("after backward(g): error", "gradcheck: *"), TOL, labels)
    ]
    assert messages == [
        "backward(g) failed with RuntimeError: function BackwardX returned a gradient different than None at "
        "position 2, but the corresponding forward input was not a Variable",
        "gradcheck's verdict is False, expected True",
    ]
