"""Memory and process limits for one sandbox, through cgroup v1 controllers.

The trusted side creates one ``memory`` and one ``pids`` cgroup per child,
below the cgroups this process is in, sets their limits, and the launcher
joins them before anything untrusted starts, so every process the notebook
makes is counted and can be found and killed. The kernel reports what was
hit: ``oom_kill`` in ``memory.oom_control``, ``max`` in ``pids.events``.

Where the controllers are not writable (cgroup v2 without delegation, no
root), ``Cgroups.create`` returns None and the sandbox falls back to rlimits.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from .processes import owner_alive, reap_or_wait

ROOT = Path("/sys/fs/cgroup")


def _own_path(controller: str) -> str | None:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return path
    return None


def _read_int(path: Path, key: str | None = None) -> int:
    try:
        text = path.read_text()
    except OSError:
        return 0
    if key is None:
        return int(text.strip() or 0)
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    return 0


def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _sweep_stale(parent: Path) -> None:
    """Removes the cgroups of graders that were killed before they could.

    A grader killed with SIGKILL (or a machine's session ending under it)
    cannot remove its cgroups; whatever the notebook left in them is killed
    here, by the next grader, and the empty cgroups removed.
    """
    try:
        found = [p for p in parent.glob("grader-*") if p.is_dir()]
    except OSError:
        return
    for path in found:
        owner = path.name.split("-")[1] if path.name.count("-") >= 2 else ""
        if owner_alive(owner):
            continue
        left = Cgroups._processes_in(path)
        if left and owner:
            _kill(left)
            time.sleep(0.05)
        try:
            path.rmdir()
        except OSError:
            pass  # still busy, or someone else's: left for the next sweep


@dataclass
class Cgroups:
    memory: Path
    pids: Path

    @classmethod
    def create(cls, *, memory_bytes: int, processes: int) -> Cgroups | None:
        name = f"grader-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        made: list[Path] = []
        try:
            paths = []
            for controller in ("memory", "pids"):
                own = _own_path(controller)
                base = ROOT / controller
                if own is None or not base.is_dir():
                    raise OSError(f"no cgroup v1 {controller} controller")
                _sweep_stale(base / own.lstrip("/"))
                path = base / own.lstrip("/") / name
                path.mkdir()
                made.append(path)
                paths.append(path)
            memory, pids = paths
            (memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
            swap = memory / "memory.memsw.limit_in_bytes"
            if swap.exists():
                swap.write_text(str(memory_bytes))  # no escaping the limit into swap
            (pids / "pids.max").write_text(str(processes))
        except OSError:
            for path in reversed(made):
                try:
                    path.rmdir()
                except OSError:
                    pass
            return None
        return cls(memory=memory, pids=pids)

    def join_commands(self) -> list[str]:
        """Shell lines with which the launcher moves itself (and so all it starts) in."""
        return [f"echo $$ > {path / 'cgroup.procs'}" for path in (self.memory, self.pids)]

    def oom_kills(self) -> int:
        return _read_int(self.memory / "memory.oom_control", "oom_kill")

    def process_limit_hits(self) -> int:
        return _read_int(self.pids / "pids.events", "max")

    @staticmethod
    def _processes_in(path: Path) -> list[int]:
        try:
            return [int(p) for p in (path / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def processes(self) -> list[int]:
        found: set[int] = set()
        for path in (self.memory, self.pids):
            found.update(self._processes_in(path))
        return sorted(found)

    def kill_all(self, *, wait: float = 3.0, launcher: int | None = None) -> bool:
        """Kills every process in the cgroups; True when none is left.

        A killed process leaves the cgroup as it exits, but stays a zombie until
        its parent reaps it: for an orphan of the sandbox that is this process
        (its subreaper) or the machine's init, which may take its time. It still
        counts as left behind, so the wait goes on until the processes killed
        here are gone from the machine; all but the ``launcher``, which the
        caller's ``Popen`` reaps.
        """
        deadline = time.monotonic() + wait
        killed: set[int] = set()
        while True:
            left = self.processes()
            if not left:
                break
            if time.monotonic() > deadline:
                return False
            _kill(left)
            killed.update(left)
            time.sleep(0.01)
        return reap_or_wait(killed - {launcher}, deadline)

    def remove(self) -> None:
        self.kill_all()
        for path in (self.memory, self.pids):
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
