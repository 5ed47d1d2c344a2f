"""How the untrusted child process is started, confined, watched and killed.

With ``bubblewrap`` (the default) the child runs in new user, network, pid,
ipc and uts namespaces, in its own session, with no capabilities, as uid
``nobody``, in a scrubbed environment, with private tmpfs mounts as its home,
working directory and /tmp, and read-only binds of only what Python and torch
need: /usr, the interpreter, its site-packages and the grader's ``child``
package. It cannot see the reference, the rubrics, the submission's folder or
the TA's home, and its network namespace has nothing in it but its own
loopback. Memory and process counts are limited by cgroups where the machine
lets us (rlimits otherwise), file sizes by RLIMIT_FSIZE and tmpfs sizes.

Run as root, the launcher first bind-mounts the interpreter's folders in a
private mount namespace at places ``nobody`` can traverse (they may live
under /root), then drops to ``nobody`` and starts bubblewrap unprivileged, so
the child is ``nobody`` on the host too, not just inside its namespace.

``none`` starts the child as a plain process (scrubbed environment, private
working directory, its own session, the same limits) for machines without
namespaces, only when asked. ``grade check`` without a sandbox (a student's
macOS, Windows or Linux laptop) starts it plainer still
(``grader.sandbox.plain``): nothing Linux-only is imported or called there.

Either way the child's stdout and stderr are drained by a thread into a
capped buffer, and killing is done from here: the whole process group, the
cgroups, the pid namespace.
"""

from __future__ import annotations

import functools
import glob
import json
import os
import shlex
import shutil
import signal
import site
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..child.wire import Connection
from ..errors import SandboxError
from .processes import owner_alive, reap_or_wait

if TYPE_CHECKING:
    from .cgroups import Cgroups  # Linux only: imported where a child is confined with them

# The choices of --sandbox and --device, the first of each the default everywhere (library and CLI).
SANDBOXES = (BUBBLEWRAP, NO_SANDBOX) = ("bubblewrap", "none")
DEVICES = ("auto", "cpu", "cuda")
_PR_SET_CHILD_SUBREAPER = 36
NOBODY = 65534
HOME = "/home/student"
CHILD_PACKAGE = Path(__file__).resolve().parent.parent / "child"
_INSIDE_PARENT = "/opt/grader"
_BOOT = "import sys; sys.path.append({parent!r}); from child.main import main; main({fd})"
_ENV_PASSTHROUGH = ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES")
_NVIDIA_DEVICES = ("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset")
_ETC = {
    "passwd": (
        f"root:x:0:0:root:/root:/usr/sbin/nologin\nstudent:x:{NOBODY}:{NOBODY}:student:{HOME}:/usr/sbin/nologin\n"
    ),
    "group": f"root:x:0:\nstudent:x:{NOBODY}:\n",
    "hostname": "sandbox\n",
}


@dataclass(frozen=True)
class Confinement:
    """What the child may use: which sandbox, and the limits the rubric sets."""

    sandbox: str = BUBBLEWRAP
    memory_bytes: int = 4 << 30
    processes: int = 64
    disk_bytes: int = 256 << 20
    cuda: bool = False


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
        text = b"".join(self._chunks).decode("utf-8", "replace")
        if self.truncated:
            text += f"\n[output truncated: {self.total - self.cap} more bytes were printed]\n"
        return text

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


