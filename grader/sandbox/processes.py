"""Is a process still there, and waiting for processes to go: what every POSIX system has.

Kept apart from ``cgroups`` so that a child started without a sandbox (``plain``,
on macOS as on Linux) needs nothing Linux-only to be watched and cleaned up after.
"""

from __future__ import annotations

import os
import time


def owner_alive(owner: str) -> bool:
    """Whether the grader whose pid is ``owner`` (as written in a name it made) still runs."""
    # An older name without its owner is stale once empty.
    return owner.isdigit() and _exists(int(owner))


def _exists(pid: int) -> bool:
    if os.name != "posix":
        return True  # Windows' os.kill(pid, 0) terminates the process: never ask there, never sweep
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_or_wait(pids: set[int], deadline: float) -> bool:
    """Waits (until the ``time.monotonic()`` deadline) for these processes to be gone; True if they are.

    One that is this process's child (an orphan handed to it as its subreaper,
    or as a container's init) is reaped here; any other by its own parent.
    Never pass a pid a ``Popen`` owns: its exit status would be lost to it.
    """
    left = set(pids)
    while left:
        for pid in sorted(left):
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    left.discard(pid)
            except ChildProcessError:
                if not _exists(pid):
                    left.discard(pid)
        if left and time.monotonic() > deadline:
            return False
        if left:
            time.sleep(0.01)
    return True
