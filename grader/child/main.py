"""The untrusted side: execute the notebook, then serve calls.

Started by the trusted side with a control socket whose descriptor it is given, or, where
descriptors cannot travel between processes (Windows), with a loopback port to dial and the
token to present there (``grader.sandbox.plain``). It runs the notebook's cells once,
reporting each, and then becomes a small server:

- ``open``: start a worker for one rubric item. On the CPU the worker is a
  fork of this process, so every item starts from the state the notebook
  left and nothing one item does (globals changed, grad mode left off, a
  crash) reaches another. The worker's socket goes to the trusted side over
  the control socket. With CUDA, which does not survive ``fork()``, and where
  there is no ``fork()`` or no descriptor passing, this process serves the
  item itself, on a connection of its own (dialled, where it was dialled).
- ``kill``: kill a worker (the trusted side's deadline passed).
- ``quit``.

Nothing here is trusted: the notebook ran in this very interpreter and may
have changed anything in it. The trusted side enforces every deadline itself
and kills the whole process tree when this side does not behave.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sys
from typing import Any


def _flush_std() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _tasks() -> int:
    """Threads of this process plus the other processes in sight: what counts toward the process limit."""
    try:
        threads = len(os.listdir("/proc/self/task"))
        processes = sum(1 for name in os.listdir("/proc") if name.isdigit())
    except OSError:
        return 0
    return threads + processes


def _resolve_device(asked: str) -> str:
    import torch

    if asked == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return asked


# The modules that observe and answer, as they were before the notebook ran: restored before every
# request, so a notebook that rebinds their names (child.probe.run_call, found in sys.modules) does not
# change what is observed or sent.
_PRISTINE: list[tuple[dict, dict]] = []
_MODULES: dict = {}  # the probe and the wire by name, not looked up in sys.modules again


_CLASSES: list[tuple[type, Any, dict, int]] = []  # their own classes' attributes (Connection.send), the same way
_TABLES: list[tuple[dict, tuple]] = []  # and the contents of their module-level dicts (the catalogue)
_NOT_ATTRIBUTES = ("__dict__", "__weakref__")  # a class's descriptors of its instances' state, never set


def _keep_pristine(*modules) -> None:
    _MODULES.update((module.__name__.rpartition(".")[2], module) for module in modules)
    _PRISTINE.extend((module.__dict__, dict(module.__dict__)) for module in modules)
    tables: dict[int, dict] = {}
    for module in modules:
        for name, value in list(vars(module).items()):
            if isinstance(value, type) and value.__module__ == module.__name__:
                live = vars(value)
                attributes = {k: v for k, v in live.items() if k not in _NOT_ATTRIBUTES}
                _CLASSES.append((value, live, attributes, len(live)))
            elif type(value) is dict and name != "__builtins__":
                tables[id(value)] = value
    _TABLES.extend((table, tuple(table.items())) for table in tables.values())


def _restore_pristine() -> None:
    """Puts back what the notebook changed. It runs around every call, so it only compares identities
    (never ``==``, which a notebook's object could answer) and rewrites only what differs."""
    for namespace, snapshot in _PRISTINE:
        if len(namespace) != len(snapshot):
            for name in [name for name in namespace if name not in snapshot]:
                del namespace[name]
        namespace.update(snapshot)
    for cls, live, attributes, size in _CLASSES:
        if len(live) == size and all(live.get(name) is value for name, value in attributes.items()):
            continue
        for name in [name for name in live if name not in attributes and name not in _NOT_ATTRIBUTES]:
            delattr(cls, name)
        for name, value in attributes.items():
            if live.get(name) is not value:
                setattr(cls, name, value)
    for table, items in _TABLES:
        if len(table) != len(items) or any(table.get(name) is not value for name, value in items):
            table.clear()
            table.update(items)


def _serve(conn, ns: dict, device: str) -> None:
    probe, PeerClosed = _MODULES["probe"], _MODULES["wire"].PeerClosed

    while True:
        try:
            header, blobs = conn.recv()
        except PeerClosed:
            return
        _restore_pristine()
        op = header.get("op")
        if op == "end":
            return
        if op == "selfcheck":
            conn.send({"id": header.get("id"), **_selfcheck(header, ns)})
            continue
        if op != "call":
            conn.send({"id": header.get("id"), "protocol_error": f"unknown op {op!r}"})
            continue
        fn = ns.get(header.get("fn"))
        if not callable(fn):
            conn.send({"id": header.get("id"), "missing": True})
            continue
        try:
            reply, out = probe.run_call(fn, header, blobs, device=device, restore=_restore_pristine)
        except probe.ProtocolError as exc:
            reply, out = {"protocol_error": str(exc)}, []
        reply["id"] = header.get("id")
        conn.queue(reply, out)  # packed now: a sys.stdout whose flush() edits the reply comes too late
        _flush_std()
        conn.flush()


def _selfcheck(header: dict, ns: dict) -> dict:
    from . import selfcheck

    try:
        checks = selfcheck.load(str(header.get("source", "")))
    except Exception as exc:
        return {"protocol_error": f"the public checks do not load: {type(exc).__name__}: {exc}"}
    result = selfcheck.run_item(checks, str(header.get("item", "")), ns, translations=header.get("translations"))
    _flush_std()
    return result


def _reap(conn, alive: set[int]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        alive.discard(pid)
        try:
            # What the worker started and left behind (a fork bomb's sleepers) goes
            # with it, or it would hold the sandbox's process budget for later items.
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if os.WIFSIGNALED(status):
            conn.send({"ev": "exited", "pid": pid, "signal": os.WTERMSIG(status)})
        else:
            conn.send({"ev": "exited", "pid": pid, "code": os.WEXITSTATUS(status)})


def _dial(port: int, token: bytes) -> socket.socket:
    """A connection to the trusted side's loopback port, introduced by the token it gave this process."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(token)
    return sock


def _open_worker(
    conn, ctrl: socket.socket, ns: dict, device: str, *, fork: bool, alive: set[int], dial: tuple[int, bytes] | None
) -> None:
    from .wire import Connection

    if dial is not None:  # no descriptors travel here, so no fork either: a dialled inline worker
        sock = _dial(*dial)
        conn.send({"ev": "opened", "pid": os.getpid(), "inline": True})
        _serve(Connection(sock), ns, device)
        sock.close()
        return
    try:
        ours, theirs = _socketpair()
    except OSError as exc:  # the notebook holds every descriptor it may open: say so and stay up
        conn.send({"ev": "open_failed", "error": f"{type(exc).__name__}: {exc}"[:300]})
        return
    if not fork:
        conn.send({"ev": "opened", "pid": os.getpid(), "inline": True}, fds=[theirs.fileno()])
        theirs.close()
        _serve(Connection(ours), ns, device)
        ours.close()
        return
    _flush_std()
    try:
        pid = os.fork()
    except OSError as exc:  # the process limit, most likely: say so and stay up
        ours.close()
        theirs.close()
        conn.send({"ev": "open_failed", "error": f"{type(exc).__name__}: {exc}"[:300]})
        return
    if pid == 0:
        try:
            os.setpgid(0, 0)
            ctrl.close()
            theirs.close()
            _serve(Connection(ours), ns, device)
            _flush_std()
        finally:
            os._exit(0)
    ours.close()
    alive.add(pid)
    conn.send({"ev": "opened", "pid": pid, "inline": False}, fds=[theirs.fileno()])
    theirs.close()
    _reserve_spares()


# Two descriptors kept aside before the notebook runs: a notebook that opens every descriptor it
# may (and keeps them) still leaves room for the socket pair of each item's worker.
_SPARES: list[int] = []


def _reserve_spares() -> None:
    while len(_SPARES) < 2:
        try:
            _SPARES.append(os.open(os.devnull, os.O_RDONLY))
        except OSError:
            return


def _socketpair() -> tuple[socket.socket, socket.socket]:
    try:
        return socket.socketpair()
    except OSError:
        if not _SPARES:
            raise
    for fd in _SPARES:
        try:
            os.close(fd)
        except OSError:
            pass
    _SPARES.clear()
    return socket.socketpair()


def main(control_fd: int = -1, *, port: int = 0) -> None:
    sys.argv = ["notebook.ipynb"]
    dial = None
    if port:
        # Dialled before torch loads, so the trusted side is not kept waiting for it; the token
        # leaves the environment before any of the notebook's code runs.
        dial = (port, os.environ.pop("GRADER_CHANNEL_TOKEN", "").encode())
        ctrl = _dial(*dial)
    import torch

    from . import cells, functions, probe, selfcheck, wire
    from .wire import Connection

    _keep_pristine(probe, wire, functions, selfcheck, sys.modules[__name__])
    _reserve_spares()

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # forked from a warm zygote (child.zygote), which set it already
    if dial is None:
        ctrl = socket.socket(fileno=control_fd)
    conn = Connection(ctrl)
    conn.send({"ev": "hello", "pid": os.getpid(), "torch": torch.__version__})
    load, _ = conn.recv()
    device = _resolve_device(load.get("device", "auto"))
    if device == "cuda" and not torch.cuda.is_available():
        conn.send(
            {
                "ev": "fatal",
                "message": "--device cuda: no CUDA device is available here (torch.cuda.is_available() is False)",
            }
        )
        os._exit(0)
    # CUDA does not survive fork(); the trusted side may also ask for inline
    # workers on the CPU (the tests do, to exercise the GPU runner's path).
    fork = device == "cpu" and not load.get("inline") and dial is None
    device_name = "cpu"
    if device == "cuda":
        device_name = torch.cuda.get_device_name(0)

    ns, shell = cells.make_namespace(lambda note: conn.send({"ev": "magic", **note}))
    # In a pid namespace every process in sight is the notebook's; elsewhere the count means nothing.
    count_tasks = bool(load.get("count_tasks"))
    baseline = _tasks() if count_tasks else 0
    skip = set(load.get("skip", []))
    for index, source in load["cells"]:
        if index in skip:
            continue
        conn.send({"ev": "cell", "phase": "start", "index": index})
        result = cells.run_cell(index, source, ns, shell)
        _flush_std()
        tasks = _tasks() - baseline if count_tasks else 0
        conn.send({"ev": "cell", "phase": "end", "index": index, "tasks": tasks, **result})
    torch.set_num_threads(1)
    conn.send(
        {
            "ev": "ready",
            "defined": cells.defined_callables(ns),
            "device": device,
            "device_name": device_name,
            "forked_workers": fork,
        }
    )

    alive: set[int] = set()  # forked workers not yet reaped: only these may be killed
    while True:
        if fork:
            _reap(conn, alive)
        readable, _, _ = select.select([ctrl], [], [], 0.05)
        if not readable:
            continue
        try:
            header, _ = conn.recv()
        except Exception:
            os._exit(0)
        op = header.get("op")
        if op == "open":
            _open_worker(conn, ctrl, ns, device, fork=fork, alive=alive, dial=dial)
        elif op == "kill":
            pid = int(header["pid"])
            if pid not in alive:
                continue  # already reaped: its pid may belong to someone else by now
            for kill in (os.killpg, os.kill):
                try:
                    kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        elif op == "ping":
            conn.send({"ev": "pong"})
        elif op == "quit":
            _flush_std()
            os._exit(0)
