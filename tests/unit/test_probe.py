"""The probe, run in-process exactly as the child runs it."""

from __future__ import annotations

import json
import sys

import numpy as np
import torch

from grader.child import probe
from grader.observe.case import Backward, Case, LinearArg, TensorArg
from grader.observe.observation import decode


def observe(fn, case: Case):
    header, blobs = case.request("fn", seed=1)
    return decode(*probe.run_call(fn, header, blobs, device="cpu"))


T = np.float32([1.0, 2.0])


def test_values_and_flags_of_returned_tensors():
    def f(t):
        t = t.detach().clone().requires_grad_(True)
        y = (t * 2).sum()
        return y, y.detach()

    o = observe(f, Case(args=(("t", TensorArg(T)),)))
    assert o.error is None
    assert o.facts["return[0].requires_grad"] is True and o.facts["return[0].grad_fn"] is True
    assert o.facts["return[0]"].grad_fn == "SumBackward0"
    assert o.facts["return[1].requires_grad"] is False
    assert float(o.facts["return[1]"].values) == 6.0
    assert o.facts["t"].values.tolist() == [1.0, 2.0] and o.facts["t.requires_grad"] is False


def test_changes_to_the_callers_tensor_are_seen():
    def f(t):
        t.requires_grad_(True)
        (t * t).sum().backward()
        return t.grad

    o = observe(f, Case(args=(("t", TensorArg(T)),)))
    assert o.facts["t.requires_grad"] is True
    assert o.facts["t.grad"].values.tolist() == [2.0, 4.0]


def test_identity_version_and_replacement_in_a_list():
    def step(params, lr):
        with torch.no_grad():
            params[0] -= lr * params[0].grad
        params[1] = params[1] * 1.0

    case = Case(
        args=(("params", [TensorArg(T, True, np.float32([1, 1])), TensorArg(T, True, np.float32([1, 1]))]), ("lr", 0.5))
    )
    o = observe(step, case)
    assert o.facts["params[0]"].values.tolist() == [0.5, 1.5]
    assert o.facts["params[0].same_object"] is True and o.versions["params[0]"] == 1
    assert o.facts["params[1].same_object"] is False
    assert o.facts["params[1].now.grad_fn"] is True  # what the list holds now is a graph node
    assert o.facts["params[1]"].values.tolist() == [1.0, 2.0]  # the caller's tensor did not move


def test_grad_mode_after_the_call_and_clean_state_before_the_next():
    def leaves_it_off(t):
        torch.set_grad_enabled(False)
        return t * 2

    o = observe(leaves_it_off, Case(args=(("t", TensorArg(T)),)))
    assert o.facts["grad_mode"] is False
    assert torch.is_grad_enabled()  # restored for whoever runs next
    o = observe(lambda t: t * 2, Case(args=(("t", TensorArg(T)),), grad_mode="no_grad"))
    assert o.facts["grad_mode"] is False  # observed inside the caller's no_grad


def test_backward_follow_up_reaches_the_inputs():
    o = observe(lambda t: (t**2).sum(), Case(args=(("t", TensorArg(T, requires_grad=True)),), then=(Backward(),)))
    assert o.facts["after backward(): error"] is None
    assert o.facts["after backward(): t.grad"].values.tolist() == [2.0, 4.0]
    o = observe(
        lambda t: (t**2).sum().detach(), Case(args=(("t", TensorArg(T, requires_grad=True)),), then=(Backward(),))
    )
    assert o.facts["after backward(): error"] == "RuntimeError"


def test_linear_module_arguments_keep_their_parameters():
    linear = LinearArg(np.float32([[1, 2]]), np.float32([3]), weight_grad=np.float32([[9, 9]]))

    def freeze(m):
        m.weight.requires_grad_(False)

    o = observe(freeze, Case(args=(("linear", linear),)))
    assert o.facts["linear.weight.requires_grad"] is False and o.facts["linear.bias.requires_grad"] is True
    assert o.facts["linear.weight.same_object"] is True
    assert o.facts["linear.weight.grad"].values.tolist() == [[9.0, 9.0]]


def test_exceptions_and_exits_are_outcomes():
    def raises(t):
        raise ValueError("x" * 5000)

    o = observe(raises, Case(args=(("t", TensorArg(T)),)))
    assert o.error["type"] == "ValueError" and len(o.error["message"]) < 2100
    o = observe(lambda t: exit(3), Case(args=(("t", TensorArg(T)),)))
    assert o.error["type"] == "SystemExit"


def test_zero_dim_inputs_stay_zero_dim():
    o = observe(lambda x: x * 1, Case(args=(("x", TensorArg(np.float32(2.5).reshape(()))),)))
    assert o.facts["return"].shape == () and o.facts["x"].shape == ()


