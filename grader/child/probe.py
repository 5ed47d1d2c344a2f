"""Call a function on inputs given as plain data and observe what happened.

This module is the one place that turns a call into an observation, and it
runs on both sides: the trusted side probes the reference solution with it,
the child probes the student's function with it. The observation is plain
data (a JSON-able dict plus byte blobs): returned values, the caller's
arguments after the call (values, ``requires_grad``, ``.grad``, leaf-ness,
``grad_fn``, object identity, version counter), grad mode after the call, and
what happened in follow-up actions such as ``backward()`` on the result.

Which of these facts matter for a grade is decided on the trusted side.
"""

from __future__ import annotations

import contextlib
import linecache
import random
import reprlib
import sys
import warnings
from collections.abc import Callable
from typing import Any

import torch

from . import functions

MAX_TEXT = 2000
MAX_ITEMS = 64
MAX_DEPTH = 4
MAX_NUMEL = 1 << 22
# What one answer may hold in all: however large or deep a returned value is,
# observing it costs bounded time and the frame stays well under the frame limit.
MAX_NODES = 4096
MAX_ANSWER_BYTES = 32 << 20

DTYPES = {
    name: getattr(torch, name)
    for name in (
        "float16",
        "bfloat16",
        "float32",
        "float64",
        "complex64",
        "complex128",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "bool",
    )
}
_PLAIN_TENSORS = (torch.Tensor, torch.nn.Parameter)
# The methods that read a result back, bound before any notebook code runs:
# patching them on torch.Tensor later does not change what is observed.
_T = torch.Tensor
_detach, _to, _contiguous, _reshape, _view, _numpy = _T.detach, _T.to, _T.contiguous, _T.reshape, _T.view, _T.numpy
_resolve_conj, _resolve_neg, _numel = _T.resolve_conj, _T.resolve_neg, _T.numel
# The autograd facts, read through the C base class (a type no notebook can patch): a subclass's
# properties (`requires_grad` that says False) or a patched torch.Tensor cannot change them.
_BASE = torch._C.TensorBase
_requires_grad, _is_leaf, _grad_fn, _grad, _shape, _dtype, _device, _layout, _version = (
    _BASE.__dict__[name].__get__
    for name in ("requires_grad", "is_leaf", "grad_fn", "grad", "shape", "dtype", "device", "layout", "_version")
)
_element_size = _BASE.element_size
# What the probe calls of torch and sys, as they were before the notebook ran.
_is_grad_enabled, _set_grad_enabled = torch.is_grad_enabled, torch.set_grad_enabled
_autograd_backward, _gradcheck_of = torch.autograd.backward, torch.autograd.gradcheck
_settrace, _setprofile = sys.settrace, sys.setprofile
_GRAD_MODES: dict[str, Callable[[], Any]] = {
    "enabled": torch.enable_grad,
    "no_grad": torch.no_grad,
    "inference": torch.inference_mode,
}


class ProtocolError(Exception):
    """A request that does not describe a valid call."""


def bounded(text: str, limit: int = MAX_TEXT) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"… [{len(text) - limit} more characters]"


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


# -- building the inputs ---------------------------------------------------------


def _tensor_from(spec: dict, blobs: list[bytes], device: str) -> torch.Tensor:
    try:
        dtype = DTYPES[spec["dtype"]]
        shape = tuple(int(s) for s in spec["shape"])
        data = blobs[spec["b"]]
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise ProtocolError(f"bad tensor spec: {exc!r}") from None
    if any(s < 0 for s in shape):
        raise ProtocolError("negative dimension")
    numel = 1
    for s in shape:
        numel *= s
    if numel == 0:
        tensor = torch.empty(shape, dtype=dtype)
    else:
        if len(data) != numel * dtype.itemsize:
            raise ProtocolError("tensor data does not match its shape and dtype")
        # A tensor of its own, never a view of the buffer: a stale .grad left by a real backward() is
        # not a view either, and detach_() (old zero_grad code) refuses views.
        tensor = torch.frombuffer(bytearray(data), dtype=dtype).reshape(shape).clone()
    return tensor.to(device)


def _leaf(spec: dict, blobs: list[bytes], device: str) -> torch.Tensor:
    tensor = _tensor_from(spec, blobs, device)
    if spec.get("rg"):
        tensor.requires_grad_(True)
    if spec.get("grad") is not None:
        tensor.grad = _tensor_from(spec["grad"], blobs, device)
    return tensor


