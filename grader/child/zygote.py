"""A warm start for the untrusted side: fork each submission's child from here.

Started by the trusted side inside a bubblewrap sandbox like any child, this
process imports torch once (with one thread, before any tensor operation: an
OpenMP pool made before ``fork()`` deadlocks the forked children) and then
only forks. For each submission the trusted side sends a control socket, an
output pipe and a handshake socket; the fork then

1. reports on the handshake socket (the kernel attaches its host pid) and
   waits until the trusted side has moved it into the submission's cgroups;
2. enters new user, mount, pid, network, ipc and uts namespaces nested in the
   sandbox's, mounts a fresh, size-capped tmpfs on /tmp and the home folder
   and /dev/shm (nothing the previous submission wrote is visible) and a /proc that shows
   only the new pid namespace (this process is not even nameable from there);
3. forks the namespace's init, which forks the child proper: a new session,
   no capabilities at all, only the control socket and the output pipe open,
   then ``child.main.main``, exactly as a cold child.

The init reports the child's exit status back through the handshake socket
and exits with it, which ends the pid namespace and everything left in it.
Nothing secret is in this process: it never sees a rubric or a reference.
"""

from __future__ import annotations

import ctypes
import os
import select
import socket
import sys

_CLONE_NEWNS, _CLONE_NEWUTS, _CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
_CLONE_NEWUSER, _CLONE_NEWPID, _CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REMOUNT, _MS_BIND = 1, 2, 4, 8, 32, 4096
_MS_REC, _MS_PRIVATE = 1 << 14, 1 << 18
_PR_SET_DUMPABLE, _PR_CAPBSET_DROP, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 4, 24, 47, 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def _enter_namespaces(home: str, disk_bytes: int, keep: list[tuple[str, str]]) -> None:
    uid, gid = os.getuid(), os.getgid()
    flags = _CLONE_NEWUSER | _CLONE_NEWNS | _CLONE_NEWPID | _CLONE_NEWNET | _CLONE_NEWIPC | _CLONE_NEWUTS
    _check(_libc.unshare(flags), "unshare")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1\n")
    _write("/proc/self/gid_map", f"{gid} {gid} 1\n")
    _check(_libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None), "make / private")
    points = [("/tmp", "1777"), (home, "0700")]
    if os.path.isdir("/dev/shm"):
        points.append(("/dev/shm", "1777"))  # POSIX shared memory lives there, not in the ipc namespace
    for point, mode in points:
        options = f"size={disk_bytes},mode={mode},uid={uid},gid={gid}".encode()
        _check(_libc.mount(b"tmpfs", point.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, options), f"tmpfs {point}")
    for stash, inside in keep:  # the interpreter's folders that lived under those: bound back, read-only
        os.makedirs(inside, exist_ok=True)
        _check(_libc.mount(stash.encode(), inside.encode(), None, _MS_BIND | _MS_REC, None), f"bind {inside}")
        flags = _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV
        _libc.mount(None, inside.encode(), None, flags, None)  # the stash is read-only already; this is belt and braces
        if not os.statvfs(inside).f_flag & os.ST_RDONLY:
            raise OSError(f"{inside} is writable")


def _drop_capabilities() -> None:
    for cap in range(64):
        if _libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break  # past the last capability this kernel knows
    _libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable of both halves: all zero
    _check(_libc.capset(header, data), "capset")


def _child(control_fd: int, output_fd: int) -> None:
    """The submission's child: what a cold start would run, minus the imports."""
    os.setsid()
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    for fd in (null, output_fd):
        os.close(fd)
    os.closerange(3, control_fd)
    os.closerange(control_fd + 1, 1 << 16)
    _drop_capabilities()
    from child.main import main

    main(control_fd)


def _init(control_fd: int, output_fd: int, status_fd: int, home: str) -> None:
    """Pid 1 of the submission's namespace: mounts its /proc, starts the child, reaps, reports."""
    _libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)  # the child, same uid, cannot ptrace or read us
    _check(_libc.mount(b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None), "mount /proc")
    os.chdir(home)  # the fresh home: the old working folder belongs to the zygote's tmpfs
    pid = os.fork()
    if pid == 0:
        os.close(status_fd)
        code = 0
        try:
            _child(control_fd, output_fd)
        except BaseException:  # noqa: BLE001 - shown in the notebook's output, as a cold child's would be
            import traceback

            traceback.print_exc()
            sys.stderr.flush()
            code = 1
        finally:
            os._exit(code)
    os.close(control_fd)
    os.close(output_fd)
    while True:
        try:
            done, status = os.wait()
        except ChildProcessError:
            os._exit(0)
        if done == pid:
            os.write(status_fd, str(os.waitstatus_to_exitcode(status)).encode())
            os._exit(0)  # the namespace ends with its init: whatever the child left dies now


def _start(handshake: socket.socket, control_fd: int, output_fd: int, home: str, disk_bytes: int, keep: list) -> None:
    """The first fork: joins the cgroups, builds the namespaces, waits for init and reports."""
    handshake.sendall(b"r")  # the kernel attaches our host pid (SO_PASSCRED on the other end)
    if handshake.recv(1) != b"g":
        return
    _enter_namespaces(home, disk_bytes, keep)
    status_read, status_write = os.pipe()
    pid = os.fork()  # pid 1 of the new pid namespace
    if pid == 0:
        os.close(status_read)
        handshake.close()
        try:
            _init(control_fd, output_fd, status_write, home)
        finally:
            os._exit(127)
    os.close(status_write)
    os.close(control_fd)
    os.close(output_fd)
    handshake.sendall(b"k")  # started: from here on the trusted side talks to the child itself
    os.waitpid(pid, 0)
    code = os.read(status_read, 32) or b"-9"  # init killed: so was the child
    handshake.sendall(b"s" + code)


def serve(control_fd: int, home: str, keep: list[tuple[str, str]]) -> None:
    """Waits for fork requests: one byte with three descriptors (control, output, handshake) and a size."""
    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    import numpy  # noqa: F401  - what nearly every notebook imports next
    from child import cells, main, probe, wire  # noqa: F401

    try:
        import matplotlib.pyplot  # noqa: F401  - Agg, from MPLBACKEND
    except Exception:  # noqa: BLE001 - a broken matplotlib is the notebook's problem, later
        pass
    os.chdir("/")
    control = socket.socket(fileno=control_fd)
    control.sendall(b"ready\n")
    while True:
        ready, _, _ = select.select([control], [], [], 0.5)
        while True:  # reap first forks that are done
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
        if not ready:
            continue
        message, fds, _, _ = socket.recv_fds(control, 64, 3)
        if not message:
            os._exit(0)  # the trusted side is gone
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            continue
        disk_bytes = int(message.decode().strip() or 0)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            control.close()
            code = 1
            try:
                handshake = socket.socket(fileno=fds[2])
                _start(handshake, fds[0], fds[1], home, disk_bytes, keep)
                code = 0
            except BaseException:  # noqa: BLE001 - told to the trusted side by the missing report
                pass
            finally:
                os._exit(code)
        for fd in fds:
            os.close(fd)
