"""A counterexample as a few lines of Python a student pastes after their notebook's cells.

The snippet builds the arguments of one ``Case`` exactly as the child builds
them (``grader.child.probe``): the same values bit for bit (each number written
so that it reads back to the same float32 or float64), dtypes,
``requires_grad`` and stale ``.grad``; ``nn.Linear`` and ``nn.Sequential``
modules with their parameters copied in; a catalogue function as its Python
definition. It seeds torch as the grader did before the call, calls the
student's function, runs the follow-up steps (``backward(g)``, a second path
through ``x``, ``gradcheck``) as far as the facts that were wrong, and prints
those facts: what the grader compared.

It is code: nothing in it is translated.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .case import (
    Action,
    Arg,
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

# Past this many values the snippet would be a wall of numbers no one pastes: none is made.
MAX_VALUES = 1024
WIDTH = 88
RESULT = "result"

# The catalogue's functions (grader.child.functions) as a student would write them; a unit test
# checks that each gives what the catalogue's own builds give.
FUNCTION_SOURCES = {
    "sin_square": "(torch.sin(x) * x**2).sum()",
    "logsumexp": "torch.logsumexp(x, 0)",
    "quartic": "0.25 * ((A @ x) ** 4).sum()",
    "softplus_mix": "(torch.nn.functional.softplus(x) * a).sum() + (x[:-1] * x[1:]).sum() ** 2",
    "tanh_affine": "torch.tanh(A @ x + b)",
    "times_cumsum": "x * torch.cumsum(x, 0)",
    "softmax": "torch.softmax(x, 0)",
    "sin_affine_square": "torch.sin(A @ x) * x.sum() ** 2",
}
_LAYERS = {"tanh": "nn.Tanh()", "relu": "nn.ReLU()", "sigmoid": "nn.Sigmoid()"}
_GRAD_MODES = {"no_grad": "torch.no_grad()", "inference": "torch.inference_mode()"}
_STEP = re.compile(r"\[(\d+)\]|\.(\w+)")
# Fact suffixes and the attribute that shows them (grader.observe.observation names the facts).
_ATTRIBUTES = {"node": "grad_fn", "grad_cleared": "grad", "now": None}


def snippet(case: Case, target: str, *, seed: int | None = None, show: Sequence[str] = ()) -> str | None:
    """Python that rebuilds ``case``, calls ``target`` and prints the facts at ``show`` (fact paths,
    ``"after backward(g): x.grad"``); None when the input is too large to paste."""
    if (
        sum(values for _, arg in case.args for values in _sizes(arg)) + sum(_action_size(a) for a in case.then)
        > MAX_VALUES
    ):
        return None
    try:
        return _Writer(case, target).write(seed, show)
    except _NoSnippet:
        return None  # an argument the snippet cannot write: the report shows the input as text only


class _NoSnippet(Exception):
    """An argument of a kind the snippet has no Python for (a catalogue function it does not know)."""


def _sizes(arg: Arg) -> Iterable[int]:
    if isinstance(arg, TensorArg):
        yield _written(arg.data) + _written(arg.grad)
    elif isinstance(arg, LinearArg):
        yield sum(_written(a) for a in (arg.weight, arg.bias, arg.weight_grad, arg.bias_grad))
    elif isinstance(arg, SequentialArg):
        for layer in arg.layers:
            if isinstance(layer, LinearArg):
                yield from _sizes(layer)
    elif isinstance(arg, FunctionArg):
        yield sum(_written(values) for _, values in arg.params)
    elif isinstance(arg, list):
        for item in arg:
            yield from _sizes(item)
    else:
        yield 1


def _action_size(action: Action) -> int:
    if isinstance(action, Backward):
        return _written(action.grad)
    if isinstance(action, PathBackward):
        return _written(action.weights)
    if isinstance(action, ForwardBackward):
        return _written(action.input)
    return 0


def _written(array: np.ndarray | None) -> int:
    """How many numbers the snippet writes for an array (one for ``torch.full``)."""
    if array is None:
        return 0
    return 1 if _constant(array) is not None else int(array.size)


# -- numbers and tensors as literals ----------------------------------------------


def number(value: Any, dtype: np.dtype) -> str:
    """One element (a Python or numpy scalar) as a literal that reads back to the same value of ``dtype``."""
    if dtype.kind == "b":
        return str(bool(value))
    if dtype.kind in "iu":
        return str(int(value))
    x = float(value)
    if math.isnan(x):
        return "float('nan')"
    if math.isinf(x):
        return "float('inf')" if x > 0 else "-float('inf')"
    if dtype == np.float64:
        return repr(x)
    short = str(dtype.type(value))  # numpy's shortest text for this precision
    try:
        exact = float(dtype.type(float(short))) == x  # the way torch reads it: a Python float, then rounded
    except ValueError:
        exact = False
    return short if exact else repr(x)


def _nested(array: np.ndarray, indent: int) -> str:
    """A nested list literal: on one line when it fits, else one row (or a wrapped run of numbers) per line."""
    flat = _one_line(array)
    if len(flat) + indent <= WIDTH or array.ndim == 0:
        return flat
    pad = " " * (indent + 4)
    if array.ndim == 1:
        lines, line = [], ""
        for text in (number(v, array.dtype) + "," for v in array):
            if line and len(pad) + len(line) + 1 + len(text) > WIDTH:
                lines.append(line)
                line = text
            else:
                line = f"{line} {text}" if line else text
        lines.append(line)
    else:
        lines = [_nested(row, indent + 4) + "," for row in array]
    return "[\n" + "\n".join(pad + line for line in lines) + "\n" + " " * indent + "]"


def _one_line(array: np.ndarray) -> str:
    if array.ndim == 0:
        return number(array.item(), array.dtype)
    return "[" + ", ".join(_one_line(row) for row in array) + "]"


def dtype_name(dtype: np.dtype) -> str:
    return f"torch.{dtype.name}"


def _constant(array: np.ndarray) -> Any:
    """The one value of an array of two or more equal elements (the same sign of zero, NaN with NaN), else None."""
    flat = array.reshape(-1)
    if flat.size < 2:
        return None
    first = flat[0]
    if array.dtype.kind == "f":
        if np.isnan(first):
            return first if np.all(np.isnan(flat)) else None
        same = np.all(flat == first) and np.all(np.signbit(flat) == np.signbit(first))
    else:
        same = np.all(flat == first)
    return first if same else None


def tensor(array: np.ndarray, *, requires_grad: bool = False, indent: int = 0) -> str:
    """``torch.tensor(...)`` with the values, the dtype and ``requires_grad`` of the grader's tensor."""
    extra = f", dtype={dtype_name(array.dtype)}" + (", requires_grad=True" if requires_grad else "")
    shape = ", ".join(str(int(s)) for s in array.shape)
    if array.size == 0:
        return f"torch.empty({shape}{extra})"
    same = _constant(array)
    if same is not None:
        if array.dtype.kind in "fiu" and same == 0 and not np.signbit(same):
            return f"torch.zeros({shape}{extra})"
        if array.dtype.kind in "fiu" and same == 1:
            return f"torch.ones({shape}{extra})"
        return f"torch.full(({shape}{',' if array.ndim == 1 else ''}), {number(same, array.dtype)}{extra})"
    return f"torch.tensor({_nested(array, indent)}{extra})"


