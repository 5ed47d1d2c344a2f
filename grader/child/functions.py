"""The catalogue of functions the grader may pass as an argument (``hvp(f, x, v)``).

Only plain data crosses into the child, never code: the trusted side names an
entry of this catalogue and sends its parameters (a matrix ``A``, a vector
``b``) as tensors; the child builds the function here. The same table runs on
the trusted side for the reference, so both build the same function.

Each entry is smooth everywhere, never linear, and works in the dtype and on
the device of its parameters and of ``x``. ``formula`` is how feedback shows it.
torch is imported when a function is built: the trusted side reads the formulas
without it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Entry:
    formula: str
    params: tuple[str, ...]
    build: Callable[[Mapping[str, torch.Tensor]], Callable[[torch.Tensor], torch.Tensor]]
    vector: bool  # maps (n,) to (m,); otherwise to a 0-dim tensor


def _sin_square(p: Mapping[str, torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    import torch

    return lambda x: (torch.sin(x) * x**2).sum()


def _logsumexp(p: Mapping[str, torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    import torch

    return lambda x: torch.logsumexp(x, 0)


def _quartic(p: Mapping[str, torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:

    A = p["A"]
    return lambda x: 0.25 * ((A @ x) ** 4).sum()


def _softplus_mix(p: Mapping[str, torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    import torch

    a = p["a"]
    return lambda x: (torch.nn.functional.softplus(x) * a).sum() + (x[:-1] * x[1:]).sum() ** 2


def _tanh_affine(p: Mapping[str, torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    import torch

    A, b = p["A"], p["b"]
    return lambda x: torch.tanh(A @ x + b)


def _softmax(p: Mapping[str, torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    import torch

    return lambda x: torch.softmax(x, 0)


def _times_cumsum(p: Mapping[str, torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    import torch

    return lambda x: x * torch.cumsum(x, 0)


def _sin_affine_square(p: Mapping[str, torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    import torch

    A = p["A"]
    return lambda x: torch.sin(A @ x) * x.sum() ** 2


CATALOGUE: dict[str, Entry] = {
    "sin_square": Entry("f(x) = Σ sin(xᵢ)·xᵢ²", (), _sin_square, vector=False),
    "logsumexp": Entry("f(x) = log Σ exp(xᵢ)", (), _logsumexp, vector=False),
    "quartic": Entry("f(x) = ¼·Σ ((A·x)ᵢ)⁴", ("A",), _quartic, vector=False),
    "softplus_mix": Entry("f(x) = Σ aᵢ·softplus(xᵢ) + (Σ xᵢ·xᵢ₊₁)²", ("a",), _softplus_mix, vector=False),
    "tanh_affine": Entry("f(x) = tanh(A·x + b)", ("A", "b"), _tanh_affine, vector=True),
    "times_cumsum": Entry("f(x) = x ⊙ cumsum(x)", (), _times_cumsum, vector=True),
    "softmax": Entry("f(x) = softmax(x)", (), _softmax, vector=True),
    "sin_affine_square": Entry("f(x) = sin(A·x)·(Σ xᵢ)²", ("A",), _sin_affine_square, vector=True),
}


def build(name: str, params: Mapping[str, torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    """The function ``name`` with these parameters; KeyError for an unknown name or parameter."""
    entry = CATALOGUE[name]
    if set(params) != set(entry.params):
        raise KeyError(f"{name} takes parameters {entry.params}, not {tuple(params)}")
    fn = entry.build(params)
    fn.__name__ = fn.__qualname__ = "f"
    return fn
