"""Hypothesis building blocks for tensor inputs, used by the reference checks.

Values are drawn in three tiers, trading hypothesis's per-draw cost against
how readable a shrunk counterexample is:

- up to ``ELEMENTWISE_MAX`` elements, one float per element: shrinking
  reaches inputs such as ``tensor([0., 1.])``;
- up to ``BYTES_MAX`` elements, one block of random bytes mapped onto the
  range: a single draw, and shrinking zeroes bytes, which moves elements to
  the simplest value in the range one at a time;
- beyond that (a 1000 × 16 data set), a drawn seed for numpy's generator:
  hypothesis could not draw that many values within its budget; shrinking
  works on the shape and the seed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from hypothesis import strategies as st

from ..child.functions import CATALOGUE
from ..observe.case import FunctionArg, LinearArg

ELEMENTWISE_MAX = 4
BYTES_MAX = 64
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def float_dtypes() -> st.SearchStrategy[np.dtype]:
    """float32 first, so that shrinking ends on it."""
    return st.sampled_from(FLOAT_DTYPES)


def _simplest(low: float, high: float) -> float:
    return min(max(0.0, low), high)


def _from_bytes(data: bytes, low: float, high: float) -> np.ndarray:
    """Byte blocks onto [low, high]; all-zero bytes give the simplest value in the range."""
    simplest = _simplest(low, high)
    if simplest in (low, high):
        fraction = np.frombuffer(data, dtype=np.uint64) / 2.0**64
        start, end = (low, high) if simplest == low else (high, low)
        return start + fraction * (end - start)
    signed = np.frombuffer(data, dtype=np.int64) / 2.0**63
    return np.where(signed >= 0, simplest + signed * (high - simplest), simplest - signed * (low - simplest))


@lru_cache(maxsize=4096)
def _values(size: int, low: float, high: float) -> st.SearchStrategy[np.ndarray]:
    if size <= ELEMENTWISE_MAX:
        elements = st.floats(low, high, allow_nan=False, allow_infinity=False)
        return st.lists(elements, min_size=size, max_size=size).map(np.asarray)
    if size <= BYTES_MAX:
        return st.binary(min_size=8 * size, max_size=8 * size).map(lambda b: _from_bytes(b, low, high))
    return st.integers(0, 2**32 - 1).map(lambda seed: np.random.default_rng(seed).uniform(low, high, size))


def arrays(
    shape: tuple[int, ...],
    dtype: np.dtype,
    *,
    low: float,
    high: float,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
) -> st.SearchStrategy[np.ndarray]:
    """Finite values in [low, high] of the given shape and dtype."""
    return _arrays(tuple(int(s) for s in shape), np.dtype(dtype), float(low), float(high), transform)


@lru_cache(maxsize=4096)
def _arrays(
    shape: tuple[int, ...],
    dtype: np.dtype,
    low: float,
    high: float,
    transform: Callable[[np.ndarray], np.ndarray] | None,
) -> st.SearchStrategy[np.ndarray]:
    # Strategies are cached: hypothesis analyses every new strategy object,
    # which would otherwise dominate the cost of drawing an example.
    size = int(np.prod(shape, dtype=np.int64))

    def finish(values: np.ndarray) -> np.ndarray:
        values = np.clip(values.astype(dtype), dtype.type(low), dtype.type(high)).reshape(shape)
        return transform(values) if transform is not None else values

    return _values(size, low, high).map(finish)


@lru_cache(maxsize=1024)
def _labels(size: int) -> st.SearchStrategy[np.ndarray]:
    if size <= BYTES_MAX:
        return st.binary(min_size=size, max_size=size).map(
            lambda b: (np.frombuffer(b, dtype=np.uint8) & 1).astype(np.float64)
        )
    return st.integers(0, 2**32 - 1).map(
        lambda seed: np.random.default_rng(seed).integers(0, 2, size).astype(np.float64)
    )


@lru_cache(maxsize=1024)
def _typed_labels(size: int, dtype: np.dtype) -> st.SearchStrategy[np.ndarray]:
    return _labels(size).map(lambda values: values.astype(dtype))


def labels(size: int, dtype: np.dtype) -> st.SearchStrategy[np.ndarray]:
    """Binary targets (0. or 1.)."""
    return _typed_labels(int(size), np.dtype(dtype))


def sizes(low: int, high: int, *, small: int | None = None, one_in: int = 4) -> st.SearchStrategy[int]:
    """Integers in [low, high]; all but one draw in ``one_in`` from [low, small].

    Keeps the cost of long runs down without leaving the upper end untested.
    (``st.one_of`` would not do: it merges identical branches.)
    """
    if small is None or small >= high:
        return st.integers(low, high)
    short, whole = st.integers(low, small), st.integers(low, high)
    return st.integers(0, one_in - 1).flatmap(lambda k: whole if k == one_in - 1 else short)


# Catalogue entries that are linear (or constant) when x has a single element.
_NEED_TWO = ("logsumexp", "softmax")


def functions(
    n: int, dtype: np.dtype, *, vector: bool, outputs: tuple[int, int] = (1, 8)
) -> st.SearchStrategy[FunctionArg]:
    """A function of x with shape (n,) from the catalogue (``grader.child.functions``), with drawn parameters.

    ``vector``: functions to shape (m,) (m drawn from ``outputs`` where the
    function has a matrix ``A``, else m = n); otherwise to a 0-dim tensor.
    Shrinking moves towards the first entry of the catalogue.
    """
    names = [k for k, e in CATALOGUE.items() if e.vector == vector and (n > 1 or k not in _NEED_TWO)]
    dtype = np.dtype(dtype)

    @st.composite
    def draw_function(draw) -> FunctionArg:
        name = draw(st.sampled_from(names))
        m = draw(st.integers(*outputs))
        shapes = {"A": (m, n), "b": (m,), "a": (n,)}
        params = tuple((p, draw(arrays(shapes[p], dtype, low=-1, high=1))) for p in CATALOGUE[name].params)
        return FunctionArg(name, params)

    return draw_function()


def shapes(max_dims: int, *, max_side: int = 8) -> st.SearchStrategy[tuple[int, ...]]:
    """Tensor shapes with 0 to ``max_dims`` dimensions of 1 to ``max_side`` each (shrinking: towards 0-dim)."""
    return st.lists(st.integers(1, max_side), max_size=max_dims).map(tuple)


def linear_layers(
    n_in: int, n_out: int, dtype: np.dtype, *, bound: float = 1.0, stale: bool | None = False
) -> st.SearchStrategy[LinearArg]:
    """An ``nn.Linear(n_in, n_out)`` with weights in [-bound, bound]; ``stale``: with a stale .grad
    (True), without (False), or drawn (None)."""

    @st.composite
    def draw_layer(draw) -> LinearArg:
        weight = draw(arrays((n_out, n_in), dtype, low=-bound, high=bound))
        bias = draw(arrays((n_out,), dtype, low=-bound, high=bound))
        if not (draw(st.booleans()) if stale is None else stale):
            return LinearArg(weight, bias)
        grads = [draw(arrays(a.shape, dtype, low=-1, high=1)) for a in (weight, bias)]
        return LinearArg(weight, bias, weight_grad=grads[0], bias_grad=grads[1])

    return draw_layer()