# -- the snippet ----------------------------------------------------------------------


@dataclass
class _Writer:
    case: Case
    target: str
    lines: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # argument -> its variable in the snippet
    taken: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.taken = {"torch", "nn", RESULT, self.target}
        for name, _ in self.case.args:
            self.names[name] = self.fresh(name if name.isidentifier() and not keyword.iskeyword(name) else "arg")

    def fresh(self, base: str) -> str:
        name, n = base, 2
        while name in self.taken or keyword.iskeyword(name):
            name, n = f"{base}_{n}", n + 1
        self.taken.add(name)
        return name

    def write(self, seed: int | None, show: Sequence[str]) -> str:
        wanted = _Wanted.of(show, self.case)
        needs_nn = any(isinstance(arg, (LinearArg, SequentialArg)) for _, arg in self.case.args)
        self.lines = ["import torch", *(["from torch import nn"] if needs_nn else []), ""]
        for name, arg in self.case.args:
            self.build(self.names[name], arg)
        before = [(self.fresh("original"), self.expression(base)) for base in wanted.identities]
        self.lines += [f"{var} = {expr}" for var, expr in before]
        if seed is not None:
            self.lines.append(f"torch.manual_seed({seed})")
        call = f"{self.target}({', '.join(self.names[name] for name, _ in self.case.args)})"
        uses_result = wanted.uses_result or any(isinstance(a, Backward) for a in self.case.then[: wanted.steps])
        if uses_result:
            call = f"{RESULT} = {call}"
        if self.case.grad_mode in _GRAD_MODES:
            self.lines += [f"with {_GRAD_MODES[self.case.grad_mode]}:", f"    {call}"]
        else:
            self.lines.append(call)
        shown = dict(before)
        labelled = sum(len(bases) for bases in wanted.by_stage.values()) > 1
        self.prints(wanted.by_stage.get(-1, ()), shown, labelled=labelled)
        for index, action in enumerate(self.case.then[: wanted.steps]):
            self.action(action, value_shown=index in wanted.values)
            self.prints(wanted.by_stage.get(index, ()), shown, labelled=labelled)
        return "\n".join(self.lines) + "\n"

    # -- arguments ------------------------------------------------------------------
    def build(self, var: str, arg: Arg) -> None:
        if isinstance(arg, TensorArg):
            self.lines.append(f"{var} = {tensor(arg.data, requires_grad=arg.requires_grad)}")
            if arg.grad is not None:
                self.lines.append(f"{var}.grad = {tensor(arg.grad.astype(arg.data.dtype))}")
        elif isinstance(arg, LinearArg):
            self.lines.append(f"{var} = {_linear(arg)}")
            self.parameters([(var, arg)])
        elif isinstance(arg, SequentialArg):
            shown = ", ".join(_LAYERS[layer] if isinstance(layer, str) else _linear(layer) for layer in arg.layers)
            self.lines.append(f"{var} = nn.Sequential({shown})")
            self.parameters(
                [(f"{var}[{i}]", layer) for i, layer in enumerate(arg.layers) if isinstance(layer, LinearArg)]
            )
        elif isinstance(arg, FunctionArg):
            self.function(var, arg)
        elif isinstance(arg, list):
            self.sequence(var, arg)
        else:
            self.lines.append(f"{var} = {_plain(arg)}")

    def parameters(self, layers: list[tuple[str, LinearArg]]) -> None:
        """The layers' parameters copied in (one ``no_grad`` block), then ``requires_grad`` and stale ``.grad``."""
        params = []
        for module, layer in layers:
            params.append((f"{module}.weight", layer.weight, layer.weight_requires_grad, layer.weight_grad))
            if layer.bias is not None:
                bias = layer.bias.astype(layer.weight.dtype)
                params.append((f"{module}.bias", bias, layer.bias_requires_grad, layer.bias_grad))
        self.lines.append("with torch.no_grad():")
        self.lines += [f"    {name}.copy_({tensor(values, indent=4)})" for name, values, _, _ in params]
        self.lines += [f"{name}.requires_grad_(False)" for name, _, requires_grad, _ in params if not requires_grad]
        self.lines += [
            f"{name}.grad = {tensor(grad.astype(values.dtype))}" for name, values, _, grad in params if grad is not None
        ]

    def function(self, var: str, arg: FunctionArg) -> None:
        if arg.name not in FUNCTION_SOURCES:
            raise _NoSnippet(arg.name)
        body = FUNCTION_SOURCES[arg.name]
        for name, values in arg.params:
            local = self.fresh(name)
            if local != name:
                body = re.sub(rf"\b{re.escape(name)}\b", local, body)
            self.lines.append(f"{local} = {tensor(values)}")
        self.lines += [f"def {var}(x):", f"    return {body}"]

    def sequence(self, var: str, items: list) -> None:
        if not any(isinstance(item, TensorArg) for item in items):
            self.lines.append(f"{var} = [{', '.join(self.literal(item) for item in items)}]")
            return
        self.lines.append(f"{var} = [")
        self.lines += [f"    {self.literal(item, indent=4)}," for item in items]
        self.lines.append("]")
        for i, item in enumerate(items):
            if isinstance(item, TensorArg) and item.grad is not None:
                self.lines.append(f"{var}[{i}].grad = {tensor(item.grad.astype(item.data.dtype))}")

    def literal(self, item: Arg, *, indent: int = 0) -> str:
        """An element of a list argument: a tensor (its .grad is set after the list), a number, a list of numbers."""
        if isinstance(item, TensorArg):
            return tensor(item.data, requires_grad=item.requires_grad, indent=indent)
        if isinstance(item, list):
            return f"[{', '.join(self.literal(element) for element in item)}]"
        if isinstance(item, (bool, int, float)):
            return _plain(item)
        raise _NoSnippet(type(item).__name__)  # a module inside a list: no argument of the course has one

    # -- after the call ---------------------------------------------------------------
    def action(self, action: Action, *, value_shown: bool) -> None:
        if isinstance(action, Backward):
            target = RESULT if action.index is None else f"{RESULT}[{action.index}]"
            if action.again_summed:
                args = ", ".join(self.names[name] for name, _ in self.case.args)
                self.lines.append(f"{self.target}({args}).sum().backward()")
            elif action.grad is None:
                self.lines.append(f"{target}.backward()")
            else:
                g = self.fresh("g")
                self.lines += [f"{g} = {tensor(action.grad)}", f"{target}.backward({g})"]
        elif isinstance(action, PathBackward):
            w = self.fresh("w")
            x = self.names.get(action.arg, action.arg)
            arg = dict(self.case.args).get(action.arg)
            # In x's dtype, as the probe makes them.
            weights = action.weights.astype(arg.data.dtype) if isinstance(arg, TensorArg) else action.weights
            self.lines += [f"{w} = {tensor(weights)}", f"{x}.grad = None", f"({x} * {w}).sum().backward()"]
        elif isinstance(action, ForwardBackward):
            batch = self.fresh("batch")
            module = self.names.get(action.module, action.module)
            self.lines += [f"{batch} = {tensor(action.input)}", f"{module}({batch}).sum().backward()"]
        else:
            self.gradcheck(action, value_shown=value_shown)

    def gradcheck(self, action: GradCheck, *, value_shown: bool) -> None:
        x64 = self.fresh(f"{self.names.get(action.arg, action.arg)}64")
        t = self.fresh("t")
        args = ", ".join(t if name == action.arg else self.names[name] for name, _ in self.case.args)
        self.lines.append(f"{x64} = {self.names.get(action.arg, action.arg)}.detach().double().requires_grad_()")
        check = (
            f"torch.autograd.gradcheck(lambda {t}: {self.target}({args}), ({x64},), "
            "fast_mode=True, raise_exception=False)"
        )
        self.lines.append(f"print({check})" if value_shown else check)

    def prints(self, bases: Iterable[str], shown: dict[str, str], *, labelled: bool) -> None:
        originals = {expr: var for var, expr in shown.items()}
        for base in bases:
            if base.endswith(".same_object"):
                expr = self.expression(base[: -len(".same_object")])
                text = f"{expr} is {originals[expr]}" if expr in originals else expr
            else:
                text = self.expression(base)
            self.lines.append(f'print("{text}:", {text})' if labelled else f"print({text})")

    def expression(self, base: str) -> str:
        """Python for a fact's path (without its step): ``critic.0.weight.grad`` -> ``critic[0].weight.grad``."""
        if base == "grad_mode":
            return "torch.is_grad_enabled()"
        head = re.match(r"\w+", base)
        if head is None or base == "":
            return RESULT
        name = head.group(0)
        text = RESULT if name == "return" else self.names.get(name, name)
        for index, attribute in _STEP.findall(base[head.end() :]):
            if index:
                text += f"[{index}]"
            elif attribute.isdigit():
                text += f"[{attribute}]"  # a module's child, by its index in nn.Sequential
            else:
                shown = _ATTRIBUTES.get(attribute, attribute)
                if shown:
                    text += f".{shown}"
        return text


