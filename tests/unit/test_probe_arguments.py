"""The argument kinds and follow-up actions of the second assignment, probed for real.

Functions from the catalogue, nn.Sequential modules, upstream gradients, a
backward through another path and gradcheck: each observed with the probe the
child runs, and decoded as the trusted side decodes it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grader.child import probe
from grader.child.functions import CATALOGUE, build
from grader.observe.case import (
    Backward,
    Case,
    FunctionArg,
    GradCheck,
    LinearArg,
    PathBackward,
    SequentialArg,
    TensorArg,
)
from grader.observe.observation import decode

RNG = np.random.default_rng(7)


def observe(fn, case: Case):
    header, blobs = case.request("fn", seed=0)
    return decode(*probe.run_call(fn, header, blobs, device="cpu", catch=Exception))


def hessian_vector(f, x, v):
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x), x, create_graph=True)
    return torch.autograd.grad(g, x, grad_outputs=v)[0].detach()


@pytest.mark.parametrize("name", [k for k, e in CATALOGUE.items() if not e.vector])
def test_a_catalogue_function_arrives_built_with_its_parameters(name):
    n = 3
    shapes = {"A": (2, n), "a": (n,), "b": (2,)}
    params = tuple((p, RNG.uniform(-1, 1, shapes[p])) for p in CATALOGUE[name].params)
    x, v = RNG.uniform(-3, 3, n), RNG.uniform(-3, 3, n)
    case = Case(args=(("f", FunctionArg(name, params)), ("x", TensorArg(x)), ("v", TensorArg(v))))
    got = observe(hessian_vector, case).facts["return"].values

    built = build(name, {p: torch.from_numpy(a) for p, a in params})
    want = torch.autograd.functional.hvp(built, torch.from_numpy(x), torch.from_numpy(v))[1].numpy()
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    assert got.dtype == np.float64


def test_a_function_is_described_as_a_formula_and_survives_a_stored_plan():
    A = np.array([[1.0, -2.0]], dtype=np.float32)
    case = Case(args=(("f", FunctionArg("quartic", (("A", A),))), ("x", TensorArg(np.zeros(2, np.float32)))))
    assert case.describe().startswith("f(x) = ¼·Σ ((A·x)ᵢ)⁴ with A = tensor([[1., -2.]], dtype=float32)")
    header, blobs = case.request("hvp", seed=1)
    assert Case.from_request(header, blobs).describe() == case.describe()
    assert case.to_data()["args"]["f"]["formula"] == "f(x) = ¼·Σ ((A·x)ᵢ)⁴"


def test_an_unknown_function_name_is_a_protocol_error():
    case = Case(args=(("f", FunctionArg("os_system")),))
    header, blobs = case.request("fn", seed=0)
    with pytest.raises(probe.ProtocolError, match="no such function"):
        probe.run_call(lambda f: f, header, blobs, device="cpu")


def _linear(n_in: int, n_out: int) -> LinearArg:
    return LinearArg(RNG.uniform(-1, 1, (n_out, n_in)), RNG.uniform(-1, 1, n_out))


def test_a_sequential_module_is_tracked_parameter_by_parameter():
    critic = SequentialArg((_linear(2, 3), "tanh", _linear(3, 1)))
    x = RNG.uniform(-3, 3, (4, 2))

    def penalty(critic, x):
        x = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
        return ((g.norm(dim=1) - 1) ** 2).mean()

    facts = observe(penalty, Case(args=(("critic", critic), ("x", TensorArg(x))), then=(Backward(),))).facts
    assert facts["critic.0.weight.grad"] is None and facts["critic.2.bias.same_object"] is True
    assert facts["after backward(): critic.0.weight.grad"].shape == (3, 2)
    assert "nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))" in Case(args=(("critic", critic),)).describe()


class _Clip(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, c):
        ctx.save_for_backward(x)
        ctx.c = c
        return c * torch.tanh(x / c)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * (1 - torch.tanh(x / ctx.c) ** 2), None


class _ClipIgnoringGradOut(_Clip):
    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return 1 - torch.tanh(x / ctx.c) ** 2, None


@pytest.mark.parametrize(("function", "passes"), [(_Clip, True), (_ClipIgnoringGradOut, False)])
def test_an_upstream_gradient_and_gradcheck_show_a_backward_that_ignores_grad_out(function, passes):
    x, g = np.array([0.5, -1.0], np.float32), np.array([2.0, -3.0], np.float32)
    case = Case(args=(("x", TensorArg(x, True)), ("c", 2.0)), then=(Backward(grad=g, label="bw"), GradCheck("x")))
    facts = observe(lambda x, c: function.apply(x, c), case).facts
    want = g * (1 - np.tanh(x / 2) ** 2)
    assert np.allclose(facts["bw: x.grad"].values, want) is passes
    assert facts["gradcheck: value"] is passes
    assert facts["return.node"] == f"{function.__name__}Backward"


def test_a_backward_returning_too_few_gradients_is_recorded_with_its_message():
    class OneGradient(_Clip):
        @staticmethod
        def backward(ctx, grad_out):
            return grad_out

    x = np.ones(2, np.float32)
    case = Case(args=(("x", TensorArg(x, True)), ("c", 1.0)), then=(Backward(grad=x, label="bw"),))
    facts = observe(lambda x, c: OneGradient.apply(x, c), case).facts
    assert facts["bw: error"] == "RuntimeError"
    assert "incorrect number of gradients" in facts["bw: error message"]


@pytest.mark.parametrize(("hook_on_caller", "plain"), [(False, True), (True, False)])
def test_a_backward_through_another_path_shows_a_hook_left_on_the_callers_tensor(hook_on_caller, plain):
    def reverse(x, lam):
        if hook_on_caller:
            x.register_hook(lambda g: -lam * g)
            return x * 1.0
        out = x.clone()
        out.register_hook(lambda g: -lam * g)
        return out

    x, g, w = np.ones(3), np.full(3, 2.0), np.array([1.0, 2.0, 3.0])
    case = Case(
        args=(("x", TensorArg(x, True)), ("lam", 0.5)), then=(Backward(grad=g, label="bw"), PathBackward("x", w))
    )
    facts = observe(reverse, case).facts
    assert np.allclose(facts["bw: x.grad"].values, -0.5 * g)
    assert np.allclose(facts[f"{PathBackward.label}: x.grad"].values, w) is plain  # from a clean .grad
    assert "then backward(g) on the result with g = tensor([2., 2., 2.]" in case.describe()


@pytest.mark.parametrize("in_place", [False, True])
def test_a_new_calls_sum_shows_a_hook_that_writes_into_its_gradient(in_place):
    def reverse(x, lam):
        out = x * 1.0  # its graph frees its buffers after one backward: the step calls again
        out.register_hook((lambda g: g.mul_(-lam)) if in_place else (lambda g: -lam * g))
        return out

    x, g = np.ones(3), np.full(3, 2.0)
    case = Case(
        args=(("x", TensorArg(x, True)), ("lam", 0.5)),
        then=(Backward(grad=g, label="bw"), Backward(again_summed=True, label="sum")),
    )
    header, blobs = case.request("fn", seed=0)
    assert Case.from_request(header, blobs).then[1].again_summed
    facts = observe(reverse, case).facts
    assert np.allclose(facts["bw: x.grad"].values, -0.5 * g)  # right for an upstream g of its own
    if in_place:
        assert facts["sum: error"] == "RuntimeError"  # ones expanded from one element cannot be written into
    else:
        assert facts["sum: error"] is None
        assert np.allclose(facts["sum: x.grad"].values, -0.5 * g - 0.5)
    assert "a new call with the same arguments, then .sum().backward() on its result" in case.describe()