@dataclass
class ChildProcess:
    proc: subprocess.Popen
    control: Connection
    output: CapturedOutput
    workdir: str
    cgroups: Cgroups | None
    pid_namespace: bool
    info: Any = None  # bubblewrap's --info-fd, read end: the host pid of the sandbox's init
    channel: Any = None  # where workers dial in instead of arriving as descriptors (sandbox.plain.Channel)
    host_pids: set[int] = field(default_factory=set)  # worker pids to kill, outside a pid namespace

    def _sandbox_init(self) -> int | None:
        if self.info is None:
            return None
        try:
            os.set_blocking(self.info.fileno(), False)
            text = self.info.read() or b""
        except (OSError, ValueError):
            return None
        try:
            pid = json.loads(text.decode("utf-8", "replace").split("}")[0] + "}").get("child-pid")
        except (ValueError, AttributeError):
            return None
        return pid if isinstance(pid, int) and pid > 1 else None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """Kills the child and everything it started, then cleans up.

        Inside bubblewrap the sandbox's init goes first: its death ends the
        pid namespace, and bubblewrap outside reaps it and exits, so nothing
        is left as a zombie for the machine's init to collect. Where the init
        went first by itself, it is reaped here (see ``become_subreaper``).
        """
        inner = self._sandbox_init()
        if inner is not None:
            try:
                os.kill(inner, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        groups = [self.proc.pid]
        if not self.pid_namespace:  # inside a pid namespace its teardown takes the workers along
            groups += sorted(self.host_pids)
        for group in groups if hasattr(os, "killpg") else ():  # Windows: the child alone, below
            try:
                os.killpg(group, signal.SIGKILL)
            except (ProcessLookupError, PermissionError, OSError):
                pass
        try:
            self.proc.kill()
        except OSError:
            pass
        if self.cgroups is not None:
            self.cgroups.kill_all(launcher=self.proc.pid)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if self.info is not None:
            self.info.close()
        if self.channel is not None:
            self.channel.close()
        self.control.close()
        if self.proc.stdout is not None:
            self.output.join(0.5)
            try:
                self.proc.stdout.close()
            except OSError:
                pass
        if self.cgroups is not None:
            self.cgroups.remove()
        if inner is not None:
            # When the notebook's process exits by itself, the sandbox's init reports it and
            # bubblewrap outside exits at once, without reaping the init: the init is orphaned,
            # to this process (the subreaper) where the kernel allows it. Reaped, or waited for.
            reap_or_wait({inner}, time.monotonic() + 5)
        shutil.rmtree(self.workdir, ignore_errors=True)


def child_environment(*, home: str, tmp: str) -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "USER": "student",
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": os.path.join(tmp, ".matplotlib"),
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


# -- is bubblewrap usable here? ---------------------------------------------------


@functools.lru_cache(maxsize=1)
def bubblewrap_problem() -> str | None:
    """None when bubblewrap can make the namespaces we need, else what is wrong."""
    if sys.platform != "linux":
        return f"bubblewrap needs Linux namespaces, and this is {sys.platform}"
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bwrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    if os.geteuid() == 0:
        for tool in ("unshare", "setpriv", "prlimit"):
            if shutil.which(tool) is None:
                return f"{tool} (util-linux) is not installed"
    probe = [
        bwrap, "--unshare-user", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc", "true",
    ]  # fmt: skip
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not run ({exc})"
    if done.returncode != 0:
        line = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return f"bwrap cannot create namespaces here ({line})"
    return None


def require(sandbox: str) -> None:
    if sandbox not in SANDBOXES:
        raise ValueError(f"sandbox must be one of {SANDBOXES}")
    if sandbox == BUBBLEWRAP:
        problem = bubblewrap_problem()
        if problem is not None:
            raise SandboxError(
                f"the sandbox is not available: {problem}; fix that, or pass --sandbox none "
                f"to run the notebook without isolation"
            )


# -- starting the child -----------------------------------------------------------


def start_child(*, confinement: Confinement, output_cap: int, max_frame_bytes: int, boot: str = _BOOT) -> ChildProcess:
    """A cold child; ``boot`` is the Python it runs (the zygote's differs), formatted with its folders."""
    from .cgroups import Cgroups

    sweep_stale_workdirs()
    become_subreaper()
    workdir = tempfile.mkdtemp(prefix=f"grader-child-{os.getpid()}-")
    os.chmod(workdir, 0o755)  # the sandboxed launcher runs as nobody and must traverse it
    ours, theirs = socket.socketpair()
    cgroups = Cgroups.create(memory_bytes=confinement.memory_bytes, processes=confinement.processes)
    bubblewrap = confinement.sandbox == BUBBLEWRAP
    info_read, info_write = os.pipe() if bubblewrap else (-1, -1)
    passed = (theirs.fileno(), info_write) if bubblewrap else (theirs.fileno(),)
    try:
        if bubblewrap:
            command = _bubblewrap_launcher(workdir, theirs.fileno(), info_write, confinement, cgroups, boot)
        else:
            command = _plain_launcher(workdir, theirs.fileno(), confinement, cgroups)
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=child_environment(home=workdir, tmp=workdir) if not bubblewrap else {"PATH": "/usr/bin:/bin"},
            start_new_session=True,
            pass_fds=passed,
        )
    except OSError as exc:
        ours.close()
        theirs.close()
        for fd in (info_read, info_write):
            if fd >= 0:
                os.close(fd)
        if cgroups is not None:
            cgroups.remove()
        shutil.rmtree(workdir, ignore_errors=True)
        raise SandboxError(f"could not start the child process: {exc}") from None
    theirs.close()
    if info_write >= 0:
        os.close(info_write)
    assert proc.stdout is not None
    return ChildProcess(
        proc=proc,
        control=Connection(ours, max_frame_bytes=max_frame_bytes),
        output=CapturedOutput(proc.stdout, output_cap),
        workdir=workdir,
        cgroups=cgroups,
        pid_namespace=bubblewrap,
        info=os.fdopen(info_read, "rb", buffering=0) if info_read >= 0 else None,
    )