@dataclass
class _Wanted:
    """Which facts to print, by step: -1 right after the call, else after ``then[step]``."""

    by_stage: dict[int, list[str]]
    values: set[int]  # steps whose own value (gradcheck's verdict) is shown
    identities: list[str]  # what must be remembered before the call, to say whether it is the same object
    steps: int  # how many follow-up steps to run
    uses_result: bool

    @classmethod
    def of(cls, show: Sequence[str], case: Case) -> _Wanted:
        labels = [action.label for action in case.then]
        by_stage: dict[int, list[str]] = {}
        values: set[int] = set()
        identities: list[str] = []
        for path in show:
            stage, _, base = path.rpartition(": ")
            step = -1
            if stage:
                if stage not in labels:
                    continue
                step = len(labels) - 1 - labels[::-1].index(stage)  # the decoder keeps the last step of a label
            if base in ("error", "error message"):
                by_stage.setdefault(step, [])  # the step's traceback shows it
                continue
            if base == "value" and stage:
                values.add(step)
                by_stage.setdefault(step, [])
                continue
            if base.endswith(".same_object") and base[: -len(".same_object")] not in identities:
                identities.append(base[: -len(".same_object")])
            if base not in by_stage.setdefault(step, []):
                by_stage[step].append(base)
        uses_result = any(not base or base.startswith("return") for bases in by_stage.values() for base in bases)
        return cls(by_stage, values, identities, max(by_stage, default=-1) + 1, uses_result)


def _linear(layer: LinearArg) -> str:
    out_f, in_f = layer.weight.shape
    extra = "" if layer.bias is not None else ", bias=False"
    if layer.weight.dtype != np.float32:
        extra += f", dtype={dtype_name(layer.weight.dtype)}"
    return f"nn.Linear({in_f}, {out_f}{extra})"


def _plain(value: object) -> str:
    if isinstance(value, float):
        return number(value, np.dtype(np.float64))
    return repr(value)
