"""An observation frame, decoded into facts that can be compared one by one.

Decoding is strict and never runs anything: tensors become numpy arrays
straight from their bytes, after their dtype, shape and size have been
checked. Facts are keyed by path, for example::

    return[1]                  the second returned tensor
    return[1].requires_grad    whether it requires grad
    return.node                the class name of its grad_fn ("SoftClipBackward"), or None
    params[0]                  the caller's first tensor, after the call
    params[0].same_object      whether the caller's list still holds it
    params[0].grad_cleared     whether its .grad is None or all zeros
    params[0].now              what the list holds instead, if it was replaced
    grad_mode                  grad mode right after the call
    after backward(): t.grad   t.grad once backward() ran on the result
    critic.0.weight.grad       a module argument's parameter, by its name in the module
    gradcheck: error message   what a follow-up step raised, if it did
    gradcheck: value           what a follow-up step observed (True when gradcheck passed)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

_NUMPY = {
    "float16": np.float16,
    "float32": np.float32,
    "float64": np.float64,
    "complex64": np.complex64,
    "complex128": np.complex128,
    "int8": np.int8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "uint8": np.uint8,
    "bool": np.bool_,
}
_ITEMSIZE = {"bfloat16": 2, **{k: np.dtype(v).itemsize for k, v in _NUMPY.items()}}


# The probe describes at most MAX_NODES values of an answer (grader.child.probe); a frame that
# claims many more comes from a child that does not run the probe.
MAX_FACTS = 20_000


class ObservationError(Exception):
    """The frame does not describe an observation (a broken or hostile child)."""


@dataclass(frozen=True, eq=False)
class TensorFact:
    cls: str
    dtype: str
    shape: tuple[int, ...]
    device: str
    layout: str
    grad_fn: str | None
    values: np.ndarray | None  # None when the data could not be read


@dataclass(frozen=True)
class Kind:
    """The type of a value that is not a tensor or a plain number."""

    kind: str  # "sequence", "module", "number", "object", "str"
    cls: str = ""
    length: int | None = None


Fact = TensorFact | Kind | float | int | bool | str | None


@dataclass(frozen=True, eq=False)
class Observation:
    error: dict | None
    facts: dict[str, Fact]
    versions: dict[str, int]

    @property
    def raised(self) -> bool:
        return self.error is not None


def decode(header: dict, blobs: list[bytes] | tuple[bytes, ...], *, device_as: str | None = None) -> Observation:
    """Turns a probe reply into an Observation.

    ``device_as`` relabels tensor devices: the reference runs on the CPU while
    the student's calls run on the requested device.
    """
    try:
        return _Decoder(blobs, device_as).observation(header)
    except ObservationError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError) as exc:  # int(inf)
        raise ObservationError(f"malformed observation: {exc!r}") from None
    except RecursionError:
        raise ObservationError("malformed observation: nested too deeply") from None


class _Decoder:
    def __init__(self, blobs, device_as: str | None) -> None:
        self.blobs = blobs
        self.device_as = device_as
        self.facts: dict[str, Fact] = {}
        self.versions: dict[str, int] = {}

    def observation(self, header: dict) -> Observation:
        error = header.get("error")
        if error is not None and not isinstance(error, dict):
            raise ObservationError("error is not an object")
        if error is None:
            self.value("return", header["return"])
        for name, arg in (header.get("args") or {}).items():
            if arg is not None:
                self.arg(str(name), arg)
        self.facts["grad_mode"] = bool(header.get("grad_mode"))
        for step in header.get("then") or ():
            label = str(step.get("label"))[:100]
            step_error = step.get("error")
            self.facts[f"{label}: error"] = None if step_error is None else str(step_error.get("type"))[:200]
            if step_error is not None:
                self.facts[f"{label}: error message"] = str(step_error.get("message"))[:300]
            if "value" in step:
                self.value(f"{label}: value", step["value"])
            for name, arg in (step.get("args") or {}).items():
                if arg is not None:
                    self.arg(f"{label}: {name}", arg)
        return Observation(error=error, facts=self.facts, versions=self.versions)

    def tensor(self, spec: dict) -> TensorFact:
        dtype = str(spec["dtype"])
        shape = tuple(int(s) for s in spec["shape"])
        if any(s < 0 for s in shape):
            raise ObservationError("negative dimension")
        values: np.ndarray | None = None
        if "b" in spec and dtype in _NUMPY:
            data = self.blobs[int(spec["b"])]
            numel = math.prod(shape)
            if len(data) != numel * _ITEMSIZE[dtype]:
                raise ObservationError("tensor bytes do not match shape and dtype")
            values = np.frombuffer(data, dtype=_NUMPY[dtype]).reshape(shape)
        return TensorFact(
            cls=str(spec.get("cls", "Tensor"))[:200],
            dtype=dtype[:50],
            shape=shape,
            device=self.device_as or str(spec.get("device"))[:50],
            layout=str(spec.get("layout", "strided"))[:50],
            grad_fn=None if spec.get("grad_fn") is None else str(spec["grad_fn"])[:200],
            values=values,
        )

    def tensor_facts(self, path: str, spec: dict) -> None:
        self.facts[path] = self.tensor(spec)
        self.facts[f"{path}.requires_grad"] = bool(spec.get("rg"))
        self.facts[f"{path}.grad_fn"] = spec.get("grad_fn") is not None
        self.facts[f"{path}.node"] = None if spec.get("grad_fn") is None else str(spec["grad_fn"])[:200]

    def value(self, path: str, spec: Any) -> None:
        if not isinstance(spec, dict):
            raise ObservationError(f"{path} is not an object")
        if len(self.facts) > MAX_FACTS:
            raise ObservationError(f"more than {MAX_FACTS} values in one answer")
        kind = spec.get("k")
        if kind == "none":
            self.facts[path] = None
        elif kind == "tensor":
            self.tensor_facts(path, spec)
        elif kind in ("float", "int", "bool"):
            value = spec["v"]
            self.facts[path] = {"float": float, "int": int, "bool": bool}[kind](value)
        elif self.container(path, spec, item=self.value, param=self.tensor_facts):
            pass
        elif kind == "number":
            self.facts[path] = Kind("number", str(spec.get("cls"))[:200])
        elif kind == "str":
            self.facts[path] = Kind("str", "str")
        else:
            self.facts[path] = Kind("object", str(spec.get("cls"))[:200])

    def leaf(self, path: str, spec: dict) -> None:
        if len(self.facts) > MAX_FACTS:  # an argument's or a parameter's facts count as much as a value's
            raise ObservationError(f"more than {MAX_FACTS} values in one answer")
        if spec.get("k") != "tensor":
            self.value(path, spec)
        else:
            self.tensor_facts(path, spec)
            self.facts[f"{path}.is_leaf"] = bool(spec.get("leaf"))
            grad = spec.get("grad")
            grad_fact = None if grad is None else self.tensor(grad)
            self.facts[f"{path}.grad"] = grad_fact
            self.facts[f"{path}.grad_cleared"] = grad_fact is None or (
                grad_fact.values is not None and not np.any(grad_fact.values)
            )
            if "ver" in spec:
                self.versions[path] = int(spec["ver"])
        if "same" in spec:
            self.facts[f"{path}.same_object"] = bool(spec["same"])
        if isinstance(spec.get("now"), dict):
            # What the caller's container holds instead of the original object.
            self.value(f"{path}.now", spec["now"])

    def arg(self, path: str, spec: dict) -> None:
        if not self.container(path, spec, item=self.leaf, param=self.leaf):
            self.leaf(path, spec)

    def container(self, path: str, spec: dict, *, item: Callable, param: Callable) -> bool:
        """Records a sequence or module and hands its elements on; False for anything else."""
        kind = spec.get("k")
        if kind in ("tuple", "list"):
            items = spec.get("items") or []
            self.facts[path] = Kind("sequence", kind, int(spec.get("len", len(items))))
            for i, element in enumerate(items):
                item(f"{path}[{i}]", element)
            return True
        if kind == "module":
            self.facts[path] = Kind("module", str(spec.get("cls"))[:200])
            for name, value in (spec.get("params") or {}).items():
                param(f"{path}.{str(name)[:100]}", value)
            return True
        return False
