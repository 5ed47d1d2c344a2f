"""Running the reference solution (and known-buggy variants) on the trusted side.

The reference is probed with the very code that probes the student's function
in the child, so both observations are made the same way. It runs on the CPU:
the trusted side never initialises CUDA. torch is imported on first use only:
replaying a stored plan needs no reference run at all.

The reference must answer every input its check draws, and every follow-up
step (``backward()`` on its result) must succeed: where it raises, there is
nothing to compare a student with (a student who raised too would look right),
so ``expected`` raises ``ReferenceFailed``, an error in the assignment.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from .case import Case
from .observation import Observation, decode


class ReferenceFailed(Exception):
    """The reference raised, in its call or a follow-up step, on an input its own check drew: a bug in the
    assignment, never something to compare a student with."""

    def __init__(self, target: str, case: Case, error: dict, step: str | None = None) -> None:
        self.target, self.case, self.error, self.step = target, case, error, step
        super().__init__(f"{self.what} on {case.describe()}")

    @property
    def what(self) -> str:
        """What raised, and what it said, without the input."""
        raised = f"raised {self.error.get('type')}: {self.error.get('message')}"
        if self.step is None:
            return f"the reference {self.target}() {raised}"
        return f"the follow-up step '{self.step}' on the reference {self.target}()'s result {raised}"


def failure_in(target: str, reply: dict, case: Case) -> ReferenceFailed | None:
    """The reference's failure that a raw observation frame records (its call's, else its first step's), if any."""
    error = reply.get("error")
    if error is not None:
        return ReferenceFailed(target, case, error if isinstance(error, dict) else {"type": str(error)})
    for step in reply.get("then") or ():
        error = step.get("error") if isinstance(step, dict) else None
        if error is not None:
            shown = error if isinstance(error, dict) else {"type": str(error)}
            return ReferenceFailed(target, case, shown, step=str(step.get("label")))
    return None


class ReferenceRunner:
    """Calls the reference of one rubric; ``rubric`` (its file) is what the instructor's errors name."""

    def __init__(self, solution: Callable[[], ModuleType], *, device_as: str, rubric: Path | str | None = None) -> None:
        self._solution = solution  # called on first use: importing it imports torch
        self.device_as = device_as
        self.rubric = rubric
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
        """The reference's raw observation frame for a drawn example; ``ReferenceFailed`` where it raised."""
        reply, out = self.call(getattr(self._solution(), target), header, blobs)
        failed = failure_in(target, reply, case)
        if failed is not None:
            raise failed
        return reply, out