def _build(spec: dict, blobs: list[bytes], device: str) -> tuple[Any, Any]:
    """Returns (the value passed to the function, what to track about it)."""
    kind = spec.get("k")
    if kind == "tensor":
        t = _leaf(spec, blobs, device)
        return t, ("tensor", t, t._version)
    if kind in ("float", "int", "bool"):
        convert: Callable[[Any], Any] = {"float": float, "int": int, "bool": bool}[kind]
        return convert(spec.get("v")), ("plain",)
    if kind == "none":
        return None, ("plain",)
    if kind == "list":
        items = [_build(item, blobs, device) for item in spec.get("items", [])]
        values = [v for v, _ in items]
        container = list(values)
        return container, ("list", container, [(v, tr) for v, tr in items])
    if kind == "linear":
        linear, tracked = _linear(spec, blobs, device)
        return linear, ("module", linear, tracked)
    if kind == "sequential":
        layers: list[torch.nn.Module] = []
        tracked = {}
        for i, layer in enumerate(_items(spec.get("layers"))):
            if layer.get("k") == "linear":
                built, layer_params = _linear(layer, blobs, device)
                tracked.update({f"{i}.{name}": value for name, value in layer_params.items()})
                layers.append(built)
            elif layer.get("k") in _ACTIVATIONS:
                layers.append(_ACTIVATIONS[layer["k"]]())
            else:
                raise ProtocolError(f"unknown layer {layer.get('k')!r}")
        sequential = torch.nn.Sequential(*layers)
        return sequential, ("module", sequential, tracked)
    if kind == "function":
        fn_params = spec.get("params")
        if not isinstance(fn_params, dict):
            raise ProtocolError("a function's parameters are not a mapping")
        try:
            fn = functions.build(
                str(spec.get("fn")), {str(n): _tensor_from(p, blobs, device) for n, p in fn_params.items()}
            )
        except KeyError as exc:
            raise ProtocolError(f"no such function in the catalogue: {exc}") from None
        return fn, ("plain",)
    raise ProtocolError(f"unknown argument kind {kind!r}")


_ACTIVATIONS: dict[str, Callable[[], torch.nn.Module]] = {
    "tanh": torch.nn.Tanh,
    "relu": torch.nn.ReLU,
    "sigmoid": torch.nn.Sigmoid,
}


def _items(value: Any) -> list[dict]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ProtocolError("expected a list of specs")
    return value


def _linear(spec: dict, blobs: list[bytes], device: str) -> tuple[torch.nn.Linear, dict[str, tuple[Any, int]]]:
    """An nn.Linear with the given parameters; its parameters to track, by name."""
    weight = _tensor_from(spec["weight"], blobs, device)
    if weight.dim() != 2:
        raise ProtocolError("a linear layer's weight must be 2-dim")
    out_features, in_features = weight.shape
    bias_spec = spec.get("bias")
    module = torch.nn.Linear(in_features, out_features, bias=bias_spec is not None, dtype=weight.dtype, device=device)
    params = {"weight": spec["weight"]}
    if bias_spec is not None:
        params["bias"] = bias_spec
    tracked = {}
    for name, pspec in params.items():
        param = getattr(module, name)
        with torch.no_grad():
            param.copy_(_tensor_from(pspec, blobs, device))
        param.requires_grad_(bool(pspec.get("rg", True)))
        if pspec.get("grad") is not None:
            param.grad = _tensor_from(pspec["grad"], blobs, device)
        tracked[name] = (param, param._version)
    return module, tracked


def reset_state(seed: int, device: str = "cpu") -> None:
    _set_grad_enabled(True)
    torch.set_default_dtype(torch.float32)
    torch.autograd.set_detect_anomaly(False)
    # torch.manual_seed would also seed every other backend it knows, at a
    # cost that adds up over thousands of calls; seed what the call can use.
    torch.default_generator.manual_seed(seed)
    if device == "cuda":
        torch.cuda.manual_seed_all(seed)
    random.seed(seed)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(seed % (1 << 32))


# -- observing ---------------------------------------------------------------------


