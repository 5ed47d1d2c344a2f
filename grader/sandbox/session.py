"""One submission's untrusted side, seen from the trusted side.

A session starts the child (``launch``), has it execute the notebook
(``grader.sandbox.execution``), and then opens one worker per rubric item,
watches it, kills it when it runs past its deadline, and tells whose fault a
dead notebook process was. When the child dies or hangs, it is started again
and the notebook runs again without the cell that killed or hung it, so one
bad cell or one bad function costs only what it touched.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass

from ..child.wire import Connection, FrameTimeout, WireError
from ..course.rubric import Limits
from ..i18n import N_, _
from .execution import (
    NotebookExecution,
    NotebookRun,
    WorkerUnavailable,
    _event,
    _int,
    describe_exit,
)
from .launch import BUBBLEWRAP, ChildProcess, Confinement, start_child

# Compared as it is (a worker's detail); translated where feedback shows it.
DIED_UNDER = N_("the notebook's whole process died while it ran")


# Fork every child from a warm zygote, as batch workers do; set by tests to put the
# single-notebook suites (samples, adversarial) through that path too.
WARM_CHILDREN = os.environ.get("GRADER_WARM_CHILDREN") == "1"
OPEN_SECONDS = 10.0
KILL_CONFIRM_SECONDS = 2.0
PING_SECONDS = 5.0


class OpenFailed(WorkerUnavailable):
    """The child is up but could not fork a worker (the process limit, most likely)."""


@dataclass
class Worker:
    conn: Connection
    pid: int  # in the child's pid namespace: numbers repeat in every new child
    inline: bool
    generation: int = 0  # which start of the child it belongs to
    next_id: int = 0


class Session(NotebookExecution):
    def __init__(
        self, *, device: str, limits: Limits, sandbox: str = BUBBLEWRAP, warm: bool = False, plain: bool = False
    ) -> None:
        if plain and sandbox == BUBBLEWRAP:
            raise ValueError("a plain child runs without a sandbox")
        # Fork children from this process's zygote where that is as safe (grader.zygote).
        self._warm = warm or WARM_CHILDREN
        # Start each child as a plain process of any OS (grade check without a sandbox; sandbox.plain).
        self._plain = plain
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
        self.answer_bytes = 0  # of the answers every worker of this notebook sent (calls.ANSWERS_KEPT_BYTES)
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
        if self._plain:
            from .plain import start_plain

            child = start_plain(output_cap=output_cap, max_frame_bytes=limits.frame_bytes)
        elif self._warm:
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
                    raise WorkerUnavailable(_("the notebook's process could not start a worker")) from None

    def _open(self) -> Worker:
        assert self._child is not None
        control = self._child.control
        control.send({"op": "open"}, deadline=time.monotonic() + OPEN_SECONDS)
        deadline = time.monotonic() + OPEN_SECONDS
        while True:
            header, _blobs = control.recv(deadline=deadline)
            if self._note_event(header):
                continue
            if header.get("ev") == "opened":
                break
            if header.get("ev") == "open_failed":
                self.new_limit_hits()
                raise OpenFailed(
                    _("no process could be started for it ({error})").format(error=str(header.get("error"))[:200])
                )
        sock = self._worker_socket(self._child, deadline)
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

    @staticmethod
    def _worker_socket(child: ChildProcess, deadline: float) -> socket.socket:
        """The opened worker's socket: dialled in (``sandbox.plain.Channel``), or passed as a descriptor."""
        if child.channel is not None:
            return child.channel.accept(deadline, alive=child.alive)
        fd = child.control.take_fd()
        if fd is None:
            raise WireError("no worker socket arrived")
        sock = socket.socket(fileno=fd)
        if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
            sock.close()
            raise WireError("the worker socket is not a Unix stream socket")
        return sock

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
                header, _blobs = control.recv(deadline=deadline)
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
            text = self._child_exit_text() if self._child is not None else _("the process is gone")
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
        return self._exits.get(key, _("the process went away"))

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
