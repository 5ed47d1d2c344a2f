"""The child as a plain process of any OS: ``grade check`` on a student's own machine.

A self-check runs the student's own notebook on the student's own computer,
most often macOS or Windows, where bubblewrap does not exist. Without a
sandbox it is started here with only what every OS offers: the interpreter
started directly (no shell, no ``prlimit``), a scrubbed environment, a private
working folder, its own session where there are sessions, and the control
socket passed as on Linux. Nothing Linux-only is imported or called (cgroups,
``prctl``, namespaces, ``resource``, ``/proc``): the time limits hold as
everywhere (the trusted side keeps every deadline and kills the child), the
memory and process limits do not. ``grade`` and ``grade batch`` never come here.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile

from ..child.wire import Connection
from ..errors import SandboxError
from ..i18n import _
from .launch import _BOOT, CHILD_PACKAGE, CapturedOutput, ChildProcess, child_environment, sweep_stale_workdirs


def require_plain() -> None:
    """Refuses, in one line for the student, where a plain child cannot be started: not a POSIX system.

    The worker sockets travel between the processes as Unix file descriptors (``child.wire``), which
    Windows does not have; ``grader.check()`` runs the same checks inside the notebook there.
    """
    if os.name != "posix" or not hasattr(socket, "AF_UNIX") or not hasattr(socket.socket, "sendmsg"):
        raise SandboxError(
            _(
                "grade check cannot run a notebook on {platform} yet: run grader.check_all() in the "
                "notebook itself, or grade check under WSL"
            ).format(platform=sys.platform)
        )


def _python() -> list[str]:
    # -P (3.11+) keeps the working folder off sys.path; -s the student's user site-packages.
    return [sys.executable, "-s", *(["-P"] if sys.version_info >= (3, 11) else [])]


def start_plain(*, output_cap: int, max_frame_bytes: int) -> ChildProcess:
    require_plain()
    sweep_stale_workdirs()
    workdir = tempfile.mkdtemp(prefix=f"grader-child-{os.getpid()}-")
    ours, theirs = socket.socketpair()
    env = child_environment(home=workdir, tmp=workdir)
    if sys.platform == "darwin":
        # The workers are fork()s of the notebook's process: macOS would abort one that forks
        # while a framework initialises in another thread.
        env["OBJC_DISABLE_INITIALIZE_FORK_SAFETY"] = "YES"
    boot = _BOOT.format(parent=str(CHILD_PACKAGE.parent), fd=theirs.fileno())
    try:
        proc = subprocess.Popen(
            [*_python(), "-c", boot],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=env,
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
        cgroups=None,
        pid_namespace=False,
    )
