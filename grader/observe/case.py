"""The inputs of one call, as the trusted side draws them, and their wire form.

A ``Case`` is what a hypothesis strategy produces: named arguments (arrays
for tensors, numbers, lists, linear layers), the grad mode the call runs in,
and follow-up actions such as ``backward()`` on the result. It is plain data:
the child rebuilds fresh tensors from it for every call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..child.functions import CATALOGUE  # names and formulas only: it imports torch when it builds one
from ..i18n import _
from .formatting import format_array, format_number

_NUMPY_DTYPES = {"float32": np.float32, "float64": np.float64}
GRAD_MODES = ("enabled", "no_grad", "inference")


@dataclass(frozen=True, eq=False)
class TensorArg:
    """A tensor argument: its values, whether it requires grad, its ``.grad``."""

    data: np.ndarray
    requires_grad: bool = False
    grad: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class LinearArg:
    """An ``nn.Linear`` built with these parameters (weight has shape (out, in))."""

    weight: np.ndarray
    bias: np.ndarray | None
    weight_requires_grad: bool = True
    bias_requires_grad: bool = True
    weight_grad: np.ndarray | None = None
    bias_grad: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class FunctionArg:
    """A function from the catalogue (``grader.child.functions``), built in the child from its parameters."""

    name: str
    params: tuple[tuple[str, np.ndarray], ...] = ()

    @property
    def formula(self) -> str:
        """How feedback shows it (``f(x) = tanh(A·x + b)``); the bare name if the catalogue lacks it."""
        entry = CATALOGUE.get(self.name)
        return entry.formula if entry is not None else self.name


@dataclass(frozen=True, eq=False)
class SequentialArg:
    """An ``nn.Sequential`` of linear layers and activations (``"tanh"``, ``"relu"``, ``"sigmoid"``)."""

    layers: tuple[LinearArg | str, ...]


ACTIVATIONS = ("tanh", "relu", "sigmoid")
Arg = TensorArg | LinearArg | SequentialArg | FunctionArg | float | int | bool | list


@dataclass(frozen=True, eq=False)
class Backward:
    """Call ``backward()`` on the returned tensor (or on ``result[index]``).

    ``grad`` is the upstream gradient (``result.backward(grad)``): a drawn one
    shows a backward that ignores it, which a tensor of ones hides.
    ``again_summed``: the function is called once more with the same arguments
    and ``.sum().backward()`` runs on that new result, whose upstream gradient
    is a tensor of ones expanded from one element, as most losses pass it on:
    a hook that writes into its gradient in place fails there. (A new call: a
    second backward through the first result's graph is no use the exercises
    promise.)
    """

    index: int | None = None
    label: str = "after backward()"  # a fact's step, translated where shown (marked in compare.py)
    grad: np.ndarray | None = None
    again_summed: bool = False


@dataclass(frozen=True, eq=False)
class PathBackward:
    """``(arg * weights).sum().backward()`` on a caller's tensor, its ``.grad`` cleared first: a
    fresh path that bypasses the function, so any hook left on the caller's tensor shows."""

    arg: str
    weights: np.ndarray
    label: str = "after another backward through x"


@dataclass(frozen=True)
class GradCheck:
    """``torch.autograd.gradcheck`` of the function in float64, in its argument ``arg``
    (the other arguments as they are); the step's value is whether it passed."""

    arg: str
    label: str = "gradcheck"


@dataclass(frozen=True, eq=False)
class ForwardBackward:
    """Run ``module(input).sum().backward()`` on a module argument."""

    module: str
    input: np.ndarray
    label: str = "after a forward and backward pass"


Action = Backward | ForwardBackward | PathBackward | GradCheck


