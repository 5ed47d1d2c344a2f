"""The reproduction snippet builds the very objects the child builds, and prints what was compared."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch

from grader.child import functions, probe
from grader.observe.case import (
    Backward,
    Case,
    ForwardBackward,
    FunctionArg,
    GradCheck,
    LinearArg,
    PathBackward,
    SequentialArg,
    TensorArg,
)
from grader.observe.snippet import FUNCTION_SOURCES, MAX_VALUES, number, snippet, tensor

F32, F64 = np.float32, np.float64


class Recorder:
    """Stands for the student's function: keeps what it was called with, returns ``answer(*args)``."""

    def __init__(self, answer=lambda *args: None) -> None:
        self.answer = answer
        self.args: tuple = ()
        self.grad_enabled = True
        self.seeded = None

    def __call__(self, *args):
        self.args = args
        self.grad_enabled = torch.is_grad_enabled()
        self.seeded = torch.rand(1).item()
        return self.answer(*args)


def run(code: str, target: str = "target", answer=lambda *args: None) -> tuple[Recorder, str]:
    recorder = Recorder(answer)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<snippet>", "exec"), {target: recorder})
    return recorder, out.getvalue()


def built(case: Case) -> list:
    """The arguments as the child builds them for a call (grader.child.probe)."""
    header, blobs = case.request("target", seed=0)
    return [probe._build(spec, blobs, "cpu")[0] for spec in header["args"]]


