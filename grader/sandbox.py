"""How the untrusted child process is started, watched and killed.

The child gets a scrubbed environment, a private temporary directory as its
home and working directory, no terminal (its own session, stdin from
/dev/null), and one control socket. Its stdout and stderr are drained by a
thread into a capped buffer, so a flood can neither block it nor fill memory.
Killing is always done from here, to the whole process group.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from .child.wire import Connection
from .errors import SandboxError

CHILD_PACKAGE_PARENT = Path(__file__).resolve().parent
_BOOT = "import sys; sys.path.append({parent!r}); from child.main import main; main({fd})"
_ENV_PASSTHROUGH = ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES")


class CapturedOutput:
    """What the child printed, kept up to a cap, with the total it printed."""

    def __init__(self, stream, cap: int) -> None:
        self.cap = cap
        self._chunks: list[bytes] = []
        self._kept = 0
        self.total = 0
        self._thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self._thread.start()

    def _drain(self, stream) -> None:
        try:
            while True:
                chunk = stream.read1(1 << 16)
                if not chunk:
                    break
                self.total += len(chunk)
                room = self.cap - self._kept
                if room > 0:
                    self._chunks.append(chunk[:room])
                    self._kept += min(room, len(chunk))
        except (OSError, ValueError):
            pass

    @property
    def truncated(self) -> bool:
        return self.total > self.cap

    def text(self) -> str:
        return b"".join(self._chunks).decode("utf-8", "replace")

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


@dataclass
class ChildProcess:
    proc: subprocess.Popen
    control: Connection
    output: CapturedOutput
    workdir: str

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """Kills the child and everything in its process group, then cleans up."""
        for target in (lambda: os.killpg(self.proc.pid, signal.SIGKILL), self.proc.kill):
            try:
                target()
            except (ProcessLookupError, PermissionError, OSError):
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.control.close()
        if self.proc.stdout is not None:
            self.output.join(0.5)
            try:
                self.proc.stdout.close()
            except OSError:
                pass
        shutil.rmtree(self.workdir, ignore_errors=True)


def child_environment(workdir: str) -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": workdir,
        "TMPDIR": workdir,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": os.path.join(workdir, ".matplotlib"),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "PYTORCH_NVML_BASED_CUDA_CHECK": "1",
        # Defence in depth for a notebook that shells out to pip by itself:
        # no index, no configuration, nothing to install from.
        "PIP_NO_INDEX": "1",
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_FIND_LINKS": "",
        "NO_COLOR": "1",
        "TERM": "dumb",
    }
    for name in _ENV_PASSTHROUGH:
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def start_child(*, output_cap: int, max_frame_bytes: int) -> ChildProcess:
    workdir = tempfile.mkdtemp(prefix="grader-child-")
    ours, theirs = socket.socketpair()
    boot = _BOOT.format(parent=str(CHILD_PACKAGE_PARENT), fd=theirs.fileno())
    try:
        proc = subprocess.Popen(
            [sys.executable, "-s", "-P", "-c", boot],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=child_environment(workdir),
            start_new_session=True,
            pass_fds=(theirs.fileno(),),
        )
    except OSError as exc:
        ours.close()
        theirs.close()
        shutil.rmtree(workdir, ignore_errors=True)
        raise SandboxError(f"could not start the child process: {exc}") from None
    theirs.close()
    assert proc.stdout is not None
    return ChildProcess(
        proc=proc,
        control=Connection(ours, max_frame_bytes=max_frame_bytes),
        output=CapturedOutput(proc.stdout, output_cap),
        workdir=workdir,
    )