@functools.lru_cache(maxsize=1)
def become_subreaper() -> None:
    """Makes this process the reaper of the sandbox's orphans (Linux's PR_SET_CHILD_SUBREAPER).

    Bubblewrap outside the sandbox exits as soon as its init reports the
    notebook's process gone, leaving the init (and, with ``--sandbox none``,
    a killed daemon) without a parent. Handed to us rather than to the
    machine's init, they are reaped at once by ``reap_or_wait``, not whenever
    that init gets round to it, and nothing is left behind when grading ends.
    """
    if sys.platform != "linux":
        return  # orphans go to init as before
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


@functools.lru_cache(maxsize=1)
def sweep_stale_workdirs() -> None:
    """Removes the working folders of graders killed before they could (``grader-child-<pid>-…``)."""
    for path in Path(tempfile.gettempdir()).glob("grader-child-*"):
        owner = path.name.split("-")[2]
        if owner.isdigit() and not owner_alive(owner):
            shutil.rmtree(path, ignore_errors=True)


def _limits(confinement: Confinement, cgroups: Cgroups | None) -> list[str]:
    """prlimit options: what the cgroups do not already cover."""
    options = ["--core=0", f"--fsize={confinement.disk_bytes}"]
    if cgroups is None:
        if not confinement.cuda:  # CUDA reserves address space on the scale of the device's memory
            options.append(f"--as={max(confinement.memory_bytes, 3 << 29)}")
        options.append(f"--nproc={confinement.processes}")
    return options


def _join_cgroups(cgroups: Cgroups | None) -> list[str]:
    return cgroups.join_commands() if cgroups is not None else []


def _plain_launcher(workdir: str, fd: int, confinement: Confinement, cgroups: Cgroups | None) -> list[str]:
    python = [sys.executable, "-s", "-P", "-c", _BOOT.format(parent=str(CHILD_PACKAGE.parent), fd=fd)]
    script = _join_cgroups(cgroups) + [shlex.join(["exec", "prlimit", *_limits(confinement, cgroups), "--", *python])]
    if shutil.which("prlimit") is None:
        script[-1] = shlex.join(["exec", *python])
    return ["/bin/sh", "-c", "\n".join(["set -e", *script])]


def _python_trees() -> list[str]:
    """The folders the interpreter and its packages live in, outside /usr."""
    candidates = {sys.base_prefix, sys.prefix, *site.getsitepackages()}
    candidates |= {os.path.realpath(p) for p in list(candidates)}
    candidates.add(os.path.dirname(os.path.realpath(sys.executable)))
    trees = sorted(p for p in candidates if os.path.isdir(p) and not p.startswith("/usr/"))
    return [p for p in trees if not any(p != other and p.startswith(other + "/") for other in trees)]


