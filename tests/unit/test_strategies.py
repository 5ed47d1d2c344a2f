"""The drawn inputs stay inside the spec's domains."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.authoring.strategies import arrays, labels, sizes
from grader.course.assignment import load
from grader.observe.case import LinearArg, TensorArg

CHECKS = load("autograd-basics").checks
FAST = settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@FAST
@given(st.data())
def test_arrays_respect_bounds_shape_and_dtype(data):
    shape = data.draw(st.lists(st.integers(1, 12), max_size=3).map(tuple))
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    low = data.draw(st.sampled_from([-100.0, 0.001, -1.0]))
    values = data.draw(arrays(shape, dtype, low=low, high=low + 50))
    assert values.shape == shape and values.dtype == dtype
    assert np.all(values >= np.asarray(low, dtype)) and np.all(values <= np.asarray(low + 50, dtype))
    assert np.all(np.isfinite(values))


@FAST
@given(st.data())
def test_labels_and_sizes(data):
    n = data.draw(sizes(8, 1000, small=64))
    assert 8 <= n <= 1000
    y = data.draw(labels(n, np.float32))
    assert set(np.unique(y)) <= {0.0, 1.0} and y.shape == (n,)


def _args(case):
    return dict(case.args)


@FAST
@given(CHECKS["e1_value"].cases)
def test_exercise_1_domain(case):
    t, u = _args(case)["t"].data, _args(case)["u"].data
    assert 1 <= t.size <= 32 and 1 <= u.size <= 32 and t.ndim == u.ndim == 1
    assert np.all(np.abs(t) <= 100) and np.all(u >= 0.001) and np.all(u <= 1000)
    assert t.dtype == u.dtype


@FAST
@given(CHECKS["e2_grads"].cases)
def test_exercise_2_domain(case):
    a = _args(case)
    x, y, w, b = (a[k].data for k in "xywb")
    n, k = w.shape
    assert 1 <= n <= 16 and 1 <= k <= 8 and b.shape == (k,)
    assert x.shape in ((n,), (x.shape[0], n)) and 1 <= (x.shape[0] if x.ndim == 2 else 1) <= 64
    assert y.shape == (x @ w + b).shape and np.all((0 <= y) & (y <= 1))
    assert all(np.all(np.abs(v) <= 10) for v in (x, w, b))


@FAST
@given(CHECKS["e6_sgd_step"].cases)
def test_exercise_6_domain(case):
    params, lr = _args(case)["params"], _args(case)["lr"]
    assert 1 <= len(params) <= 4 and 0.0001 <= lr <= 1
    assert all(isinstance(p, TensorArg) and p.requires_grad and p.data.ndim <= 2 for p in params)


@FAST
@given(CHECKS["e7_train_step"].cases)
def test_exercise_7_domain(case):
    a = _args(case)
    X, y = a["X"].data, a["y"].data
    assert 8 <= X.shape[0] <= 1000 and 1 <= X.shape[1] <= 16 and y.shape == (X.shape[0],)
    assert isinstance(a["linear"], LinearArg) and a["linear"].weight.shape == (1, X.shape[1])
    assert 0.001 <= a["lr"] <= 1


def test_edges_reach_the_top_of_the_domains():
    edges = CHECKS["e7_train_logreg"].edges
    assert max(_args(c)["epochs"] for c in edges) == 200
    assert max(_args(c)["X"].data.shape[0] for c in edges) == 1000


def test_a_domain_smaller_than_the_example_count_is_exhausted_not_an_error():
    from grader.judging.search import reject, run_examples

    seen = set()

    def distinct(value):
        if value in seen:
            reject()
        seen.add(value)

    assert run_examples(st.integers(0, 4), distinct, max_examples=100, seed=1) is None
    assert seen == {0, 1, 2, 3, 4}


def test_the_engines_shrink_budget_stops_hypothesis_at_once_keeping_the_smallest_failure_so_far():
    """The engine ends a long shrink by raising a BaseException from its test: hypothesis must pass it on at once,
    not shrink it as another failure, and the failures seen until then only ever get smaller."""
    from grader.judging.engine import _Enough
    from grader.judging.search import run_examples

    failing: list[int] = []

    def test(value: int) -> None:
        if failing and len(failing) >= 5:
            raise _Enough()
        if value > 10:
            failing.append(value)
            raise ValueError(value)

    with pytest.raises(_Enough):
        run_examples(st.integers(0, 10**9), test, max_examples=100, seed=3)
    assert len(failing) == 5
    assert failing == sorted(failing, reverse=True) and failing[-1] < failing[0]


def test_drawn_inputs_do_not_depend_on_the_modules_this_process_has_loaded(tmp_path, monkeypatch):
    """Hypothesis mixes in literals of the local modules loaded so far; the grader's draws must not, or a
    batch worker (references preloaded) and ``grade`` alone would draw different inputs."""
    import importlib

    from grader.judging.search import run_examples

    def draw() -> list[bytes]:
        seen: list[bytes] = []
        drawn = st.tuples(arrays((6,), np.float64, low=-1000, high=1000), st.floats(-1000, 1000))
        run_examples(drawn, lambda case: seen.append(case[0].tobytes() + repr(case[1]).encode()),
                     max_examples=80, seed=7)  # fmt: skip
        return seen

    before = draw()
    module = tmp_path / "course_constants.py"
    module.write_text("VALUES = [" + ", ".join(f"{i}.{i:03d}" for i in range(1, 500)) + "]\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("course_constants")
    assert draw() == before
