"""Inputs for each exercise, drawn from the domains the spec states.

Choices where the spec leaves room: upstream gradients ``g`` and the weights of
the second path are drawn (a tensor of ones hides a backward that ignores its
upstream gradient, or a hook left on the caller's tensor); module weights lie
in [-1, 1] (the critic's tanh never saturates to a zero input gradient) and a
critic whose row gradient is almost zero is never drawn (the norm's derivative
is undefined there); ``micro_batch`` is drawn with N so that a smaller last
chunk is common.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from grader.authoring import (
    Backward,
    Case,
    GradCheck,
    LinearArg,
    PathBackward,
    SequentialArg,
    TensorArg,
    arrays,
    float_dtypes,
    functions,
)


def _shape(draw, max_dims: int, max_size: int) -> tuple[int, ...]:
    shape = tuple(draw(st.lists(st.integers(1, 8), max_size=max_dims)))
    return shape if int(np.prod(shape)) <= max_size else shape[:1]


def _linear(draw, n_in: int, n_out: int, dtype, *, stale: bool = False) -> LinearArg:
    weight, bias = draw(arrays((n_out, n_in), dtype, low=-1, high=1)), draw(arrays((n_out,), dtype, low=-1, high=1))
    grads = [draw(arrays(a.shape, dtype, low=-1, high=1)) for a in (weight, bias)] if stale else [None, None]
    return LinearArg(weight, bias, weight_grad=grads[0], bias_grad=grads[1])


@st.composite
def soft_clip_inputs(draw, *, backward: bool = False) -> Case:
    dtype = draw(float_dtypes())
    x = draw(arrays(_shape(draw, 2, 64), dtype, low=-50, high=50))
    args = (("x", TensorArg(x, backward or draw(st.booleans()))), ("c", draw(st.floats(0.5, 10))))
    if not backward:
        return Case(args=args)
    g = draw(arrays(x.shape, dtype, low=-2, high=2))
    return Case(args=args, then=(Backward(grad=g, label="after backward(g)"), GradCheck("x")))


@st.composite
def grad_reverse_inputs(draw) -> Case:
    dtype = draw(float_dtypes())
    shape = _shape(draw, 2, 64)
    x = draw(arrays(shape, dtype, low=-100, high=100))
    stale = draw(st.one_of(st.none(), arrays(shape, dtype, low=-1, high=1)))
    g, w = (draw(arrays(shape, dtype, low=-2, high=2)) for _ in range(2))
    return Case(
        args=(("x", TensorArg(x, True, grad=stale)), ("lam", draw(st.floats(0, 10)))),
        then=(Backward(grad=g, label="after backward(g)"), PathBackward("x", w)),
    )


@st.composite
def hvp_inputs(draw) -> Case:
    dtype, n = draw(float_dtypes()), draw(st.integers(1, 16))
    f = draw(functions(n, dtype, vector=False))
    x, v = (draw(arrays((n,), dtype, low=-3, high=3)) for _ in range(2))
    return Case(args=(("f", f), ("x", TensorArg(x)), ("v", TensorArg(v))))


def _row_gradients_clear_of_zero(case: Case) -> bool:
    critic, x = case.args[0][1], case.args[1][1]
    first, last = critic.layers[0], critic.layers[2]
    z = x.data.astype(np.float64) @ first.weight.T.astype(np.float64) + first.bias
    rows = (1 - np.tanh(z) ** 2) * last.weight.astype(np.float64) @ first.weight.astype(np.float64)
    return bool(np.linalg.norm(rows, axis=1).min() > 1e-2)


@st.composite
def _penalty_inputs(draw) -> Case:
    dtype = draw(float_dtypes())
    d, h, n = draw(st.integers(1, 8)), draw(st.integers(1, 16)), draw(st.integers(1, 32))
    critic = SequentialArg((_linear(draw, d, h, dtype), "tanh", _linear(draw, h, 1, dtype)))
    x = draw(arrays((n, d), dtype, low=-3, high=3))
    return Case(args=(("critic", critic), ("x", TensorArg(x))), then=(Backward(),))


def penalty_inputs() -> st.SearchStrategy[Case]:
    return _penalty_inputs().filter(_row_gradients_clear_of_zero)


@st.composite
def accumulate_inputs(draw) -> Case:
    dtype = draw(float_dtypes())
    d, n = draw(st.integers(1, 8)), draw(st.integers(1, 64))
    model = _linear(draw, d, 1, dtype, stale=draw(st.booleans()))
    X, y = draw(arrays((n, d), dtype, low=-3, high=3)), draw(arrays((n,), dtype, low=-3, high=3))
    micro_batch = draw(st.integers(1, n))
    return Case(args=(("model", model), ("X", TensorArg(X)), ("y", TensorArg(y)), ("micro_batch", micro_batch)))


@st.composite
def consistency_inputs(draw) -> Case:
    dtype = draw(float_dtypes())
    d, k, n = draw(st.integers(1, 8)), draw(st.integers(1, 8)), draw(st.integers(1, 32))
    net = _linear(draw, d, k, dtype)
    x1, x2 = (draw(arrays((n, d), dtype, low=-3, high=3)) for _ in range(2))
    return Case(args=(("net", net), ("x1", TensorArg(x1)), ("x2", TensorArg(x2))), then=(Backward(),))


@st.composite
def jacobian_inputs(draw) -> Case:
    dtype, n = draw(float_dtypes()), draw(st.integers(1, 8))
    f = draw(functions(n, dtype, vector=True))
    return Case(args=(("f", f), ("x", TensorArg(draw(arrays((n,), dtype, low=-3, high=3))))))
