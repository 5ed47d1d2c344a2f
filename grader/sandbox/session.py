"""One submission's untrusted side, seen from the trusted side.

A session starts the child, has it execute the notebook cell by cell under
the notebook and cell time limits, and then opens one worker per rubric item.
When the child dies or hangs, the session starts a new one and runs the
notebook again, leaving out the cell that killed or hung it, so one bad cell
or one bad function costs only what it touched.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from dataclasses import dataclass, field

from ..child.wire import Connection, FrameTimeout, WireError
from ..course.rubric import Limits
from ..errors import GraderError
from ..escape import clean
from .launch import BUBBLEWRAP, ChildProcess, Confinement, start_child

STARTUP_SECONDS = 60.0
DIED_UNDER = "the notebook's whole process died while it ran"
TOTAL_LIMIT = "total time limit"


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
    return (
        f"the grading of this notebook used up its total time budget ({limits.total_s:g} s, "
        "limits.total_seconds in the rubric)"
    )


# Serve every item from the notebook's own process, restarting it after a
# timeout or crash, as on a GPU runner; set by tests to cover that path on a CPU.
INLINE_WORKERS = os.environ.get("GRADER_INLINE_WORKERS") == "1"
# Fork every child from a warm zygote, as batch workers do; set by tests to put the
# single-notebook suites (samples, adversarial) through that path too.
WARM_CHILDREN = os.environ.get("GRADER_WARM_CHILDREN") == "1"
OPEN_SECONDS = 10.0
KILL_CONFIRM_SECONDS = 2.0
PING_SECONDS = 5.0
MAX_STARTS = 6


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


class OpenFailed(WorkerUnavailable):
    """The child is up but could not fork a worker (the process limit, most likely)."""


@dataclass
class Worker:
    conn: Connection
    pid: int  # in the child's pid namespace: numbers repeat in every new child
    inline: bool
    generation: int = 0  # which start of the child it belongs to
    next_id: int = 0


@dataclass
class _Attempt:
    results: dict[int, CellRun] = field(default_factory=dict)
    ready: dict | None = None
    died_in: int | None = None
    hung_in: int | None = None
    crowded_in: int | None = None  # the first cell after which too many processes or threads ran
    crowd: int = 0
    out_of_time: bool = False


class Session:
    def __init__(self, *, device: str, limits: Limits, sandbox: str = BUBBLEWRAP, warm: bool = False) -> None:
        # Fork children from this process's zygote where that is as safe (grader.zygote).
        self._warm = warm or WARM_CHILDREN
        self._cells: list[tuple[int, str]] = []
        self._device = device
        self._sandbox = sandbox
        self.limits = limits
        self.limits_hit: list[str] = []  # in the order first hit: "time limit", "memory limit", …
        self._seen_oom = 0
        self._seen_pids = 0
        self._child: ChildProcess | None = None
        self._skip: set[int] = set()
        self._exits: dict[tuple[int, int], str] = {}  # (generation, pid): how it ended
        self.starts = 0
        self.warm_starts = 0  # of those, forked from a warm zygote
        self.run: NotebookRun | None = None
        self._output_total = 0
        self._output_text: list[str] = []
        self._output_truncated = False
        self._rerun_deadline_s = limits.notebook_s
        self._early: ChildProcess | None = None
        self._torch_version = ""
        # When the notebook's whole grading must be over (time.monotonic()); set by its grader.
        self.stop_at = float("inf")

    def until(self, deadline: float) -> float:
        """``deadline``, or earlier where the notebook's total time budget ends first."""
        return min(deadline, self.stop_at)

    def out_of_budget(self) -> bool:
        return time.monotonic() >= self.stop_at

    # -- executing the notebook -------------------------------------------------
    def launch(self) -> None:
        """Starts the first child now, so its start-up overlaps the trusted side's."""
        if self._early is None:
            self._early = self._launch()

    def start(self, cells: list[tuple[int, str]]) -> NotebookRun:
        """Executes the notebook's (converted) code cells; returns what happened."""
        self._cells = list(cells)
        began = time.monotonic()
        deadline = self.until(began + self.limits.notebook_s)
        attempt = _Attempt()
        incidents: dict[int, CellRun] = {}  # cells skipped after they hung or killed the process
        stopped = None
        while True:
            attempt = self._execute(deadline)
            if attempt.ready is not None and attempt.crowded_in is not None and self.starts < MAX_STARTS:
                crowded = attempt.crowded_in
                self.note_limit("process limit")
                incidents[crowded] = CellRun(
                    index=crowded,
                    status="skipped",
                    error={
                        "type": "process limit",
                        "message": f"it left {attempt.crowd} processes or threads running "
                        f"(the sandbox allows {self.limits.processes}); the notebook ran again without it",
                        "where": None,
                    },
                )
                self._skip.add(crowded)
                continue
            if attempt.ready is not None:
                break
            if self.starts >= MAX_STARTS:
                stopped = "the notebook's process kept dying or hanging"
                break
            culprit = attempt.died_in if attempt.died_in is not None else attempt.hung_in
            if culprit is not None:
                self._skip.add(culprit)
                incidents[culprit] = attempt.results[culprit]
                continue
            if attempt.out_of_time:
                stopped = f"the notebook did not finish within its time limit ({self.limits.notebook_s:g} s)"
                if self.out_of_budget():
                    stopped = budget_text(self.limits)
                    self.note_limit(TOTAL_LIMIT)
                # Run what finished in time once more, without the rest, so the
                # functions defined before the limit can still be graded.
                cut = next((c for c, r in sorted(attempt.results.items()) if r.status == "timeout"), None)
                if cut is None:
                    break
                self._skip.update(i for i, _ in self._cells if i >= cut)
                elapsed = sum(r.time_s for r in attempt.results.values() if r.status != "timeout")
                rerun = self._execute(self.until(time.monotonic() + 2 * elapsed + 30))
                if rerun.ready is not None:
                    for index, result in attempt.results.items():
                        rerun.results.setdefault(index, result)
                attempt = rerun
                break
            stopped = "the notebook's process could not be started"
            break
        ran: list[CellRun] = []
        for index, _ in self._cells:
            found = attempt.results.get(index) or incidents.get(index)
            ran.append(found if found is not None else CellRun(index=index, status="not run"))
        ready = attempt.ready or {}
        self.run = NotebookRun(
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
        self._rerun_deadline_s = max(30.0, 2 * self.run.time_s + 30)
        return self.run

    def _reported_device(self, said: object) -> str:
        """The device the child says it runs on, if it is one it may run on (it labels the reference's tensors)."""
        allowed = ("cpu", "cuda") if self._device == "auto" else (self._device,)
        return said if isinstance(said, str) and said in allowed else allowed[0]

    def _launch(self) -> ChildProcess:
        self._discard_child()
        self.starts += 1
        limits = self.limits
        confinement = Confinement(
            sandbox=self._sandbox,
            memory_bytes=limits.memory_bytes,
            processes=limits.processes,
            disk_bytes=limits.disk_bytes,
            cuda=self._device != "cpu" and os.path.exists("/dev/nvidiactl"),
        )
        output_cap = max(0, limits.output_bytes - self._output_total)
        child = None
        if self._warm:
            from .zygote import spawn_warm

            child = spawn_warm(confinement=confinement, output_cap=output_cap, max_frame_bytes=limits.frame_bytes)
            self.warm_starts += child is not None
        if child is None:
            child = start_child(confinement=confinement, output_cap=output_cap, max_frame_bytes=limits.frame_bytes)
        self._child = child
        self._seen_oom = self._seen_pids = 0
        return self._child

    # -- limits ------------------------------------------------------------------
    def note_limit(self, name: str) -> None:
        if name not in self.limits_hit:
            self.limits_hit.append(name)

    def new_limit_hits(self) -> list[str]:
        """Memory and process limits the current child hit since the last look."""
        child = self._child
        if child is None or child.cgroups is None:
            return []
        hits = []
        oom, pids = child.cgroups.oom_kills(), child.cgroups.process_limit_hits()
        if oom > self._seen_oom:
            hits.append("memory limit")
        if pids > self._seen_pids:
            hits.append("process limit")
        self._seen_oom, self._seen_pids = oom, pids
        for hit in hits:
            self.note_limit(hit)
        return hits

    def _execute(self, deadline: float) -> _Attempt:
        attempt = _Attempt()
        child, self._early = (self._early, None) if self._early is not None else (self._launch(), None)
        control = child.control
        try:
            hello, _ = control.recv(deadline=time.monotonic() + STARTUP_SECONDS)
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
                    status = self._child_exit_text()
                    hits = self.new_limit_hits()
                    if hits:
                        status = f"{hits[0]}: {status}"
                    else:
                        self.note_limit("exited")
                    attempt.results[current] = CellRun(
                        index=current,
                        status="crashed",
                        error={"type": "process died", "message": status, "where": None},
                        time_s=time.monotonic() - started,
                    )
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

    def _child_exit_text(self) -> str:
        child = self._child
        if child is None:
            return "the process is gone"
        try:
            code = child.proc.wait(timeout=2)
        except Exception:
            return "the process stopped answering"
        return describe_exit(code)

    # -- workers -----------------------------------------------------------------
    def open_worker(self, *, patience: float = 0.0) -> Worker:
        """A fresh worker; ``patience`` seconds of retries while the process limit is full."""
        give_up = time.monotonic() + patience
        restarts = 0
        while True:
            if self._child is None or not self._child.alive():
                self._restart()
            try:
                return self._open()
            except OpenFailed:
                if time.monotonic() > give_up:
                    raise
                time.sleep(0.1)  # a finished worker's leftovers are being killed
            except (WireError, OSError):
                self._discard_child()
                restarts += 1
                if restarts >= 2:
                    raise WorkerUnavailable("the notebook's process could not start a worker") from None

    def _restart(self) -> None:
        if self.starts >= MAX_STARTS + 4:
            raise WorkerUnavailable("the notebook's process was restarted too often")
        if self.out_of_budget():
            raise WorkerUnavailable(budget_text(self.limits))
        attempt = self._execute(self.until(time.monotonic() + self._rerun_deadline_s))
        if attempt.ready is None:
            self._discard_child()
            raise WorkerUnavailable("running the notebook again failed")

    def _open(self) -> Worker:
        assert self._child is not None
        control = self._child.control
        control.send({"op": "open"}, deadline=time.monotonic() + OPEN_SECONDS)
        deadline = time.monotonic() + OPEN_SECONDS
        while True:
            header, _ = control.recv(deadline=deadline)
            if self._note_event(header):
                continue
            if header.get("ev") == "opened":
                break
            if header.get("ev") == "open_failed":
                self.new_limit_hits()
                raise OpenFailed(f"no process could be started for it ({str(header.get('error'))[:200]})")
        fd = control.take_fd()
        if fd is None:
            raise WireError("no worker socket arrived")
        sock = socket.socket(fileno=fd)
        if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
            sock.close()
            raise WireError("the worker socket is not a Unix stream socket")
        pid = _int(header.get("pid", 0))
        inline = bool(header.get("inline"))
        if not inline and pid > 0 and self._child is not None and not self._child.pid_namespace:
            self._child.host_pids.add(pid)
        return Worker(
            conn=Connection(sock, max_frame_bytes=self.limits.frame_bytes),
            pid=pid,
            inline=inline,
            generation=self.starts,
        )

    def _note_event(self, header: dict) -> bool:
        """Records asynchronous events; True if the frame was one."""
        event = header.get("ev")
        if event == "exited":
            pid = _int(header.get("pid", 0))
            if "signal" in header:
                self._exits[(self.starts, pid)] = describe_exit(-_int(header["signal"]))
            else:
                self._exits[(self.starts, pid)] = describe_exit(_int(header.get("code", 0)))
            return True
        return event in ("magic", "pong")  # a pong that came too late for its ping

    def _drain_events(self, deadline: float, until_pid: int | None = None) -> bool:
        """Reads pending events; False when the control connection broke (the child is dying)."""
        if self._child is None:
            return False
        control = self._child.control
        while until_pid is None or (self.starts, until_pid) not in self._exits:
            try:
                if until_pid is None:
                    frame = control.poll_frame()
                    if frame is None:
                        return True
                else:
                    frame = control.recv(deadline=deadline)
                self._note_event(_event(frame[0]))
            except FrameTimeout:
                return True
            except WireError:
                return False
        return True

    def close_worker(self, worker: Worker) -> None:
        try:
            worker.conn.send({"op": "end"}, deadline=time.monotonic() + 1.0)
        except WireError:
            pass
        worker.conn.close()

    def replaced(self, worker: Worker) -> bool:
        """Did the notebook's process behind this forked worker die, taking other workers along?

        Inline workers run one at a time, so their crash is never another item's doing.
        """
        if worker.inline:
            return False
        if worker.generation != self.starts:
            return True
        return self._child is None or not self._child.alive()

    def outlived_by_notebook(self, worker: Worker) -> bool:
        """Is the notebook's process still alive now that this worker's calls are answered?

        A worker that killed the notebook's process (``kill(-1, SIGKILL)``, say)
        may still answer every call before the pid namespace's end takes it
        too: whether it does is a race. The process answers a ping only if it
        was not killed: a process with SIGKILL pending never runs again. So the
        verdict does not depend on which was quicker. A ping not answered in
        time (the process is busy with the student's threads) proves nothing.
        """
        if worker.inline:
            return True  # it is the notebook's process: its answers are the proof
        if self.replaced(worker):
            return False
        assert self._child is not None
        control = self._child.control
        deadline = time.monotonic() + PING_SECONDS
        try:
            control.send({"op": "ping"}, deadline=deadline)
            while True:
                header, _ = control.recv(deadline=deadline)
                if header.get("ev") == "pong":
                    return True
                self._note_event(header)
        except FrameTimeout:
            return True
        except WireError:
            self._discard_child()  # dead, though bubblewrap outside may not have noticed yet
            return False

    def kill_worker(self, worker: Worker) -> None:
        """Stops a worker that missed its deadline; restarts the child if need be."""
        worker.conn.close()
        key = (worker.generation, worker.pid)
        if worker.generation != self.starts or (not worker.inline and key in self._exits):
            return  # gone already, or its whole child was replaced
        if worker.inline or self._child is None or not self._child.alive():
            self._discard_child()
            return
        try:
            self._child.control.send({"op": "kill", "pid": worker.pid}, deadline=time.monotonic() + 1.0)
            self._drain_events(time.monotonic() + KILL_CONFIRM_SECONDS, until_pid=worker.pid)
        except WireError:
            pass
        if key not in self._exits:
            self._discard_child()

    def exit_status(self, worker: Worker, *, wait: float = 1.0) -> str:
        """How a worker that went away ended, as far as can be told."""
        key = (worker.generation, worker.pid)
        if worker.generation != self.starts:
            return self._exits.get(key, DIED_UNDER)
        if worker.inline:
            text = self._child_exit_text() if self._child is not None else "the process is gone"
            self._discard_child()
            return text
        if not self._drain_events(time.monotonic() + wait, until_pid=worker.pid) and self._child is not None:
            try:
                self._child.proc.wait(timeout=2)  # the notebook's process is going down
            except Exception:
                pass
        if self._child is not None and not self._child.alive():
            self._discard_child()
            return DIED_UNDER
        return self._exits.get(key, "the process went away")

    # -- cleanup -----------------------------------------------------------------
    def _discard_child(self) -> None:
        if self._child is not None:
            self.new_limit_hits()
        child, self._child = self._child, None
        if child is None:
            return
        child.kill()
        self._output_total += child.output.total
        self._output_truncated |= child.output.truncated
        self._output_text.append(child.output.text())

    def close(self) -> None:
        if self._child is not None:
            try:
                self._child.control.send({"op": "quit"}, deadline=time.monotonic() + 0.5)
            except WireError:
                pass
        self._discard_child()

    @property
    def output(self) -> tuple[str, int, bool]:
        """(captured text, total bytes printed, truncated?) over every start."""
        return "".join(self._output_text), self._output_total, self._output_truncated


def describe_exit(code: int | None) -> str:
    if code is None:
        return "the process is still running"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the process was killed by {name}"
    return f"the process exited with status {code}"
