"""The mistakes of extending autograd (``grader.authoring.extending``), each recognised from facts alone.

Every detector runs on real observations: the probe calls a correct function
and a wrong one on the same input, in this process, as the reference runs on
the trusted side. Each must name its mistake and stay silent on a different
wrong function that fails the same part.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from conftest import ROOT
from grader.authoring import (
    CREATE_GRAPH_MISSING,
    HOOK_ON_CALLER_TENSOR,
    JACOBIAN_TRANSPOSED,
    Backward,
    Case,
    PathBackward,
    TensorArg,
    backward_ignores_grad_out,
    backward_wrong_grad_count,
    custom_function_not_used,
    hook_writes_in_place,
)
from grader.authoring.api import Evidence
from grader.child import probe
from grader.i18n import language
from grader.observe.compare import Tolerance, compare
from grader.observe.observation import decode

F32 = np.float32


def _observe(fn, case: Case):
    header, blobs = case.request("f", seed=1)
    return decode(*probe.run_call(fn, header, blobs, device="cpu", catch=Exception))


def _evidence(student_fn, reference_fn, case: Case) -> Evidence:
    student, expected = _observe(student_fn, case), _observe(reference_fn, case)
    paths = tuple(dict.fromkeys([*expected.facts, *student.facts]))
    found = tuple(compare(student, expected, paths, Tolerance(1e-4, 1e-5)))
    return Evidence(case, student, expected, frozenset({"part"}), found, None, None, None)  # type: ignore[arg-type]


sys.path.insert(0, str(ROOT / "reference"))
try:
    from autograd_advanced.solution import SoftClip as _Clip  # c·tanh(x/c), backward grad_out·(1 − tanh²)
finally:
    sys.path.remove(str(ROOT / "reference"))


class _IgnoresGradOut(_Clip):
    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return 1 - torch.tanh(x / ctx.c) ** 2, None


class _Doubles(_Clip):
    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return 2 * grad_out * (1 - torch.tanh(x / ctx.c) ** 2), None


class _OneGradient(_Clip):
    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return (grad_out * (1 - torch.tanh(x / ctx.c) ** 2),)


def _clip_case() -> Case:
    x = TensorArg(np.array([0.5, -1.0, 2.0], F32), True)
    upstream = Backward(grad=np.array([0.3, -2.0, 1.2], F32), label="after backward(g)")
    return Case(args=(("x", x), ("c", 1.5)), then=(upstream,))


def test_backward_ignoring_grad_out_is_named_and_a_wrong_formula_is_not():
    mistake = backward_ignores_grad_out("grad_out * (1 - torch.tanh(x / c) ** 2), None")
    ignoring = _evidence(_IgnoresGradOut.apply, _Clip.apply, _clip_case())
    assert ignoring.mismatches and mistake.detect(ignoring)
    doubling = _evidence(_Doubles.apply, _Clip.apply, _clip_case())
    assert doubling.mismatches and not mistake.detect(doubling)
    assert not mistake.detect(_evidence(_Clip.apply, _Clip.apply, _clip_case()))


def test_the_fix_is_translated_with_the_exercises_code_in_place():
    mistake = backward_ignores_grad_out("grad_out * 2, None")
    with language("pl"):
        name, fix = mistake.shown()
    assert name == "backward pomija grad_out"
    assert "(reguła łańcuchowa): return grad_out * 2, None." in fix


def test_wrong_gradient_count_and_the_formula_instead_of_the_function():
    count = backward_wrong_grad_count("forward(ctx, x, c)", "grad_x, None")
    assert count.detect(_evidence(_OneGradient.apply, _Clip.apply, _clip_case()))
    assert not count.detect(_evidence(_Doubles.apply, _Clip.apply, _clip_case()))
    formula = custom_function_not_used("SoftClip.apply(x, c)")
    plain = _evidence(lambda x, c: c * torch.tanh(x / c), _Clip.apply, _clip_case())
    assert formula.detect(plain) and not formula.detect(_evidence(_Clip.apply, _Clip.apply, _clip_case()))


def _reverse_case(summed: bool = False) -> Case:
    x = TensorArg(np.array([1.0, -2.0], F32), True)
    steps = (
        Backward(grad=np.array([0.5, 1.5], F32), label="after backward(g)"),
        PathBackward("x", np.array([0.25, -3.0], F32)),
    ) + ((Backward(again_summed=True, label="after a second call's .sum().backward()"),) if summed else ())
    return Case(args=(("x", x), ("lam", 2.0)), then=steps)


def _reverse(x, lam):
    out = x.clone()
    out.register_hook(lambda g: -lam * g)
    return out


def _reverse_hook_on_x(x, lam):
    x.register_hook(lambda g: -lam * g)
    return x.clone()


def _reverse_lam_forgotten(x, lam):
    out = x.clone()
    out.register_hook(lambda g: -g)
    return out


def _reverse_in_place(x, lam):
    out = x.clone()
    out.register_hook(lambda g: g.mul_(-lam))
    return out


def test_a_hook_left_on_the_callers_tensor_is_named_and_a_forgotten_factor_is_not():
    on_x = _evidence(_reverse_hook_on_x, _reverse, _reverse_case())
    assert HOOK_ON_CALLER_TENSOR.detect(on_x)
    forgotten = _evidence(_reverse_lam_forgotten, _reverse, _reverse_case())
    assert forgotten.mismatches and not HOOK_ON_CALLER_TENSOR.detect(forgotten)


def test_a_hook_writing_in_place_fails_on_a_summed_backward():
    mistake = hook_writes_in_place("lambda g: -lam * g", "g.mul_(-lam)")
    in_place = _evidence(_reverse_in_place, _reverse, _reverse_case(summed=True))
    assert mistake.detect(in_place)
    assert not mistake.detect(_evidence(_reverse_lam_forgotten, _reverse, _reverse_case(summed=True)))


def _rows(x):
    return torch.stack([x, 2 * x, x**2])


def test_a_transposed_matrix_is_named_and_a_wrong_one_is_not():
    case = Case(args=(("x", TensorArg(np.array([1.0, -0.5], F32))),))
    assert JACOBIAN_TRANSPOSED.detect(_evidence(lambda x: _rows(x).T.contiguous(), _rows, case))
    assert not JACOBIAN_TRANSPOSED.detect(_evidence(lambda x: 2 * _rows(x), _rows, case))


def _hvp(create_graph: bool):
    def hvp(x):
        x = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad((x**3).sum(), x, create_graph=create_graph)
        (h,) = torch.autograd.grad(g, x, grad_outputs=torch.ones_like(x))
        return h

    return hvp


def test_create_graph_missing_is_the_error_of_a_second_backward():
    case = Case(args=(("x", TensorArg(np.array([1.0, 2.0], F32))),))
    missing = _evidence(_hvp(False), _hvp(True), case)
    assert missing.student.raised and CREATE_GRAPH_MISSING.detect(missing)
    assert not CREATE_GRAPH_MISSING.detect(_evidence(lambda x: 6 * x, _hvp(True), case))