@contextlib.contextmanager
def _observing():
    """Observation reads tensors through the base class, with warnings muted.

    A Tensor subclass's ``__torch_function__`` cannot intercept what the probe
    reads, and reading ``.grad`` of a non-leaf does not warn.
    """
    with torch._C.DisableTorchFunctionSubclass(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


class _Blobs:
    """The answer's tensor bytes, and the budget of values one answer may describe."""

    def __init__(self) -> None:
        self.items: list[bytes] = []
        self.size = 0
        self.nodes = 0
        self.cut: str | None = None  # why part of the answer was left out, if it was

    def add(self, data: bytes) -> int:
        self.items.append(data)
        self.size += len(data)
        return len(self.items) - 1

    def room_for(self, nbytes: int) -> bool:
        return self.size + nbytes <= MAX_ANSWER_BYTES

    def take_node(self) -> bool:
        """Counts one more described value; False once the answer has described enough."""
        self.nodes += 1
        return self.nodes <= MAX_NODES


def _subclass_name(t: torch.Tensor) -> str:
    return bounded(f"{_class_name(t)} (a subclass of torch.Tensor)", 200)


def _class_name(obj: Any) -> str:
    cls = type(obj)
    module = getattr(cls, "__module__", "") or ""
    name = getattr(cls, "__qualname__", "?")
    if module in ("builtins", ""):
        return bounded(str(name), 200)
    return bounded(f"{module}.{name}", 200)


def observe_tensor(t: torch.Tensor, blobs: _Blobs) -> dict:
    """Called inside ``_observing()``: a subclass's __torch_function__ is off."""
    cls = type(t)
    grad_fn = _grad_fn(t)
    obs: dict[str, Any] = {
        "k": "tensor",
        # A subclass is never taken for a plain tensor, whatever it calls itself.
        "cls": "Parameter" if cls is torch.nn.Parameter else ("Tensor" if cls is torch.Tensor else _subclass_name(t)),
        "dtype": dtype_name(_dtype(t)),
        "shape": [int(n) for n in _shape(t)],
        "device": _device(t).type,
        "layout": str(_layout(t)).removeprefix("torch."),
        "rg": bool(_requires_grad(t)),
        "leaf": bool(_is_leaf(t)),
        "grad_fn": bounded(type(grad_fn).__name__, 200) if grad_fn is not None else None,
    }
    numel = _numel(t)
    if obs["layout"] == "strided" and obs["device"] != "meta" and numel <= MAX_NUMEL:
        if not blobs.room_for(numel * _element_size(t)):
            obs["cut"] = blobs.cut = f"more than {MAX_ANSWER_BYTES >> 20} MiB of tensor data"
            return obs
        flat = _reshape(_contiguous(_resolve_neg(_resolve_conj(_to(_detach(t), "cpu")))), -1)
        obs["b"] = blobs.add(_numpy(_view(flat, torch.uint8)).tobytes())
    return obs


def observe_value(x: Any, blobs: _Blobs, depth: int = 0) -> dict:
    if not blobs.take_node():
        blobs.cut = f"more than {MAX_NODES} values"
        return {"k": "object", "cls": _class_name(x), "cut": blobs.cut}
    try:
        return _observe_value(x, blobs, depth)
    except Exception as exc:  # a hostile object may break any attribute access
        return {"k": "object", "cls": _class_name(x), "unobservable": bounded(repr(exc), 300)}


def _observe_value(x: Any, blobs: _Blobs, depth: int) -> dict:
    cls = type(x)
    if x is None:
        return {"k": "none"}
    if cls is bool:
        return {"k": "bool", "v": x}
    if issubclass(cls, torch.Tensor):
        return observe_tensor(x, blobs)
    if issubclass(cls, torch.nn.Module):
        params = {}
        for name, param in list(torch.nn.Module.named_parameters(x))[:MAX_ITEMS]:
            params[bounded(name, 200)] = observe_tensor(param, blobs)
        return {"k": "module", "cls": _class_name(x), "params": params}
    if cls is int:
        return {"k": "int", "v": x if abs(x) < 1 << 62 else float(x)}
    if issubclass(cls, float):
        # numpy.float64 is a float too; float.__float__ reads the value without the subclass's code.
        return {"k": "float", "v": float.__float__(x)}
    if issubclass(cls, int) or getattr(cls, "__module__", "") == "numpy":
        # numpy.float32, int subclasses: numbers, but not the Python float asked for.
        try:
            value = float(x)
        except Exception:
            return {"k": "object", "cls": _class_name(x)}
        return {"k": "number", "cls": _class_name(x), "v": value}
    if issubclass(cls, (list, tuple)):
        # The base class's own length and items: O(1) however long, whatever the subclass overrides.
        length, get = (list.__len__, list.__getitem__) if issubclass(cls, list) else (tuple.__len__, tuple.__getitem__)
        items: list[dict] = []
        for i in range(min(length(x), MAX_ITEMS)):
            if blobs.nodes >= MAX_NODES:
                blobs.cut = f"more than {MAX_NODES} values"
                break  # "len" still says how many there were
            item = get(x, i)
            if depth < MAX_DEPTH:
                items.append(observe_value(item, blobs, depth + 1))
            else:
                blobs.take_node()
                items.append({"k": "object", "cls": _class_name(item)})
        return {"k": "list" if issubclass(cls, list) else "tuple", "len": length(x), "items": items}
    if issubclass(cls, str):
        return {"k": "str", "v": bounded(str.__str__(x), 300)}
    return {"k": "object", "cls": _class_name(x)}


def _observe_leaf(t: Any, version0: int | None, blobs: _Blobs) -> dict:
    if not isinstance(t, torch.Tensor):
        return observe_value(t, blobs)
    obs = observe_tensor(t, blobs)
    grad = _grad(t)
    obs["grad"] = observe_tensor(grad, blobs) if isinstance(grad, torch.Tensor) else None
    if version0 is not None:
        obs["ver"] = int(_version(t)) - version0
    return obs


def _observe_arg(tracked: Any, blobs: _Blobs) -> dict | None:
    kind = tracked[0]
    if kind == "plain":
        return None
    if kind == "tensor":
        return _observe_leaf(tracked[1], tracked[2], blobs)
    if kind == "list":
        container, items = tracked[1], tracked[2]
        length = list.__len__(container)
        observed = []
        for i, (value, item_tracked) in enumerate(items):
            if item_tracked[0] == "tensor":
                obs = _observe_leaf(item_tracked[1], item_tracked[2], blobs)
            else:
                obs = observe_value(value, blobs)
            current = list.__getitem__(container, i) if i < length else None
            obs["same"] = i < length and current is value
            if i < length and not obs["same"]:
                obs["now"] = observe_value(current, blobs)
            observed.append(obs)
        return {"k": "list", "len": length, "items": observed}
    if kind == "module":
        module, params = tracked[1], tracked[2]
        by_name: dict[str, dict] = {}
        for name, (original, version0) in params.items():
            current = _attribute_at(module, name)
            if isinstance(current, torch.Tensor):
                obs = _observe_leaf(current, version0 if current is original else None, blobs)
            else:
                obs = observe_value(current, blobs)
            obs["same"] = current is original
            by_name[name] = obs
        return {"k": "module", "cls": _class_name(module), "params": by_name}
    raise ProtocolError(f"unknown tracked kind {kind!r}")


def _attribute_at(module: Any, dotted: str) -> Any:
    """``module.0.weight`` read through plain attribute access; None where a step is missing."""
    current = module
    for step in dotted.split("."):
        try:
            current = getattr(current, step)
        except Exception:
            return None
    return current


_SHORT = reprlib.Repr()  # keyword arguments only from Python 3.12
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother = 3, MAX_TEXT, 200
_SHORT.maxdict = _SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxset = _SHORT.maxfrozenset = 8


def describe_exception(exc: BaseException) -> dict:
    try:
        message = _message(exc)
    except BaseException:
        message = "<the exception's message could not be printed>"
    where = None
    filename = str(getattr(exc, "filename", "") or "")
    if isinstance(exc, SyntaxError) and filename.startswith("<cell "):
        where = {"cell": filename[6:-1], "line": exc.lineno, "code": bounded((exc.text or "").strip(), 200)}
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith("<cell "):
            line = linecache.getline(filename, tb.tb_lineno).strip()
            where = {"cell": filename[6:-1], "line": tb.tb_lineno, "code": bounded(line, 200)}
        tb = tb.tb_next
    return {
        "type": _class_name(exc),
        "message": bounded(message),
        "where": where,
        "not_implemented": isinstance(exc, NotImplementedError),
    }


def _message(exc: BaseException) -> str:
    """``str(exc)``, without printing a huge argument in full first (``ValueError(big_dict)``)."""
    if type(exc).__str__ is not BaseException.__str__:
        return str(exc)
    args = BaseException.__getattribute__(exc, "args")
    if len(args) == 1 and type(args[0]) is str:
        return bounded(args[0])
    return _SHORT.repr(args[0] if len(args) == 1 else args)


# -- the call ----------------------------------------------------------------------


def _then(action: dict, ret: Any, call: Callable[[list[Any]], Any], args: dict[str, Any], blobs_in, device: str) -> Any:
    """Runs one follow-up action; returns the value it observes, if it has one."""
    op = action.get("op")
    with torch.enable_grad():
        if op == "backward":
            target = ret
            if action.get("again_summed"):
                target = call(list(args.values()))  # the caller's arguments, in order
            elif action.get("index") is not None:
                target = ret[action["index"]]
            if not isinstance(target, torch.Tensor):
                raise TypeError(f"backward() needs a tensor, the call returned {_class_name(target)}")
            if action.get("again_summed"):
                target = target.sum()
            grad = None
            if action.get("grad") is not None:
                grad = _tensor_from(action["grad"], blobs_in, device).to(target.dtype)
            _autograd_backward(target, grad)
        elif op == "forward_backward":
            module = args[action["module"]]
            x = _tensor_from(action["input"], blobs_in, device)
            module(x).sum().backward()
        elif op == "path_backward":
            x = args[action["arg"]]
            weights = _tensor_from(action["weights"], blobs_in, device).to(x.dtype)
            # From a clean .grad: what is seen is this path's gradient alone, so a wrong gradient of
            # the function's own backward (already observed) does not show here a second time.
            x.grad = None
            _autograd_backward((x * weights).sum())
        elif op == "gradcheck":
            return _gradcheck(call, args, str(action.get("arg")))
        else:
            raise ProtocolError(f"unknown follow-up action {op!r}")
    return None


def _gradcheck(call: Callable[[list[Any]], Any], args: dict[str, Any], name: str) -> bool:
    """gradcheck of the function in float64 over the argument ``name``, the others as given."""
    if name not in args or not isinstance(args[name], torch.Tensor):
        raise ProtocolError(f"gradcheck over {name!r}, which is not a tensor argument")
    names = list(args)
    x = _detach(args[name]).to(torch.float64).requires_grad_(True)

    def over(t: torch.Tensor) -> Any:
        return call([t if n == name else args[n] for n in names])

    return bool(_gradcheck_of(over, (x,), raise_exception=False, fast_mode=True))


def run_call(
    fn: Callable[..., Any],
    request: dict,
    blobs: list[bytes],
    *,
    device: str,
    catch: type[BaseException] = BaseException,
    restore: Callable[[], None] = lambda: None,
) -> tuple[dict, list[bytes]]:
    """Calls ``fn`` as the request says and returns the observation frame.

    ``catch`` is BaseException inside the child (a student's ``sys.exit`` is an
    outcome) and Exception on the trusted side (Ctrl-C must still stop us).
    """
    out = _Blobs()
    seed = int(request.get("seed", 0))
    names = [a.get("name", f"arg{i}") for i, a in enumerate(request["args"])]
    grad_mode = _GRAD_MODES.get(request.get("grad_mode", "enabled"))
    if grad_mode is None:
        raise ProtocolError(f"unknown grad mode {request.get('grad_mode')!r}")
    with torch.inference_mode(False):
        reset_state(seed, device)
        built = [_build(spec, blobs, device) for spec in request["args"]]
        reset_state(seed, device)  # building modules drew random numbers
        values = [v for v, _ in built]
        reply: dict[str, Any] = {"error": None}
        grad_after = True
        ret = None
        try:
            with grad_mode():
                try:
                    ret = fn(*values)
                finally:
                    # A tracer the call installed would see (and could rewrite) what is observed next;
                    # names it rebound in the grader's own modules are put back (``restore``).
                    _settrace(None)
                    _setprofile(None)
                    restore()
                    grad_after = _is_grad_enabled()
        except catch as exc:
            reply["error"] = describe_exception(exc)
        reply["grad_mode"] = grad_after
        with _observing():
            if reply["error"] is None:
                reply["return"] = observe_value(ret, out)
            reply["args"] = {n: _observe_arg(tr, out) for n, (_, tr) in zip(names, built, strict=True)}
        if reply["error"] is None and request.get("then"):
            by_name = dict(zip(names, values, strict=True))
            then = []
            for action in request["then"]:
                step: dict[str, Any] = {"label": action.get("label", action.get("op")), "error": None}
                value = None
                try:
                    value = _then(action, ret, lambda vs: fn(*vs), by_name, blobs, device)
                except ProtocolError:
                    raise
                except catch as exc:
                    step["error"] = describe_exception(exc)
                _settrace(None)
                _setprofile(None)
                restore()
                with _observing():
                    if value is not None:
                        step["value"] = observe_value(value, out)
                    step["args"] = {n: _observe_arg(tr, out) for n, (_, tr) in zip(names, built, strict=True)}
                then.append(step)
            reply["then"] = then
        _set_grad_enabled(True)
    if out.cut is not None:
        reply["too_large"] = out.cut
    return reply, out.items
