"""Warm children: each submission's sandboxed child forked from a sandbox that has imported torch.

A cold child pays for a new interpreter and ``import torch`` (about 1.5 s of
CPU) on every submission. A batch worker instead keeps one *zygote*: a child
started the usual way (``grader.sandbox``) that imports torch and then only
forks (``grader.child.zygote``). Each fork gets its own cgroups (joined
before anything untrusted runs, through its host pid, which the kernel
reports with SCM_CREDENTIALS), its own nested user, mount, pid, network, ipc
and uts namespaces, a fresh tmpfs as /tmp and home, and no capabilities, so
submissions share nothing but read-only memory, as with cold children.

Only where that can hold: bubblewrap, the CPU (CUDA does not survive
``fork()``), cgroups to join and to kill by. Anything else, or a zygote that
fails, and the session starts a cold child as before.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
from dataclasses import dataclass

from ..child.wire import Connection
from .cgroups import Cgroups
from .launch import BUBBLEWRAP, CapturedOutput, ChildProcess, Confinement, start_child

BOOT = "import sys; sys.path.append({parent!r}); from child.zygote import serve; serve({fd}, {home!r}, {keep!r})"
READY_SECONDS = 90.0
HANDSHAKE_SECONDS = 10.0
_UCRED = struct.Struct("3i")


class ZygoteError(Exception):
    """The warm path is not available; the caller starts a cold child."""


class ForkedProcess:
    """What a session needs of a ``Popen`` for a child that is not our child: its host pid and its end."""

    def __init__(self, pid: int, handshake: socket.socket, stdout) -> None:
        self.pid = pid
        self.stdout = stdout
        self.returncode: int | None = None
        self._handshake = handshake
        try:
            self._pidfd: int | None = os.pidfd_open(pid)
        except OSError:
            self._pidfd = None

    def _ended(self, timeout: float) -> bool:
        if self._pidfd is None:
            return True
        ready, _, _ = select.select([self._pidfd], [], [], max(0.0, timeout))
        return bool(ready)

    def _collect(self) -> int:
        code = -signal.SIGKILL  # no report: the first fork was killed, with everything under it
        try:
            self._handshake.setblocking(False)
            data = self._handshake.recv(64)
            if data.startswith(b"s"):
                code = int(data[1:].decode() or -signal.SIGKILL)
        except (OSError, ValueError):
            pass
        self._handshake.close()
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        self.returncode = code
        return code

    def poll(self) -> int | None:
        if self.returncode is None and self._ended(0):
            return self._collect()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is not None:
            return self.returncode
        if not self._ended(1e9 if timeout is None else timeout):
            raise subprocess.TimeoutExpired("warm child", timeout or 0.0)
        return self._collect()

    def kill(self) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


@dataclass
class Zygote:
    child: ChildProcess
    key: Confinement

    @classmethod
    def start(cls, confinement: Confinement) -> Zygote:
        child = start_child(confinement=confinement, output_cap=1 << 16, max_frame_bytes=1 << 16, boot=BOOT)
        if child.cgroups is None:
            child.kill()
            raise ZygoteError("no cgroups to put each submission's child in")
        sock = child.control.sock
        sock.settimeout(READY_SECONDS)
        try:
            ready = sock.recv(16)
        except OSError:
            ready = b""
        if ready != b"ready\n":
            child.kill()
            raise ZygoteError(f"the zygote did not start: {child.output.text()[-300:]!r}")
        return cls(child=child, key=confinement)

    def alive(self) -> bool:
        return self.child.alive()

    def spawn(self, *, confinement: Confinement, output_cap: int, max_frame_bytes: int) -> ChildProcess:
        cgroups = Cgroups.create(memory_bytes=confinement.memory_bytes, processes=confinement.processes)
        if cgroups is None:
            raise ZygoteError("cgroups could not be made")
        ours, theirs = socket.socketpair()
        hs_ours, hs_theirs = socket.socketpair()
        hs_ours.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        output_read, output_write = os.pipe()
        workdir = tempfile.mkdtemp(prefix=f"grader-child-{os.getpid()}-")
        try:
            request = str(confinement.disk_bytes).encode()
            socket.send_fds(self.child.control.sock, [request], [theirs.fileno(), output_write, hs_theirs.fileno()])
        except OSError as exc:
            for thing in (ours, theirs, hs_ours, hs_theirs):
                thing.close()
            os.close(output_read)
            os.close(output_write)
            cgroups.remove()
            shutil.rmtree(workdir, ignore_errors=True)
            raise ZygoteError(f"the zygote is gone ({exc})") from None
        theirs.close()
        hs_theirs.close()
        os.close(output_write)
        stdout = os.fdopen(output_read, "rb")
        try:
            pid = self._join(hs_ours, cgroups)
        except ZygoteError:
            cgroups.remove()  # kills whatever got in
            ours.close()
            hs_ours.close()
            stdout.close()
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        return ChildProcess(
            proc=ForkedProcess(pid, hs_ours, stdout),  # type: ignore[arg-type]  # the Popen calls sessions use
            control=Connection(ours, max_frame_bytes=max_frame_bytes),
            output=CapturedOutput(stdout, output_cap),
            workdir=workdir,
            cgroups=cgroups,
            pid_namespace=True,
        )

    @staticmethod
    def _join(handshake: socket.socket, cgroups: Cgroups) -> int:
        """The fork's host pid into the submission's cgroups, before anything untrusted runs."""
        handshake.settimeout(HANDSHAKE_SECONDS)
        try:
            data, ancillary, _, _ = handshake.recvmsg(1, socket.CMSG_SPACE(_UCRED.size))
            pids = [
                _UCRED.unpack(bytes(payload[: _UCRED.size]))[0]
                for level, kind, payload in ancillary
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS
            ]
            if data != b"r" or not pids or pids[0] <= 0:
                raise ZygoteError("the zygote's fork did not report")
            pid = pids[0]
            for path in (cgroups.memory, cgroups.pids):
                (path / "cgroup.procs").write_text(str(pid))
            handshake.sendall(b"g")
            if handshake.recv(1) != b"k":
                raise ZygoteError("the zygote's fork could not build its namespaces")
        except OSError as exc:
            raise ZygoteError(f"the zygote's fork failed ({exc})") from None
        handshake.settimeout(None)
        return pid

    def close(self) -> None:
        self.child.kill()


_zygotes: dict[int, Zygote] = {}  # per process: a forked grading worker must not reuse its parent's
_broken: set[Confinement] = set()


def _close_at_exit() -> None:
    """This process's zygote goes when the process does: a pool worker leaves through
    multiprocessing's finalizers (not atexit), a Dask worker or ``grade`` through atexit."""
    import atexit
    from multiprocessing import util

    util.Finalize(None, close_zygotes, exitpriority=10)
    atexit.register(close_zygotes)


def spawn_warm(*, confinement: Confinement, output_cap: int, max_frame_bytes: int) -> ChildProcess | None:
    """A warm child for this confinement, or None where only a cold start will do."""
    if confinement.sandbox != BUBBLEWRAP or confinement.cuda or confinement in _broken:
        return None
    zygote = _zygotes.get(os.getpid())
    if zygote is not None and (zygote.key != confinement or not zygote.alive()):
        zygote.close()
        zygote = None
    for _ in range(2):  # a zygote that died is started again once
        try:
            if zygote is None:
                zygote = Zygote.start(confinement)
                if not any(pid == os.getpid() for pid in _zygotes):
                    _close_at_exit()
                _zygotes[os.getpid()] = zygote
            return zygote.spawn(confinement=confinement, output_cap=output_cap, max_frame_bytes=max_frame_bytes)
        except ZygoteError:
            if zygote is not None:
                zygote.close()
            _zygotes.pop(os.getpid(), None)
            zygote = None
    _broken.add(confinement)
    return None


def close_zygotes() -> None:
    zygote = _zygotes.pop(os.getpid(), None)
    if zygote is not None:
        zygote.close()
