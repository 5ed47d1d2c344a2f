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


Arg = TensorArg | LinearArg | float | int | bool | list


@dataclass(frozen=True)
class Backward:
    """Call ``backward()`` on the returned tensor (or on ``result[index]``)."""

    index: int | None = None
    label: str = "after backward()"


@dataclass(frozen=True, eq=False)
class ForwardBackward:
    """Run ``module(input).sum().backward()`` on a module argument."""

    module: str
    input: np.ndarray
    label: str = "after a forward and backward pass"


Action = Backward | ForwardBackward


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
        then: list[Action] = []
        for action in header.get("then") or ():
            if action["op"] == "backward":
                then.append(Backward(index=action.get("index"), label=action["label"]))
            else:
                then.append(
                    ForwardBackward(
                        module=action["module"], input=_array(action["input"], blobs), label=action["label"]
                    )
                )
        return cls(args=args, grad_mode=header.get("grad_mode", "enabled"), then=tuple(then))

    def describe(self) -> str:
        parts = [f"{name} = {_describe(arg)}" for name, arg in self.args]
        text = ", ".join(parts)
        if self.grad_mode == "no_grad":
            text += ", called inside torch.no_grad()"
        elif self.grad_mode == "inference":
            text += ", called inside torch.inference_mode()"
        return text

    def to_data(self) -> dict:
        data: dict[str, Any] = {name: _data(arg) for name, arg in self.args}
        out: dict[str, Any] = {"args": data, "grad_mode": self.grad_mode}
        if self.then:
            out["then"] = [action.label for action in self.then]
        return out


def _arrays(case: Case):
    for _, arg in case.args:
        yield from _arg_arrays(arg)


def _arg_arrays(arg: Arg):
    if isinstance(arg, TensorArg):
        yield arg.data
    elif isinstance(arg, LinearArg):
        yield arg.weight
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
    if isinstance(arg, bool):
        return {"k": "bool", "v": arg}
    if isinstance(arg, int):
        return {"k": "int", "v": arg}
    if isinstance(arg, float):
        return {"k": "float", "v": arg}
    if isinstance(arg, list):
        return {"k": "list", "items": [_encode(item, blobs) for item in arg]}
    raise TypeError(f"cannot send an argument of type {type(arg).__name__}")


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
    return {"float": float, "int": int, "bool": bool}[kind](spec["v"])


def _encode_action(action: Action, blobs: list[bytes]) -> dict:
    if isinstance(action, Backward):
        return {"op": "backward", "index": action.index, "label": action.label}
    return {
        "op": "forward_backward",
        "module": action.module,
        "input": _tensor_spec(action.input, blobs),
        "label": action.label,
    }


def _describe(arg: Arg) -> str:
    if isinstance(arg, TensorArg):
        text = format_array(arg.data)
        if arg.requires_grad:
            text = text[:-1] + ", requires_grad=True)" if text.endswith(")") else text + " (requires_grad)"
        if arg.grad is not None:
            text += f" with .grad = {format_array(arg.grad.astype(arg.data.dtype))}"
        return text
    if isinstance(arg, LinearArg):
        out_f, in_f = arg.weight.shape
        text = f"nn.Linear({in_f}, {out_f}) with weight = {format_array(arg.weight)}"
        if arg.bias is not None:
            text += f", bias = {format_array(arg.bias.astype(arg.weight.dtype))}"
        grads = []
        if arg.weight_grad is not None:
            grads.append("weight.grad")
        if arg.bias_grad is not None:
            grads.append("bias.grad")
        if grads:
            text += f" (stale {' and '.join(grads)} already set)"
        return text
    if isinstance(arg, float):
        return format_number(arg)
    if isinstance(arg, list):
        return "[" + ", ".join(_describe(item) for item in arg) + "]"
    return repr(arg)


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
    if isinstance(arg, list):
        return [_data(item) for item in arg]
    return arg
