"""Fact patterns for modules and follow-up steps, written once for every assignment.

A check of a function that takes an ``nn.Module`` or runs ``backward()`` on its
result names the same facts again and again: the module's parameters kept as
they were, the gradients a backward() leaves in them, a step's error. These
build those patterns (see ``grader.observe.observation`` for the paths).
"""

from __future__ import annotations


def step(label: str, *paths: str) -> tuple[str, ...]:
    """A follow-up step ran without raising, and what it left in ``paths`` (``step("after backward()", "x.grad")``)."""
    return (f"{label}: error", *(f"{label}: {path}" for path in paths))


def parameters_kept(module: str, *params: str) -> tuple[str, ...]:
    """The module's parameters (all by default: ``*`` for a Linear, ``*.*`` inside a Sequential) stay the same
    objects with the same values, ``requires_grad`` and ``.grad``."""
    names = params or ("*",)
    return tuple(f"{module}.{p}{s}" for p in names for s in ("", ".grad", ".same_object", ".requires_grad"))


def backward_reaches(module: str, *params: str, label: str = "after backward()") -> tuple[str, ...]:
    """The result requires grad, and backward() on it fills these parameters' ``.grad`` as the reference's does."""
    return ("return.requires_grad", *step(label, *(f"{module}.{p}.grad" for p in params)))
