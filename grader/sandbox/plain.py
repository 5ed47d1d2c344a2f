"""The child as a plain process of any OS: ``grade check`` on a student's own machine.

A self-check runs the student's own notebook on the student's own computer,
most often macOS or Windows, where bubblewrap does not exist. Without a
sandbox it is started here with only what every OS offers: the interpreter
started directly (no shell, no ``prlimit``), a scrubbed environment, a private
working folder, its own session (process group on Windows). Nothing
Linux-only is imported or called (cgroups, ``prctl``, namespaces, ``resource``,
``/proc``): the time limits hold as everywhere (the trusted side keeps every
deadline and kills the child), the memory and process limits do not.
``grade`` and ``grade batch`` never come here.

The two sides talk as on Linux, over a socket pair whose worker sockets travel
as descriptors, where the OS can pass descriptors (Linux, macOS). Windows
cannot, and has no ``fork()``: there the child dials a loopback port this side
listens on and presents a random token (``Channel``), for its control
connection and again for each worker, which it serves itself (inline workers,
as on a GPU). ``GRADER_LOOPBACK_CHANNEL=1`` takes that path on any OS, which is
how it is tested on Linux.
"""

from __future__ import annotations

import hmac
import os
import secrets
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from ..child.wire import Connection, WireError
from ..errors import SandboxError
from .launch import _BOOT, CHILD_PACKAGE, CapturedOutput, ChildProcess, child_environment, sweep_stale_workdirs

_DIALLED_BOOT = "import sys; sys.path.append({parent!r}); from child.main import main; main(port={port})"
_TOKEN_BYTES = 32  # hex digits of 16 random bytes, the first thing on every dialled connection
_DIAL_SECONDS = 30.0  # for the child's interpreter to start and dial; torch loads afterwards


def loopback_only() -> bool:
    """Whether the child must dial in over loopback TCP: no descriptor passing here (Windows), or asked."""
    return (
        not hasattr(socket, "AF_UNIX")
        or not hasattr(socket.socket, "sendmsg")
        or os.environ.get("GRADER_LOOPBACK_CHANNEL") == "1"
    )


class Channel:
    """A loopback port that only a holder of the token gets through: the child's control connection
    first, then one connection per worker."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.token = secrets.token_hex(_TOKEN_BYTES // 2)

    def accept(self, deadline: float, *, alive=lambda: True) -> socket.socket:
        """The next connection that presents the token before ``deadline``; others are closed unheard."""
        while time.monotonic() < deadline and alive():
            ready, _, _ = select.select([self.listener], [], [], min(0.1, max(0.0, deadline - time.monotonic())))
            if not ready:
                continue
            sock, _address = self.listener.accept()
            if self._introduced(sock, deadline):
                return sock
            sock.close()
        raise WireError("the notebook's process did not connect")

    def _introduced(self, sock: socket.socket, deadline: float) -> bool:
        presented = b""
        sock.settimeout(max(0.01, min(2.0, deadline - time.monotonic())))
        try:
            while len(presented) < _TOKEN_BYTES:
                chunk = sock.recv(_TOKEN_BYTES - len(presented))
                if not chunk:
                    return False
                presented += chunk
        except OSError:
            return False
        sock.settimeout(None)
        return hmac.compare_digest(presented, self.token.encode())

    def close(self) -> None:
        self.listener.close()


def _python() -> list[str]:
    # -P (3.11+) keeps the working folder off sys.path; -s the student's user site-packages.
    return [sys.executable, "-s", *(["-P"] if sys.version_info >= (3, 11) else [])]


def start_plain(*, output_cap: int, max_frame_bytes: int) -> ChildProcess:
    sweep_stale_workdirs()
    workdir = tempfile.mkdtemp(prefix=f"grader-child-{os.getpid()}-")
    env = child_environment(home=workdir, tmp=workdir)
    if sys.platform == "darwin":
        # The workers are fork()s of the notebook's process: macOS would abort one that forks
        # while a framework initialises in another thread.
        env["OBJC_DISABLE_INITIALIZE_FORK_SAFETY"] = "YES"
    if os.name == "nt":
        # What a Windows process needs to start at all (SYSTEMROOT for its sockets and random
        # numbers), the PATH that finds torch's (or conda's) DLLs, and UTF-8 as on Linux (a print of
        # "∂" into the pipe, an open() of a Polish text), where the ANSI code page would be the default.
        env.update({name: os.environ[name] for name in ("SYSTEMROOT", "WINDIR", "PATH") if name in os.environ})
        env.update(TEMP=workdir, TMP=workdir, USERPROFILE=workdir, PYTHONUTF8="1")
    channel = ours = theirs = None
    if loopback_only():
        channel = Channel()
        env["GRADER_CHANNEL_TOKEN"] = channel.token
        boot = _DIALLED_BOOT.format(parent=str(CHILD_PACKAGE.parent), port=channel.port)
        passed: tuple[int, ...] = ()
    else:
        ours, theirs = socket.socketpair()
        boot = _BOOT.format(parent=str(CHILD_PACKAGE.parent), fd=theirs.fileno())
        passed = (theirs.fileno(),)
    grouped = {"start_new_session": True} if os.name == "posix" else {"creationflags": _NEW_GROUP}
    try:
        proc = subprocess.Popen(
            [*_python(), "-c", boot],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=env,
            pass_fds=passed,
            **grouped,
        )
    except OSError as exc:
        for end in (ours, theirs, channel):
            if end is not None:
                end.close()
        shutil.rmtree(workdir, ignore_errors=True)
        raise SandboxError(f"could not start the child process: {exc}") from None
    assert proc.stdout is not None
    output = CapturedOutput(proc.stdout, output_cap)
    if theirs is not None:
        theirs.close()
    if channel is not None:
        try:
            ours = channel.accept(time.monotonic() + _DIAL_SECONDS, alive=lambda: proc.poll() is None)
        except WireError:  # the interpreter itself did not start: before any of the notebook ran
            proc.kill()
            proc.wait()
            output.join(1.0)
            channel.close()
            shutil.rmtree(workdir, ignore_errors=True)
            raise SandboxError(
                f"could not start the child process: it did not connect back ({output.text().strip()[-300:]})"
            ) from None
    assert ours is not None
    return ChildProcess(
        proc=proc,
        control=Connection(ours, max_frame_bytes=max_frame_bytes),
        output=output,
        workdir=workdir,
        cgroups=None,
        pid_namespace=False,
        channel=channel,
    )


_NEW_GROUP = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
