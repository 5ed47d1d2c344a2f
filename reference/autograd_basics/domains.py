"""Inputs for each exercise, drawn from the domains the spec states.

Where the spec leaves a range open, the choice and its reason are noted:
- exercise 7 data ``X`` lies in [-1, 1], so full-batch gradient descent with
  any lr in [0.001, 1] is stable and a correct solution written in another
  style cannot drift away from the reference over 200 epochs;
- ``train_logreg`` gets float32 data: the spec builds ``nn.Linear(d, 1)``
  with default (float32) parameters;
- logits for ``accuracy`` are never within 0.125 of 0 unless exactly 0:
  very close to 0, ``sigmoid(logit) >= 0.5`` and ``logit >= 0`` disagree
  through float rounding alone, and the spec treats the two as the same
  rule; snapping that band to 0 also makes a logit of exactly 0 common;
- sizes are skewed to keep grading fast: one draw in four of N (rows) comes
  from the whole range up to 1000, the rest from up to 64 rows; for
  ``train_logreg`` one draw in eight of the epochs comes from the whole range
  up to 200, the rest from up to 20. The upper ends are checked by the
  fixed edge cases at the end of this module.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from grader.authoring import (
    Backward,
    Case,
    ForwardBackward,
    LinearArg,
    TensorArg,
    arrays,
    edge_arrays,
    edge_labels,
    float_dtypes,
    labels,
    sizes,
)


@st.composite
def f1_inputs(draw, *, vary_requires_grad: bool = False) -> Case:
    dtype = draw(float_dtypes())
    t = draw(arrays((draw(st.integers(1, 32)),), dtype, low=-100, high=100))
    u = draw(arrays((draw(st.integers(1, 32)),), dtype, low=0.001, high=1000))
    if not vary_requires_grad:
        return Case(args=(("t", TensorArg(t)), ("u", TensorArg(u))))
    rg_t, rg_u = draw(st.booleans()), draw(st.booleans())
    then = (Backward(),) if rg_t or rg_u else ()
    return Case(args=(("t", TensorArg(t, rg_t)), ("u", TensorArg(u, rg_u))), then=then)


@st.composite
def f1_analytic_inputs(draw) -> Case:
    case = draw(f1_inputs())
    return Case(args=case.args, grad_mode=draw(st.sampled_from(["enabled", "no_grad"])))


@st.composite
def linear_inputs(draw, *, weights_require_grad: bool = False, with_target: bool = True) -> Case:
    dtype = draw(float_dtypes())
    n, k = draw(st.integers(1, 16)), draw(st.integers(1, 8))
    batch = draw(st.one_of(st.none(), st.integers(1, 64)))
    x_shape = (n,) if batch is None else (batch, n)
    z_shape = (k,) if batch is None else (batch, k)
    x = draw(arrays(x_shape, dtype, low=-10, high=10))
    w = draw(arrays((n, k), dtype, low=-10, high=10))
    b = draw(arrays((k,), dtype, low=-10, high=10))
    args: list[tuple[str, object]] = [("x", TensorArg(x))]
    if with_target:
        args.append(("y", TensorArg(draw(arrays(z_shape, dtype, low=0, high=1)))))
    args += [("w", TensorArg(w, weights_require_grad)), ("b", TensorArg(b, weights_require_grad))]
    return Case(args=tuple(args))


@st.composite
def f3_inputs(draw) -> Case:
    dtype = draw(float_dtypes())
    x, y, z = (draw(arrays((), dtype, low=-10, high=10)) for _ in range(3))
    return Case(args=(("x", TensorArg(x)), ("y", TensorArg(y)), ("z", TensorArg(z))))


@st.composite
def freeze_inputs(draw) -> Case:
    dtype = draw(float_dtypes())
    n_in, n_out = draw(st.integers(1, 16)), draw(st.integers(1, 8))
    weight = draw(arrays((n_out, n_in), dtype, low=-1, high=1))
    bias = draw(arrays((n_out,), dtype, low=-1, high=1))
    x = draw(arrays((draw(st.integers(1, 16)), n_in), dtype, low=-10, high=10))
    return Case(
        args=(("linear", LinearArg(weight, bias)),),
        then=(ForwardBackward(module="linear", input=x),),
    )


@st.composite
def sgd_inputs(draw) -> Case:
    dtype = draw(float_dtypes())
    params = []
    for _ in range(draw(st.integers(1, 4))):
        shape = tuple(draw(st.lists(st.integers(1, 4), max_size=2)))
        data = draw(arrays(shape, dtype, low=-10, high=10))
        grad = draw(st.one_of(st.none(), arrays(shape, dtype, low=-10, high=10)))
        params.append(TensorArg(data, requires_grad=True, grad=grad))
    lr = draw(st.floats(1e-4, 1.0))
    return Case(args=(("params", params), ("lr", lr)))


def _linear_layer(draw, d: int, dtype: np.dtype, *, stale_grads: bool) -> LinearArg:
    bound = 1 / np.sqrt(d)
    weight = draw(arrays((1, d), dtype, low=-bound, high=bound))
    bias = draw(arrays((1,), dtype, low=-bound, high=bound))
    weight_grad = bias_grad = None
    if stale_grads and draw(st.booleans()):
        weight_grad = draw(arrays((1, d), dtype, low=-1, high=1))
        bias_grad = draw(arrays((1,), dtype, low=-1, high=1))
    return LinearArg(weight, bias, weight_grad=weight_grad, bias_grad=bias_grad)


@st.composite
def train_step_inputs(draw) -> Case:
    dtype = draw(float_dtypes())
    d, n = draw(st.integers(1, 16)), draw(sizes(8, 1000, small=64))
    linear = _linear_layer(draw, d, dtype, stale_grads=True)
    X = draw(arrays((n, d), dtype, low=-1, high=1))
    y = draw(labels(n, dtype))
    lr = draw(st.floats(0.001, 1.0))
    return Case(args=(("linear", linear), ("X", TensorArg(X)), ("y", TensorArg(y)), ("lr", lr)))


def _snap_to_zero(values: np.ndarray) -> np.ndarray:
    return np.where(np.abs(values) < 0.125, values.dtype.type(0), values)


@st.composite
def accuracy_inputs(draw) -> Case:
    dtype = draw(float_dtypes())
    n = draw(sizes(8, 1000, small=64))
    logits = draw(arrays((n,), dtype, low=-5, high=5, transform=_snap_to_zero))
    y = draw(labels(n, dtype))
    return Case(args=(("logits", TensorArg(logits)), ("y", TensorArg(y))))


@st.composite
def train_logreg_inputs(draw) -> Case:
    dtype = np.dtype(np.float32)
    d, n = draw(st.integers(1, 16)), draw(sizes(8, 1000, small=64))
    X = draw(arrays((n, d), dtype, low=-1, high=1))
    y = draw(labels(n, dtype))
    lr = draw(st.floats(0.001, 1.0))
    epochs = draw(sizes(1, 200, small=20, one_in=8))
    seed = draw(st.integers(0, 2**31 - 1))
    return Case(args=(("X", TensorArg(X)), ("y", TensorArg(y)), ("lr", lr), ("epochs", epochs), ("seed", seed)))


# -- fixed inputs at the edges of the domains -----------------------------------------


def train_step_edges() -> tuple[Case, ...]:
    X, weight, bias, weight_grad, bias_grad = edge_arrays(1, (1000, 16), (1, 16), (1,), (1, 16), (1,))
    linear = LinearArg(weight / 4, bias / 4, weight_grad=weight_grad, bias_grad=bias_grad)
    return (Case(args=(("linear", linear), ("X", TensorArg(X)), ("y", TensorArg(edge_labels(2, 1000))), ("lr", 1.0))),)


def accuracy_edges() -> tuple[Case, ...]:
    (logits,) = edge_arrays(3, (1000,), low=-5, high=5)
    logits[:50] = 0.0  # exactly 0: class 1
    return (Case(args=(("logits", TensorArg(_snap_to_zero(logits))), ("y", TensorArg(edge_labels(4, 1000))))),)


def train_logreg_edges() -> tuple[Case, ...]:
    (X,) = edge_arrays(5, (1000, 16))
    y = edge_labels(6, 1000)
    return (
        Case(args=(("X", TensorArg(X)), ("y", TensorArg(y)), ("lr", 1.0), ("epochs", 200), ("seed", 7))),
        Case(
            args=(
                ("X", TensorArg(X[:8, :1].copy())),
                ("y", TensorArg(y[:8].copy())),
                ("lr", 0.001),
                ("epochs", 1),
                ("seed", 0),
            )
        ),
    )