class Lying(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        result = super().__torch_function__(func, types, args, kwargs or {})
        if func is torch.Tensor.detach:
            return torch.zeros_like(result.as_subclass(torch.Tensor)) + 42
        return result


def test_a_tensor_subclass_is_named_and_cannot_fake_its_bytes():
    o = observe(lambda t: (t * 1).as_subclass(Lying), Case(args=(("t", TensorArg(T)),)))
    assert o.facts["return"].cls.endswith("Lying (a subclass of torch.Tensor)")
    assert o.facts["return"].values.tolist() == [1.0, 2.0]


class Spoof(torch.Tensor):
    """Calls itself builtins.Tensor and lies in its properties: no history, a leaf, an infinite shape."""

    requires_grad = property(lambda self: False)
    grad_fn = property(lambda self: None)
    is_leaf = property(lambda self: True)
    shape = property(lambda self: [float("inf")])


Spoof.__module__, Spoof.__qualname__ = "builtins", "Tensor"


def test_a_tensor_subclass_cannot_fake_its_autograd_facts_or_its_class():
    o = observe(lambda t: (t * 2).as_subclass(Spoof), Case(args=(("t", TensorArg(T, True)),)))
    fact = o.facts["return"]
    assert fact.cls == "Tensor (a subclass of torch.Tensor)" and fact.shape == (2,)
    assert o.facts["return.requires_grad"] is True and o.facts["return.grad_fn"] is True


def test_a_tracer_or_patched_torch_left_by_the_call_changes_nothing_observed():
    def sneaky(t):
        def tracer(frame, event, arg):  # would rewrite the probe's locals as it observes
            if "ret" in frame.f_locals:
                frame.f_locals["ret"] = None
            return tracer

        torch.is_grad_enabled = lambda: True
        sys.settrace(tracer)
        return t * 2

    real = torch.is_grad_enabled
    try:
        o = observe(sneaky, Case(args=(("t", TensorArg(T)),), grad_mode="no_grad"))
    finally:
        sys.settrace(None)
        torch.is_grad_enabled = real
    assert o.facts["return"].values.tolist() == [2.0, 4.0]
    assert o.facts["grad_mode"] is False  # no_grad is still on after the call, whatever torch says


def test_objects_that_are_not_values():
    class AlwaysEqual:
        def __eq__(self, other):
            return True

    o = observe(lambda t: AlwaysEqual(), Case(args=(("t", TensorArg(T)),)))
    assert o.facts["return"].kind == "object" and o.facts["return"].cls.endswith("AlwaysEqual")
    o = observe(lambda t: np.float32(0.5), Case(args=(("t", TensorArg(T)),)))
    assert o.facts["return"].kind == "number"


def test_a_huge_or_deep_answer_is_described_within_the_budget():
    long = list(range(2_000_000))
    wide = [long] * 64  # counting every element, as it once did, walks 128 million items
    nested = [[[[0.5] * 64] * 64] * 64] * 64  # 16 million values four levels down
    for value in (wide, nested, tuple(nested)):
        header, blobs = probe.run_call(
            lambda t, v=value: v, *Case(args=(("t", TensorArg(T)),)).request("fn", seed=1), device="cpu"
        )
        assert len(json.dumps(header)) < 1 << 20  # a small frame, whatever came back
        o = decode(header, blobs)
        assert o.facts["return"].kind == "sequence" and o.facts["return"].cls in ("list", "tuple")
    assert o.facts["return"].length == 64
    assert sum(1 for path in o.facts if path.startswith("return")) <= probe.MAX_NODES + 1


def test_tensor_data_beyond_the_answer_budget_is_not_sent():
    big = torch.zeros(probe.MAX_NUMEL)  # 16 MiB each: the third one does not fit in 32 MiB
    header, blobs = probe.run_call(
        lambda t: [big, big, big], *Case(args=(("t", TensorArg(T)),)).request("fn", seed=1), device="cpu"
    )
    assert sum(map(len, blobs)) <= probe.MAX_ANSWER_BYTES + 64
    o = decode(header, blobs)
    assert o.facts["return[0]"].values is not None and o.facts["return[2]"].values is None
    assert header["return"]["items"][2]["cut"] == header["too_large"] == "more than 32 MiB of tensor data"


def test_an_exception_holding_a_huge_value_is_printed_short():
    huge = {i: i for i in range(2_000_000)}

    def raises(t):
        raise ValueError(huge)

    o = observe(raises, Case(args=(("t", TensorArg(T)),)))
    assert o.error["message"].startswith("{0: 0, 1: 1,") and len(o.error["message"]) < 200
