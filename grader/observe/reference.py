"""Running the reference solution (and known-buggy variants) on the trusted side.

The reference is probed with the very code that probes the student's function
in the child, so both observations are made the same way. It runs on the CPU:
the trusted side never initialises CUDA. torch is imported on first use only:
replaying a stored plan needs no reference run at all.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from .case import Case
from .observation import Observation, decode


class ReferenceFailed(Exception):
    """The reference raised on an input its own check drew: a bug in the assignment."""


class ReferenceRunner:
    def __init__(self, solution: Callable[[], ModuleType], *, device_as: str) -> None:
        self._solution = solution  # called on first use: importing it imports torch
        self.device_as = device_as
        self._probe: Any = None

    def call(self, fn: Callable, header: dict, blobs: list[bytes]) -> tuple[dict, list[bytes]]:
        if self._probe is None:
            import torch

            from ..child import probe

            torch.set_num_threads(1)
            self._probe = probe
        return self._probe.run_call(fn, header, blobs, device="cpu", catch=Exception)

    def observe(self, fn: Callable, header: dict, blobs: list[bytes]) -> Observation:
        return decode(*self.call(fn, header, blobs), device_as=self.device_as)

    def expected(self, target: str, header: dict, blobs: list[bytes], case: Case) -> tuple[dict, list[bytes]]:
        """The reference's raw observation frame for a drawn example."""
        reply, out = self.call(getattr(self._solution(), target), header, blobs)
        if reply.get("error") is not None:
            error = reply["error"]
            raise ReferenceFailed(
                f"the reference {target}() raised {error.get('type')}: {error.get('message')} on {case.describe()}"
            )
        return reply, out
