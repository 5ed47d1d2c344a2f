"""Inputs for each exercise, drawn from the domains the spec states.

Choices where the spec leaves room: upstream gradients ``g`` and the weights of
the second path are drawn (a tensor of ones hides a backward that ignores its
upstream gradient, or a hook left on the caller's tensor); module weights lie
in [-1, 1], and a critic whose row gradient is almost zero is never drawn (the
norm's derivative is undefined there); ``micro_batch`` is drawn up to N, so a
smaller last chunk is common.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from grader.authoring import (
    N_,
    Backward,
    Case,
    GradCheck,
    PathBackward,
    SequentialArg,
    TensorArg,
    arrays,
    float_dtypes,
    functions,
    linear_layers,
    shapes,
)

# A step's label names its facts ("after backward(g): x.grad") and is shown to the student.
_AFTER_BACKWARD_G = N_("after backward(g)")
_AFTER_SUM = N_("after a second call's .sum().backward()")


@st.composite
def soft_clip_inputs(draw, *, backward: bool = False) -> Case:
    dtype, shape = draw(float_dtypes()), draw(shapes(2))
    x = TensorArg(draw(arrays(shape, dtype, low=-50, high=50)), backward or draw(st.booleans()))
    then = (Backward(grad=draw(arrays(shape, dtype, low=-2, high=2)), label=_AFTER_BACKWARD_G), GradCheck("x"))
    return Case(args=(("x", x), ("c", draw(st.floats(0.5, 10)))), then=then if backward else ())


@st.composite
def grad_reverse_inputs(draw) -> Case:
    dtype, shape = draw(float_dtypes()), draw(shapes(2))
    x, stale = draw(arrays(shape, dtype, low=-100, high=100)), draw(st.none() | arrays(shape, dtype, low=-1, high=1))
    g, w = (draw(arrays(shape, dtype, low=-2, high=2)) for _ in range(2))
    # Last, a new call's sum: the upstream gradient most losses pass on (ones expanded from one element).
    again = Backward(again_summed=True, label=_AFTER_SUM)
    then = (Backward(grad=g, label=_AFTER_BACKWARD_G), PathBackward("x", w), again)
    return Case(args=(("x", TensorArg(x, True, grad=stale)), ("lam", draw(st.floats(0, 10)))), then=then)


@st.composite
def hvp_inputs(draw) -> Case:
    dtype, n = draw(float_dtypes()), draw(st.integers(1, 16))
    x, v = (TensorArg(draw(arrays((n,), dtype, low=-3, high=3))) for _ in range(2))
    return Case(args=(("f", draw(functions(n, dtype, vector=False))), ("x", x), ("v", v)))


def _row_gradients_clear_of_zero(case: Case) -> bool:
    (_, critic), (_, x) = case.args
    first, last = critic.layers[0], critic.layers[2]
    z = x.data.astype(np.float64) @ first.weight.T.astype(np.float64) + first.bias
    return bool(np.linalg.norm((1 - np.tanh(z) ** 2) * last.weight @ first.weight, axis=1).min() > 1e-2)


@st.composite
def _penalty_inputs(draw) -> Case:
    dtype, d, h = draw(float_dtypes()), draw(st.integers(1, 8)), draw(st.integers(1, 16))
    critic = SequentialArg((draw(linear_layers(d, h, dtype)), "tanh", draw(linear_layers(h, 1, dtype))))
    x = draw(arrays((draw(st.integers(1, 32)), d), dtype, low=-3, high=3))
    return Case(args=(("critic", critic), ("x", TensorArg(x))), then=(Backward(),))


def penalty_inputs() -> st.SearchStrategy[Case]:
    return _penalty_inputs().filter(_row_gradients_clear_of_zero)


@st.composite
def accumulate_inputs(draw) -> Case:
    dtype, d, n = draw(float_dtypes()), draw(st.integers(1, 8)), draw(st.integers(1, 64))
    X, y = draw(arrays((n, d), dtype, low=-3, high=3)), draw(arrays((n,), dtype, low=-3, high=3))
    model = draw(linear_layers(d, 1, dtype, stale=None))
    return Case(
        args=(("model", model), ("X", TensorArg(X)), ("y", TensorArg(y)), ("micro_batch", draw(st.integers(1, n))))
    )


@st.composite
def consistency_inputs(draw) -> Case:
    dtype, d, n = draw(float_dtypes()), draw(st.integers(1, 8)), draw(st.integers(1, 32))
    x1, x2 = (TensorArg(draw(arrays((n, d), dtype, low=-3, high=3))) for _ in range(2))
    net = draw(linear_layers(d, draw(st.integers(1, 8)), dtype))
    return Case(args=(("net", net), ("x1", x1), ("x2", x2)), then=(Backward(),))


@st.composite
def jacobian_inputs(draw) -> Case:
    dtype, n = draw(float_dtypes()), draw(st.integers(1, 8))
    x = TensorArg(draw(arrays((n,), dtype, low=-3, high=3)))
    return Case(args=(("f", draw(functions(n, dtype, vector=True))), ("x", x)))