@dataclass(frozen=True, eq=False)
class Case:
    args: tuple[tuple[str, Arg], ...]
    grad_mode: str = "enabled"
    then: tuple[Action, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.grad_mode not in GRAD_MODES:
            raise ValueError(f"grad_mode must be one of {GRAD_MODES}, not {self.grad_mode!r}")

    @property
    def dtype(self) -> str:
        """The widest floating dtype among the tensor arguments."""
        found = {a.dtype.name for a in _arrays(self)}
        return "float64" if "float64" in found else "float32"

    def request(self, target: str, *, seed: int) -> tuple[dict, list[bytes]]:
        blobs: list[bytes] = []
        header: dict[str, Any] = {
            "op": "call",
            "fn": target,
            "seed": seed,
            "grad_mode": self.grad_mode,
            "args": [{"name": name, **_encode(arg, blobs)} for name, arg in self.args],
        }
        if self.then:
            header["then"] = [_encode_action(action, blobs) for action in self.then]
        return header, blobs

    @classmethod
    def from_request(cls, header: dict, blobs: list[bytes]) -> Case:
        """The inverse of ``request``, for examples replayed from a stored plan."""
        args = tuple((str(spec["name"]), _decode(spec, blobs)) for spec in header["args"])
        then = [_decode_action(action, blobs) for action in header.get("then") or ()]
        return cls(args=args, grad_mode=header.get("grad_mode", "enabled"), then=tuple(then))

    def describe(self) -> str:
        parts = [
            _describe(arg).replace("f(x)", f"{name}(x)", 1)
            if isinstance(arg, FunctionArg)
            else f"{name} = {_describe(arg)}"
            for name, arg in self.args
        ]
        text = ", ".join(parts)
        shown = [
            a
            for a in self.then
            if isinstance(a, PathBackward) or (isinstance(a, Backward) and (a.grad is not None or a.again_summed))
        ]
        if shown:
            text = _("{inputs}; then {steps}").format(inputs=text, steps="; ".join(describe_action(a) for a in shown))
        if self.grad_mode == "no_grad":
            text = _("{inputs}, called inside torch.no_grad()").format(inputs=text)
        elif self.grad_mode == "inference":
            text = _("{inputs}, called inside torch.inference_mode()").format(inputs=text)
        return text

    def to_data(self) -> dict:
        data: dict[str, Any] = {name: _data(arg) for name, arg in self.args}
        out: dict[str, Any] = {"args": data, "grad_mode": self.grad_mode}
        if self.then:
            out["then"] = [action.label for action in self.then]
        return out


def _arrays(case: Case):
    for _name, arg in case.args:
        yield from _arg_arrays(arg)


def _arg_arrays(arg: Arg):
    if isinstance(arg, TensorArg):
        yield arg.data
    elif isinstance(arg, LinearArg):
        yield arg.weight
    elif isinstance(arg, SequentialArg):
        for layer in arg.layers:
            if isinstance(layer, LinearArg):
                yield layer.weight
    elif isinstance(arg, FunctionArg):
        for _param, values in arg.params:
            yield values
    elif isinstance(arg, list):
        for item in arg:
            yield from _arg_arrays(item)


def _tensor_spec(array: np.ndarray, blobs: list[bytes]) -> dict:
    array = np.asarray(array, order="C")  # (ascontiguousarray would make 0-dim arrays 1-dim)
    blobs.append(array.tobytes())
    return {"dtype": array.dtype.name, "shape": list(array.shape), "b": len(blobs) - 1}


def _encode(arg: Arg, blobs: list[bytes]) -> dict:
    if isinstance(arg, TensorArg):
        spec = {"k": "tensor", **_tensor_spec(arg.data, blobs), "rg": arg.requires_grad}
        if arg.grad is not None:
            spec["grad"] = _tensor_spec(arg.grad.astype(arg.data.dtype), blobs)
        return spec
    if isinstance(arg, LinearArg):
        weight = {**_tensor_spec(arg.weight, blobs), "rg": arg.weight_requires_grad}
        if arg.weight_grad is not None:
            weight["grad"] = _tensor_spec(arg.weight_grad.astype(arg.weight.dtype), blobs)
        bias = None
        if arg.bias is not None:
            bias = {**_tensor_spec(arg.bias.astype(arg.weight.dtype), blobs), "rg": arg.bias_requires_grad}
            if arg.bias_grad is not None:
                bias["grad"] = _tensor_spec(arg.bias_grad.astype(arg.weight.dtype), blobs)
        return {"k": "linear", "weight": weight, "bias": bias}
    if isinstance(arg, SequentialArg):
        return {"k": "sequential", "layers": [_encode_layer(layer, blobs) for layer in arg.layers]}
    if isinstance(arg, FunctionArg):
        return {"k": "function", "fn": arg.name, "params": {n: _tensor_spec(v, blobs) for n, v in arg.params}}
    if isinstance(arg, bool):
        return {"k": "bool", "v": arg}
    if isinstance(arg, int):
        return {"k": "int", "v": arg}
    if isinstance(arg, float):
        return {"k": "float", "v": arg}
    if isinstance(arg, list):
        return {"k": "list", "items": [_encode(item, blobs) for item in arg]}
    raise TypeError(f"cannot send an argument of type {type(arg).__name__}")


def _encode_layer(layer: LinearArg | str, blobs: list[bytes]) -> dict:
    if isinstance(layer, str):
        if layer not in ACTIVATIONS:
            raise ValueError(f"unknown activation {layer!r}; one of {ACTIVATIONS}")
        return {"k": layer}
    return _encode(layer, blobs)


def _array(spec: dict, blobs: list[bytes]) -> np.ndarray:
    dtype = np.dtype(spec["dtype"])
    return np.frombuffer(blobs[spec["b"]], dtype=dtype).reshape(tuple(spec["shape"])).copy()


def _decode(spec: dict, blobs: list[bytes]) -> Arg:
    kind = spec["k"]
    if kind == "tensor":
        grad = _array(spec["grad"], blobs) if spec.get("grad") is not None else None
        return TensorArg(_array(spec, blobs), requires_grad=bool(spec.get("rg")), grad=grad)
    if kind == "linear":
        weight, bias = spec["weight"], spec.get("bias")
        return LinearArg(
            weight=_array(weight, blobs),
            bias=None if bias is None else _array(bias, blobs),
            weight_requires_grad=bool(weight.get("rg", True)),
            bias_requires_grad=bool(bias.get("rg", True)) if bias is not None else True,
            weight_grad=_array(weight["grad"], blobs) if weight.get("grad") is not None else None,
            bias_grad=_array(bias["grad"], blobs) if bias is not None and bias.get("grad") is not None else None,
        )
    if kind == "list":
        return [_decode(item, blobs) for item in spec["items"]]
    if kind == "sequential":
        layers = tuple(layer["k"] if layer["k"] in ACTIVATIONS else _decode(layer, blobs) for layer in spec["layers"])
        return SequentialArg(layers)  # type: ignore[arg-type]
    if kind == "function":
        return FunctionArg(spec["fn"], tuple((n, _array(p, blobs)) for n, p in spec["params"].items()))
    return {"float": float, "int": int, "bool": bool}[kind](spec["v"])


def _encode_action(action: Action, blobs: list[bytes]) -> dict:
    if isinstance(action, Backward):
        spec: dict[str, Any] = {"op": "backward", "index": action.index, "label": action.label}
        if action.grad is not None:
            spec["grad"] = _tensor_spec(action.grad, blobs)
        if action.again_summed:
            spec["again_summed"] = True
        return spec
    if isinstance(action, PathBackward):
        return {
            "op": "path_backward",
            "arg": action.arg,
            "weights": _tensor_spec(action.weights, blobs),
            "label": action.label,
        }
    if isinstance(action, GradCheck):
        return {"op": "gradcheck", "arg": action.arg, "label": action.label}
    return {
        "op": "forward_backward",
        "module": action.module,
        "input": _tensor_spec(action.input, blobs),
        "label": action.label,
    }


def _decode_action(action: dict, blobs: list[bytes]) -> Action:
    op, label = action["op"], action["label"]
    if op == "backward":
        grad = _array(action["grad"], blobs) if action.get("grad") is not None else None
        again = bool(action.get("again_summed"))
        return Backward(index=action.get("index"), label=label, grad=grad, again_summed=again)
    if op == "path_backward":
        return PathBackward(arg=action["arg"], weights=_array(action["weights"], blobs), label=label)
    if op == "gradcheck":
        return GradCheck(arg=action["arg"], label=label)
    return ForwardBackward(module=action["module"], input=_array(action["input"], blobs), label=label)


def describe_action(action: Action) -> str:
    """What a follow-up action does, for feedback (``then x.grad = ...``)."""
    if isinstance(action, Backward):
        if action.again_summed:
            return _("a new call with the same arguments, then .sum().backward() on its result")
        if action.grad is None:
            return _("backward() on the result")
        return _("backward(g) on the result with g = {g}").format(g=format_array(action.grad))
    if isinstance(action, PathBackward):
        return _("({arg} * w).sum().backward() with w = {w}").format(arg=action.arg, w=format_array(action.weights))
    if isinstance(action, GradCheck):
        return _("torch.autograd.gradcheck in float64 over {arg}").format(arg=action.arg)
    return _("{module}(x).sum().backward() with x = {x}").format(module=action.module, x=format_array(action.input))


def _describe(arg: Arg) -> str:
    if isinstance(arg, TensorArg):
        text = format_array(arg.data)
        if arg.requires_grad:
            text = text[:-1] + ", requires_grad=True)" if text.endswith(")") else text + " (requires_grad)"
        if arg.grad is not None:
            text = _("{tensor} with .grad = {grad}").format(
                tensor=text, grad=format_array(arg.grad.astype(arg.data.dtype))
            )
        return text
    if isinstance(arg, LinearArg):
        return _describe_linear(arg)
    if isinstance(arg, SequentialArg):
        return _describe_sequential(arg)
    if isinstance(arg, FunctionArg):
        return _describe_function(arg)
    if isinstance(arg, float):
        return format_number(arg)
    if isinstance(arg, list):
        return "[" + ", ".join(_describe(item) for item in arg) + "]"
    return repr(arg)


def _describe_linear(arg: LinearArg) -> str:
    out_f, in_f = arg.weight.shape
    module = f"nn.Linear({in_f}, {out_f})"
    weight = format_array(arg.weight)
    if arg.bias is not None:
        text = _("{module} with weight = {weight}, bias = {bias}").format(
            module=module, weight=weight, bias=format_array(arg.bias.astype(arg.weight.dtype))
        )
    else:
        text = _("{module} with weight = {weight}").format(module=module, weight=weight)
    if arg.weight_grad is not None and arg.bias_grad is not None:
        return _("{module} (stale weight.grad and bias.grad already set)").format(module=text)
    if arg.weight_grad is not None:
        return _("{module} (stale weight.grad already set)").format(module=text)
    if arg.bias_grad is not None:
        return _("{module} (stale bias.grad already set)").format(module=text)
    return text


_LAYER_NAMES = {"tanh": "nn.Tanh()", "relu": "nn.ReLU()", "sigmoid": "nn.Sigmoid()"}


def _describe_sequential(arg: SequentialArg) -> str:
    layers, weights = [], []
    for i, layer in enumerate(arg.layers):
        if isinstance(layer, str):
            layers.append(_LAYER_NAMES[layer])
            continue
        out_f, in_f = layer.weight.shape
        layers.append(f"nn.Linear({in_f}, {out_f})")
        weights.append(f"[{i}].weight = {format_array(layer.weight)}")
        if layer.bias is not None:
            weights.append(f"[{i}].bias = {format_array(layer.bias.astype(layer.weight.dtype))}")
    return _("{module} with {weights}").format(module=f"nn.Sequential({', '.join(layers)})", weights=", ".join(weights))


def _describe_function(arg: FunctionArg) -> str:
    if not arg.params:
        return arg.formula
    return _("{formula} with {params}").format(
        formula=arg.formula, params=", ".join(f"{n} = {format_array(v)}" for n, v in arg.params)
    )


def _array_data(array: np.ndarray) -> dict:
    out: dict[str, Any] = {"dtype": array.dtype.name, "shape": list(array.shape)}
    if array.size <= 64:
        out["values"] = array.tolist()
    return out


def _data(arg: Arg) -> Any:
    if isinstance(arg, TensorArg):
        out = _array_data(arg.data)
        out["requires_grad"] = arg.requires_grad
        if arg.grad is not None:
            out["grad"] = _array_data(arg.grad)
        return out
    if isinstance(arg, LinearArg):
        return {
            "module": "Linear",
            "weight": _array_data(arg.weight),
            "bias": None if arg.bias is None else _array_data(arg.bias),
            "stale_grads": [n for n, g in (("weight", arg.weight_grad), ("bias", arg.bias_grad)) if g is not None],
        }
    if isinstance(arg, SequentialArg):
        return {
            "module": "Sequential",
            "layers": [layer if isinstance(layer, str) else _data(layer) for layer in arg.layers],
        }
    if isinstance(arg, FunctionArg):
        return {
            "function": arg.name,
            "formula": arg.formula,
            "params": {n: _array_data(v) for n, v in arg.params},
        }
    if isinstance(arg, list):
        return [_data(item) for item in arg]
    return arg