def _bubblewrap_launcher(
    workdir: str, fd: int, info_fd: int, confinement: Confinement, cgroups: Cgroups | None, boot: str = _BOOT
) -> list[str]:
    root = os.geteuid() == 0
    etc = Path(workdir, "etc")
    etc.mkdir()
    for name, text in _ETC.items():
        etc.joinpath(name).write_text(text)
    binds = [(tree, tree) for tree in _python_trees()] + [(str(CHILD_PACKAGE), f"{_INSIDE_PARENT}/child")]
    # A tree inside a folder that a warm child mounts afresh (a checkout under /tmp) is also
    # bound at a stash outside it, from where the child binds it back (grader.child.zygote).
    keep = [
        (f"{_INSIDE_PARENT}/keep/{i}", inside)
        for i, (_, inside) in enumerate(binds)
        if any(inside == top or inside.startswith(top + "/") for top in ("/tmp", HOME, "/dev/shm"))
    ]
    binds += [(source, stash) for (stash, inside) in keep for source, bound in binds if bound == inside]
    mounts: list[str] = []
    if root:
        # Sources may sit under /root (0700): bind them to traversable places in a
        # private mount namespace first, so that bubblewrap can run as nobody.
        staged = []
        for i, (source, inside) in enumerate(binds):
            point = Path(workdir, "mnt", str(i))
            point.mkdir(parents=True)
            mounts.append(shlex.join(["mount", "--bind", source, str(point)]))
            staged.append((str(point), inside))
        binds = staged
    args = [
        "bwrap",
        "--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY),
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--new-session", "--die-with-parent", "--info-fd", str(info_fd),
        "--ro-bind", "/usr", "/usr",
    ]  # fmt: skip
    for link in ("bin", "lib", "lib64", "sbin"):
        target = Path("/", link)
        if target.is_symlink():
            args += ["--symlink", os.readlink(target), f"/{link}"]
        elif target.is_dir():
            args += ["--ro-bind", str(target), f"/{link}"]
    for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime"):
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    for name in _ETC:
        args += ["--ro-bind", str(etc / name), f"/etc/{name}"]
    args += ["--proc", "/proc", "--dev", "/dev"]
    # POSIX shared memory: a tmpfs of its own with the disk limit (the zygote mounts a fresh one per
    # submission); /dev itself is made read-only below, so nothing outlives a submission there.
    args += ["--size", str(confinement.disk_bytes), "--tmpfs", "/dev/shm"]
    args += ["--size", str(confinement.disk_bytes), "--tmpfs", "/tmp"]
    args += ["--size", str(confinement.disk_bytes), "--tmpfs", HOME]
    for source, inside in binds:
        args += ["--ro-bind", source, inside]
    if confinement.cuda:
        devices = [*_NVIDIA_DEVICES, *sorted(glob.glob("/dev/nvidia[0-9]*"))]
        for device in devices:
            args += ["--dev-bind-try", device, device]
        args += ["--ro-bind-try", "/sys", "/sys"]
    # The skeleton bubblewrap built, and /dev (device nodes stay usable): only /tmp, the home and
    # /dev/shm stay writable, each with the disk limit.
    args += ["--remount-ro", "/", "--remount-ro", "/dev"]
    args += ["--chdir", HOME, "--clearenv"]
    for name, value in child_environment(home=HOME, tmp="/tmp").items():
        args += ["--setenv", name, value]
    args += [sys.executable, "-s", "-P", "-c", boot.format(parent=_INSIDE_PARENT, fd=fd, home=HOME, keep=keep)]

    limits = ["prlimit", *_limits(confinement, cgroups), "--"]
    if root:
        drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all"]
        script = ["set -e", *_join_cgroups(cgroups), *mounts, shlex.join(["exec", *limits, *drop, *args])]
        return ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", "\n".join(script)]
    script = ["set -e", *_join_cgroups(cgroups), shlex.join(["exec", *limits, *args])]
    return ["/bin/sh", "-c", "\n".join(script)]
