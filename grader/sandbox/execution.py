"""Executing the notebook in the child, and the policy that keeps one bad cell from costing the rest.

The child runs the cells top to bottom. A cell that hangs past the cell limit
or kills the process is skipped and the notebook runs again without it; so is
a cell that leaves more processes running than the workers could live with;
past the notebook's time limit, what finished in time runs once more without
the rest, so that the functions defined before the limit can still be graded.
Every control frame the child sends is checked before its numbers are used: a
forged one is a broken child, never our crash.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..child.wire import Connection, FrameTimeout, WireError
from ..errors import GraderError
from ..escape import clean
from ..i18n import N_, _, decimal, ngettext
from .launch import BUBBLEWRAP

if TYPE_CHECKING:
    from ..course.rubric import Limits
    from .launch import ChildProcess

STARTUP_SECONDS = 60.0
MAX_STARTS = 6
TOTAL_LIMIT = "total time limit"
# Serve every item from the notebook's own process, restarting it after a
# timeout or crash, as on a GPU runner; set by tests to cover that path on a CPU.
INLINE_WORKERS = os.environ.get("GRADER_INLINE_WORKERS") == "1"


def _int(value: object) -> int:
    """A number the child sent where one belongs; anything else means a broken or forged frame."""
    if type(value) is not int or not -(1 << 31) <= value < 1 << 31:
        raise WireError(f"expected a small integer, got {type(value).__name__}")
    return value


def _event(header: dict) -> dict:
    """A control frame whose numbers are numbers (a forged one is a broken child, not our crash)."""
    event = header.get("ev")
    if event == "cell" and header.get("phase") == "start":
        _int(header.get("index"))
    elif event == "cell":
        error, skipped = header.get("error"), header.get("skipped_imports") or []
        if not (error is None or isinstance(error, dict)) or not isinstance(skipped, list):
            raise WireError("a cell's result is not shaped as the child sends it")
        if not all(isinstance(s, dict) for s in skipped) or not isinstance(header.get("tasks", 0), int):
            raise WireError("a cell's result is not shaped as the child sends it")
    elif event in ("exited", "opened"):
        _int(header.get("pid", 0))
        _int(header.get("signal", 0))
        _int(header.get("code", 0))
    return header


def _names(value: object) -> frozenset[str]:
    """The names the notebook defined, as the child reports them (only compared and quoted, bounded)."""
    if not isinstance(value, list):
        return frozenset()
    return frozenset(name[:200] for name in value[:10_000] if isinstance(name, str))


def budget_text(limits: Limits) -> str:
    return _(
        "the grading of this notebook used up its total time budget ({seconds} s, limits.total_seconds in the rubric)"
    ).format(seconds=decimal(f"{limits.total_s:g}"))


def describe_exit(code: int | None) -> str:
    if code is None:
        return _("the process is still running")
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            return _("the process was killed by signal {number}").format(number=-code)
        return _("the process was killed by {signal}").format(signal=name)
    return _("the process exited with status {code}").format(code=code)


@dataclass(frozen=True)
class CellRun:
    index: int
    status: str  # "ok", "error", "timeout", "crashed", "skipped", "not run"
    error: dict | None = None
    skipped_imports: tuple[dict, ...] = ()
    time_s: float = 0.0


@dataclass(frozen=True)
class NotebookRun:
    cells: tuple[CellRun, ...]
    defined: frozenset[str]
    device: str
    device_name: str
    starts: int
    stopped: str | None  # why execution stopped early, if it did
    time_s: float
    torch_version: str = ""
    forked_workers: bool = True  # False: one worker at a time, served by the notebook's process


class DeviceUnavailable(GraderError):
    """The device asked for is not there."""


class WorkerUnavailable(Exception):
    """The child could not provide a worker even after a restart."""


@dataclass
class _Attempt:
    results: dict[int, CellRun] = field(default_factory=dict)
    ready: dict | None = None
    died_in: int | None = None
    hung_in: int | None = None
    crowded_in: int | None = None  # the first cell after which too many processes or threads ran
    crowd: int = 0
    out_of_time: bool = False


# The limits a cell's death names, as the student reads them (limits_hit keeps the names themselves).
_LIMIT_SHOWN = {"memory limit": N_("memory limit"), "process limit": N_("process limit")}


class NotebookExecution:
    """What a ``Session`` does to run the notebook; the rest of a session is its workers.

    A part of ``Session`` kept in a module of its own: these are the session's
    attributes and methods it uses.
    """

    if TYPE_CHECKING:
        limits: Limits
        starts: int
        run: NotebookRun | None
        _cells: list[tuple[int, str]]
        _skip: set[int]
        _device: str
        _sandbox: str
        _child: ChildProcess | None
        _early: ChildProcess | None
        _torch_version: str
        _rerun_deadline_s: float

        def until(self, deadline: float) -> float: ...
        def out_of_budget(self) -> bool: ...
        def note_limit(self, name: str) -> None: ...
        def new_limit_hits(self) -> list[str]: ...
        def _launch(self) -> ChildProcess: ...
        def _discard_child(self) -> None: ...

    def start(self, cells: list[tuple[int, str]]) -> NotebookRun:
        """Executes the notebook's (converted) code cells; returns what happened."""
        self._cells = list(cells)
        began = time.monotonic()
        deadline = self.until(began + self.limits.notebook_s)
        incidents: dict[int, CellRun] = {}  # cells skipped after they hung, crowded or killed the process
        stopped = None
        while True:
            attempt = self._execute(deadline)
            if attempt.ready is not None and attempt.crowded_in is not None and self.starts < MAX_STARTS:
                self._skip_crowded(attempt, incidents)
                continue
            if attempt.ready is not None:
                break
            if self.starts >= MAX_STARTS:
                stopped = _("the notebook's process kept dying or hanging")
                break
            culprit = attempt.died_in if attempt.died_in is not None else attempt.hung_in
            if culprit is not None:
                self._skip.add(culprit)
                incidents[culprit] = attempt.results[culprit]
                continue
            if attempt.out_of_time:
                stopped = _("the notebook did not finish within its time limit ({seconds} s)").format(
                    seconds=decimal(f"{self.limits.notebook_s:g}")
                )
                if self.out_of_budget():
                    stopped = budget_text(self.limits)
                    self.note_limit(TOTAL_LIMIT)
                attempt = self._rerun_what_finished(attempt)
                break
            stopped = _("the notebook's process could not be started")
            break
        self.run = self._notebook_run(attempt, incidents, stopped, began)
        self._rerun_deadline_s = max(30.0, 2 * self.run.time_s + 30)
        return self.run

    def _skip_crowded(self, attempt: _Attempt, incidents: dict[int, CellRun]) -> None:
        """The cell that left too many processes running is skipped, and the notebook runs again."""
        crowded = attempt.crowded_in
        assert crowded is not None
        self.note_limit("process limit")
        incidents[crowded] = CellRun(
            index=crowded,
            status="skipped",
            error={
                "type": "process limit",
                "message": ngettext(
                    "it left {count} processes or threads running (the sandbox allows {allowed}); "
                    "the notebook ran again without it",
                    "it left {count} processes or threads running (the sandbox allows {allowed}); "
                    "the notebook ran again without it",
                    attempt.crowd,
                ).format(count=attempt.crowd, allowed=self.limits.processes),
                "where": None,
            },
        )
        self._skip.add(crowded)

    def _rerun_what_finished(self, attempt: _Attempt) -> _Attempt:
        """Past the time limit: what finished in time runs once more, without the rest, so that the
        functions defined before the limit can still be graded."""
        cut = next((c for c, r in sorted(attempt.results.items()) if r.status == "timeout"), None)
        if cut is None:
            return attempt
        self._skip.update(i for i, _ in self._cells if i >= cut)
        elapsed = sum(r.time_s for r in attempt.results.values() if r.status != "timeout")
        rerun = self._execute(self.until(time.monotonic() + 2 * elapsed + 30))
        if rerun.ready is not None:
            for index, result in attempt.results.items():
                rerun.results.setdefault(index, result)
        return rerun

    def _notebook_run(
        self, attempt: _Attempt, incidents: dict[int, CellRun], stopped: str | None, began: float
    ) -> NotebookRun:
        ran: list[CellRun] = []
        for index, _source in self._cells:
            found = attempt.results.get(index) or incidents.get(index)
            ran.append(found if found is not None else CellRun(index=index, status="not run"))
        ready = attempt.ready or {}
        return NotebookRun(
            cells=tuple(ran),
            defined=_names(ready.get("defined")),
            device=self._reported_device(ready.get("device")),
            device_name=clean(str(ready.get("device_name", ""))[:200]),
            starts=self.starts,
            stopped=stopped,
            time_s=time.monotonic() - began,
            torch_version=clean(self._torch_version),
            forked_workers=bool(ready.get("forked_workers", True)),
        )

    def _reported_device(self, said: object) -> str:
        """The device the child says it runs on, if it is one it may run on (it labels the reference's tensors)."""
        allowed = ("cpu", "cuda") if self._device == "auto" else (self._device,)
        return said if isinstance(said, str) and said in allowed else allowed[0]

    def _execute(self, deadline: float) -> _Attempt:
        """One run of the notebook in a child (the early one, else a new one), cell by cell, until it is
        ready, a cell hangs or kills it, or the deadline passes."""
        attempt = _Attempt()
        child, self._early = (self._early, None) if self._early is not None else (self._launch(), None)
        control = child.control
        try:
            self._load(control)
        except WireError:
            return attempt
        current: int | None = None
        started = time.monotonic()
        while True:
            now = time.monotonic()
            limit = deadline
            if current is not None:
                limit = min(limit, started + self.limits.cell_s)
            try:
                header = _event(control.recv(deadline=limit)[0])
            except FrameTimeout:
                if current is None:
                    attempt.out_of_time = True
                    return attempt
                spent = time.monotonic() - started
                self.note_limit("time limit")
                attempt.results[current] = CellRun(index=current, status="timeout", time_s=spent)
                if spent >= self.limits.cell_s:
                    attempt.hung_in = current
                else:
                    attempt.out_of_time = True
                return attempt
            except WireError:
                if current is not None:
                    attempt.results[current] = self._died_in(current, started)
                    attempt.died_in = current
                return attempt
            event = header.get("ev")
            if event == "cell" and header.get("phase") == "start":
                current, started = _int(header.get("index")), now
            elif event == "cell" and header.get("phase") == "end" and current is not None:
                attempt.results[current] = CellRun(
                    index=current,
                    status="ok" if header.get("ok") else "error",
                    error=header.get("error"),
                    skipped_imports=tuple(header.get("skipped_imports") or ()),
                    time_s=time.monotonic() - started,
                )
                tasks = header.get("tasks")
                if isinstance(tasks, int) and attempt.crowded_in is None and tasks > self.limits.processes // 2:
                    # It left processes or threads running: the workers could not be started.
                    attempt.crowded_in, attempt.crowd = current, tasks
                current = None
            elif event == "ready":
                attempt.ready = header
                return attempt
            elif event == "fatal":
                raise DeviceUnavailable(str(header.get("message"))[:300])

    def _load(self, control: Connection) -> None:
        """The child's hello, then the cells to run and how."""
        hello, _blobs = control.recv(deadline=time.monotonic() + STARTUP_SECONDS)
        if hello.get("ev") != "hello":
            raise WireError("the child did not say hello")
        self._torch_version = str(hello.get("torch", ""))[:50]
        control.send(
            {
                "op": "load",
                "cells": self._cells,
                "skip": sorted(self._skip),
                "device": self._device,
                "inline": INLINE_WORKERS,
                "count_tasks": self._sandbox == BUBBLEWRAP,
            },
            deadline=time.monotonic() + STARTUP_SECONDS,
        )

    def _died_in(self, index: int, started: float) -> CellRun:
        """A cell during which the notebook's process died, with the limit that killed it if one did."""
        status = self._child_exit_text()
        hits = self.new_limit_hits()
        if hits:
            status = f"{_(_LIMIT_SHOWN.get(hits[0], hits[0]))}: {status}"
        else:
            self.note_limit("exited")
        return CellRun(
            index=index,
            status="crashed",
            error={"type": _("process died"), "message": status, "where": None},
            time_s=time.monotonic() - started,
        )

    def _child_exit_text(self) -> str:
        child = self._child
        if child is None:
            return _("the process is gone")
        try:
            code = child.proc.wait(timeout=2)
        except Exception:
            return _("the process stopped answering")
        return describe_exit(code)

    def _restart(self) -> None:
        if self.starts >= MAX_STARTS + 4:
            raise WorkerUnavailable(_("the notebook's process was restarted too often"))
        if self.out_of_budget():
            raise WorkerUnavailable(budget_text(self.limits))
        attempt = self._execute(self.until(time.monotonic() + self._rerun_deadline_s))
        if attempt.ready is None:
            self._discard_child()
            raise WorkerUnavailable(_("running the notebook again failed"))