def same_tensor(got: torch.Tensor, want: torch.Tensor) -> None:
    assert type(got) is type(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.requires_grad == want.requires_grad
    assert got.detach().numpy().tobytes() == want.detach().numpy().tobytes()  # bit for bit, -0.0 and NaN too
    assert (got.grad is None) == (want.grad is None)
    if want.grad is not None:
        same_tensor(got.grad, want.grad)


def same_module(got: torch.nn.Module, want: torch.nn.Module) -> None:
    assert [type(m) for m in got.modules()] == [type(m) for m in want.modules()]
    got_params, want_params = dict(got.named_parameters()), dict(want.named_parameters())
    assert list(got_params) == list(want_params)
    for name, param in want_params.items():
        same_tensor(got_params[name], param)


def test_tensors_come_back_bit_for_bit_with_requires_grad_and_a_stale_grad():
    hard = np.array([0.1, -0.0, 1e-45, 3.4028235e38, 1 / 3, -2.5, 1e-7, 123456.79], dtype=F32)
    case = Case(
        args=(
            ("x", TensorArg(hard, requires_grad=True, grad=np.linspace(-1, 1, 8).astype(F32))),
            ("y", TensorArg(np.array([[np.pi, np.e], [-np.inf, np.nan]], dtype=F64))),
            ("s", TensorArg(np.array(0.7, dtype=F32))),
            ("empty", TensorArg(np.zeros((0, 3), dtype=F32))),
        )
    )
    code = snippet(case, "target", seed=7)
    recorder, _ = run(code)
    for got, want in zip(recorder.args, built(case), strict=True):
        same_tensor(got, want)
    assert "x.grad = torch.tensor(" in code
    assert "torch.tensor(0.7, dtype=torch.float32)" in code
    assert "torch.empty(0, 3, dtype=torch.float32)" in code


def test_equal_values_are_written_as_zeros_ones_or_full():
    case = Case(
        args=(
            ("a", TensorArg(np.zeros((8, 5), dtype=F32))),
            ("b", TensorArg(np.ones(3, dtype=F64), requires_grad=True)),
            ("c", TensorArg(np.full(4, 0.5, dtype=F32))),
            ("d", TensorArg(np.full(2, -0.0, dtype=F32))),
        )
    )
    code = snippet(case, "target")
    assert "a = torch.zeros(8, 5, dtype=torch.float32)\n" in code
    assert "b = torch.ones(3, dtype=torch.float64, requires_grad=True)\n" in code
    assert "c = torch.full((4,), 0.5, dtype=torch.float32)\n" in code
    assert "d = torch.full((2,), -0.0, dtype=torch.float32)\n" in code
    recorder, _ = run(code)
    for got, want in zip(recorder.args, built(case), strict=True):
        same_tensor(got, want)


def test_numbers_read_back_to_the_same_float32_and_float64():
    rng = np.random.default_rng(0)
    for dtype in (F32, F64):
        values = (rng.standard_normal(2000) * 10.0 ** rng.integers(-40, 38, 2000)).astype(dtype)
        for value in values:
            assert torch.tensor(
                float(eval(number(value, np.dtype(dtype)))), dtype=getattr(torch, np.dtype(dtype).name)
            ).item() == float(value)
    assert number(F32(0.1), np.dtype(F32)) == "0.1"  # the float32 text a student would type
    assert number(F64(0.1), np.dtype(F64)) == "0.1"
    assert number(np.nan, np.dtype(F64)) == "float('nan')"
    assert tensor(np.array([True, False])) == "torch.tensor([True, False], dtype=torch.bool)"


def test_a_long_tensor_is_written_one_row_per_line():
    code = tensor(np.arange(24, dtype=F32).reshape(4, 6) / 7)
    lines = code.splitlines()
    assert lines[0] == "torch.tensor(["
    assert lines[-1] == "], dtype=torch.float32)"
    assert len(lines) == 6 and all(len(line) <= 88 for line in lines)


def test_linear_modules_get_their_weights_requires_grad_and_stale_grads():
    weight = np.array([[0.5, -1.25, 2.0]], dtype=F64)
    linear = LinearArg(weight, np.array([0.125]), weight_grad=np.ones((1, 3)), bias_grad=np.array([-1.0]))
    frozen = LinearArg(np.eye(2, dtype=F32), None, weight_requires_grad=False)
    case = Case(args=(("linear", linear), ("frozen", frozen), ("lr", 0.1)))
    code = snippet(case, "target", seed=3)
    assert code.startswith("import torch\nfrom torch import nn\n\nlinear = nn.Linear(3, 1, dtype=torch.float64)\n")
    assert "with torch.no_grad():\n    linear.weight.copy_(" in code
    assert "frozen = nn.Linear(2, 2, bias=False)\n" in code
    assert "frozen.weight.requires_grad_(False)\n" in code
    assert "linear.bias.grad = torch.tensor([-1.0], dtype=torch.float64)\n" in code
    recorder, _ = run(code)
    got, want = recorder.args, built(case)
    same_module(got[0], want[0])
    same_module(got[1], want[1])
    assert got[2] == want[2] == 0.1 and type(got[2]) is float


def test_sequential_modules_are_built_layer_by_layer():
    first = LinearArg(np.arange(6, dtype=F32).reshape(3, 2) / 5, np.array([0.1, 0.2, 0.3], dtype=F32))
    last = LinearArg(np.array([[1.0, -1.0, 0.5]], dtype=F32), np.array([0.0], dtype=F32))
    case = Case(args=(("critic", SequentialArg((first, "tanh", last, "relu"))), ("x", TensorArg(np.ones((2, 2), F32)))))
    code = snippet(case, "target")
    assert "critic = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1), nn.ReLU())\n" in code
    assert code.count("with torch.no_grad():") == 1
    assert "    critic[2].weight.copy_(" in code
    recorder, _ = run(code)
    same_module(recorder.args[0], built(case)[0])


@pytest.mark.parametrize("name", sorted(functions.CATALOGUE))
def test_each_catalogue_function_is_written_as_the_python_it_computes(name):
    entry = functions.CATALOGUE[name]
    rng = np.random.default_rng(1)
    params = tuple((p, rng.standard_normal((3, 3) if p == "A" else 3)) for p in entry.params)
    case = Case(args=(("f", FunctionArg(name, params)), ("x", TensorArg(rng.standard_normal(3)))))
    code = snippet(case, "hvp")
    assert f"def f(x):\n    return {FUNCTION_SOURCES[name]}\n" in code
    recorder, _ = run(code, "hvp")
    f_got, x = recorder.args
    f_want = built(case)[0]
    assert torch.equal(f_got(x), f_want(x))


def test_a_parameter_of_a_function_keeps_clear_of_the_arguments_names():
    case = Case(args=(("f", FunctionArg("quartic", (("A", np.eye(2)),))), ("A", TensorArg(np.ones(2)))))
    code = snippet(case, "target")
    assert "A_2 = torch.tensor(" in code and "return 0.25 * ((A_2 @ x) ** 4).sum()" in code
    recorder, _ = run(code)
    assert torch.equal(recorder.args[0](torch.ones(2, dtype=torch.float64)), torch.tensor(0.5, dtype=torch.float64))


def test_lists_of_tensors_and_plain_values():
    params = [
        TensorArg(np.array([1.0, 2.0], F32), True, grad=np.array([0.5, 0.5], F32)),
        TensorArg(np.array(3.0, F32), True),
    ]
    case = Case(args=(("params", params), ("sizes", [1, 2]), ("flag", True), ("n", 3), ("lr", 1e-5)))
    code = snippet(case, "target")
    assert "params[0].grad = torch.full((2,), 0.5, dtype=torch.float32)\n" in code
    assert "sizes = [1, 2]\nflag = True\nn = 3\nlr = 1e-05\n" in code
    recorder, _ = run(code)
    got, want = recorder.args, built(case)
    for a, b in zip(got[0], want[0], strict=True):
        same_tensor(a, b)
    assert got[1:] == tuple(want[1:])
    assert [type(v) for v in got[1:]] == [list, bool, int, float]


def test_the_call_is_seeded_and_made_in_the_cases_grad_mode():
    case = Case(args=(("x", TensorArg(np.ones(2, F32))),), grad_mode="no_grad")
    code = snippet(case, "target", seed=1234)
    assert "torch.manual_seed(1234)\nwith torch.no_grad():\n    target(x)\n" in code
    recorder, _ = run(code)
    torch.manual_seed(1234)
    assert recorder.seeded == torch.rand(1).item()
    assert recorder.grad_enabled is False
    assert "torch.inference_mode()" in snippet(Case(args=(), grad_mode="inference"), "target")


def test_it_prints_the_wrong_facts_after_the_steps_that_made_them():
    x = TensorArg(np.array([1.0, 2.0], F64), True)
    then = (
        Backward(grad=np.array([0.5, -1.0]), label="after backward(g)"),
        PathBackward("x", np.array([2.0, 3.0]), label="after another backward through x"),
        GradCheck("x"),
    )
    case = Case(args=(("x", x), ("lam", 2.0)), then=then)
    code = snippet(case, "grad_reverse", show=["after backward(g): x.grad"])
    assert code.endswith(
        "result = grad_reverse(x, lam)\n"
        "g = torch.tensor([0.5, -1.0], dtype=torch.float64)\n"
        "result.backward(g)\n"
        "print(x.grad)\n"
    )
    _, printed = run(code, "grad_reverse", lambda x, lam: x * lam)
    assert printed == "tensor([ 1., -2.], dtype=torch.float64)\n"

    code = snippet(
        case, "grad_reverse", show=["return", "after another backward through x: x.grad", "gradcheck: value"]
    )
    assert 'print("result:", result)\n' in code
    assert "x.grad = None\n(x * w).sum().backward()\n" in code
    assert code.endswith(
        "x64 = x.detach().double().requires_grad_()\n"
        "print(torch.autograd.gradcheck(lambda t: grad_reverse(t, lam), (x64,), fast_mode=True, "
        "raise_exception=False))\n"
    )
    _, printed = run(code, "grad_reverse", lambda x, lam: x * lam)
    assert printed.splitlines() == [
        "result: tensor([2., 4.], dtype=torch.float64, grad_fn=<MulBackward0>)",
        "x.grad: tensor([2., 3.], dtype=torch.float64)",  # the second path alone: w
        "True",
    ]


def test_a_forward_and_backward_through_a_module_argument():
    linear = LinearArg(np.array([[1.0, 2.0]], F32), np.array([0.5], F32))
    case = Case(args=(("linear", linear),), then=(ForwardBackward("linear", np.array([[1.0, 1.0]], F32)),))
    code = snippet(case, "freeze", show=["after a forward and backward pass: linear.weight.grad"])
    assert (
        "batch = torch.ones(1, 2, dtype=torch.float32)\nlinear(batch).sum().backward()\nprint(linear.weight.grad)\n"
        in code
    )
    _, printed = run(code, "freeze")
    assert printed == "tensor([[1., 1.]])\n"


def test_fact_paths_become_python():
    linear = LinearArg(np.ones((1, 1), F32), np.zeros(1, F32))
    critic = SequentialArg((linear, "tanh", linear))
    params = [TensorArg(np.ones(1, F32), True)]
    case = Case(args=(("critic", critic), ("params", params)))
    show = [
        "return[1].node",
        "critic.0.weight.grad",
        "params[0].grad_cleared",
        "params[0].now",
        "params[0].same_object",
        "grad_mode",
        "return.requires_grad",
    ]
    code = snippet(case, "target", show=show)
    assert "original = params[0]\n" in code.split("result = ")[0]
    assert code.endswith(
        'print("result[1].grad_fn:", result[1].grad_fn)\n'
        'print("critic[0].weight.grad:", critic[0].weight.grad)\n'
        'print("params[0].grad:", params[0].grad)\n'
        'print("params[0]:", params[0])\n'
        'print("params[0] is original:", params[0] is original)\n'
        'print("torch.is_grad_enabled():", torch.is_grad_enabled())\n'
        'print("result.requires_grad:", result.requires_grad)\n'
    )


def test_a_judges_finding_prints_the_result_and_a_failed_step_shows_its_traceback():
    case = Case(args=(("x", TensorArg(np.ones(1, F32))),), then=(Backward(),))
    code = snippet(case, "target", show=["", "after backward(): error"])
    assert code.endswith("result = target(x)\nprint(result)\nresult.backward()\n")


def test_an_input_too_large_to_paste_gets_no_snippet():
    values = np.arange(MAX_VALUES + 1, dtype=F32)
    assert snippet(Case(args=(("X", TensorArg(values)),)), "target") is None
    assert snippet(Case(args=(("X", TensorArg(values[:-1])),)), "target") is not None
    assert "torch.zeros(1000, 16, " in snippet(Case(args=(("X", TensorArg(np.zeros((1000, 16), F32))),)), "target")


def test_a_list_of_tensors_and_numbers_and_an_argument_it_cannot_write():
    mixed = [TensorArg(np.array([1.0, 2.0], F32), grad=np.array([1.0, 1.0], F32)), 0.5, [1, 2]]
    case = Case(args=(("xs", mixed),))
    code = snippet(case, "target")
    assert "xs = [\n    torch.tensor([1.0, 2.0], dtype=torch.float32),\n    0.5,\n    [1, 2],\n]\n" in code
    recorder, _ = run(code)
    got, want = recorder.args[0], built(case)[0]
    same_tensor(got[0], want[0])
    assert got[1:] == want[1:]
    # Grading must go on whatever the case holds: no snippet rather than an exception.
    assert snippet(Case(args=(("f", FunctionArg("not_in_the_catalogue")),)), "target") is None
    linear = LinearArg(np.ones((1, 1), F32), None)
    assert snippet(Case(args=(("layers", [linear]),)), "target") is None


def test_the_second_paths_weights_are_in_xs_dtype():
    x = TensorArg(np.array([1.0, 2.0], F32), True)
    case = Case(args=(("x", x),), then=(PathBackward("x", np.array([0.5, 0.25], F64)),))
    code = snippet(case, "target", show=["after another backward through x: x.grad"])
    assert (
        "w = torch.tensor([0.5, 0.25], dtype=torch.float32)\nx.grad = None\n(x * w).sum().backward()\nprint(x.grad)\n"
    ) in code
