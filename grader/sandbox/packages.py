"""Are the course's packages importable where the notebooks run?

A rubric's ``packages:`` lists what students may import beyond torch, numpy
and matplotlib (``sklearn`` from ``scikit-learn``, ``torchviz``). A notebook
that imports one the grading machine lacks would lose items for the machine's
fault, not the student's. So before a notebook runs, the interpreter that
runs the sandboxed child (this one, ``sys.executable``, started as the
launcher starts it: ``-s -P``, the child's scrubbed environment, a private
working folder) is asked, in a subprocess, whether it finds each module
(``importlib.util.find_spec`` of a top-level name: nothing is imported, and no
student code is anywhere near). Under bubblewrap a module must also lie in the
folders the sandbox shows the child. What is missing is refused in one line
with the pip command that installs it, exit status 3: the grader cannot grade
here (like a missing sandbox), and it is nobody's input that is wrong.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..errors import ExitCode, GraderError
from .launch import BUBBLEWRAP, _python_trees, child_environment

if TYPE_CHECKING:
    from ..course.rubric import Package

# Run by the interpreter that runs the notebooks: for each module, where it lives ([]: built in), or null.
_FIND = """\
import importlib.util, json, sys
found = {}
for name in json.loads(sys.argv[1]):
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        found[name] = None
    else:
        places = list(spec.submodule_search_locations or ()) or [spec.origin]
        found[name] = [str(p) for p in places if isinstance(p, str) and p.startswith("/")]  # []: built in
print(json.dumps(found))
"""
_SYSTEM = ("/usr", "/lib", "/lib64")  # bound read-only into the sandbox besides the interpreter's trees
_TIMEOUT_S = 60.0


class MissingPackages(GraderError):
    """A package the rubric lists is not importable where the notebooks run: the machine needs set-up."""

    exit_code = ExitCode.INTERNAL


def require_packages(packages: Sequence[Package], *, sandbox: str) -> None:
    """Refuses, in one line with the pip command, when a module of ``packages`` is not importable in the child."""
    packages = list({p.module: p for p in packages}.values())  # several rubrics may list one module
    if not packages:
        return
    found = _find(tuple(sorted(p.module for p in packages)))
    visible = _visible_roots() if sandbox == BUBBLEWRAP else None
    missing, hidden = [], []
    for package in packages:
        places = found.get(package.module)
        if places is None:
            missing.append(package)
        elif visible is not None and places and not any(_inside(place, visible) for place in places):
            hidden.append((package, places[0]))
    if not missing and not hidden:
        return
    python = shlex.quote(sys.executable)
    what = [p.module for p in missing] + [
        f"{p.module} (at {where}, outside what the sandbox shows)" for p, where in hidden
    ]
    pip = shlex.join(dict.fromkeys(p.pip for p in [*missing, *(p for p, _ in hidden)]))
    raise MissingPackages(
        f"the rubric's packages are not importable where the notebooks run ({python}): {', '.join(what)}; "
        f"install them with: {python} -m pip install {pip}"
    )


@functools.lru_cache(maxsize=8)
def _find(modules: tuple[str, ...]) -> dict[str, list[str] | None]:
    """Where the child's interpreter finds each module (None: nowhere). Asked once per process."""
    command = [sys.executable, "-s", "-P", "-c", _FIND, json.dumps(list(modules))]
    with tempfile.TemporaryDirectory(prefix="grader-packages-") as home:
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                cwd=home,
                env=child_environment(home=home, tmp=home),
                stdin=subprocess.DEVNULL,
                timeout=_TIMEOUT_S,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise _cannot_ask(f"{type(exc).__name__}: {exc}") from None
    if done.returncode != 0:
        raise _cannot_ask((done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1])
    try:
        found = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise _cannot_ask(f"unexpected answer {done.stdout[:200]!r}") from None
    return {name: found.get(name) for name in modules}


def _cannot_ask(why: str) -> MissingPackages:
    return MissingPackages(f"cannot ask {sys.executable} which of the rubric's packages it has: {why}")


def _visible_roots() -> tuple[str, ...]:
    """The folders bubblewrap binds into the sandbox that packages can live in (see launch.py)."""
    return tuple(os.path.realpath(p) for p in (*_SYSTEM, *_python_trees()))


def _inside(place: str, roots: tuple[str, ...]) -> bool:
    real = os.path.realpath(place)
    return any(real == root or real.startswith(root.rstrip("/") + "/") for root in roots)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m grader.sandbox.packages ASSIGNMENT``: the pip names of the rubric's ``packages:``, one a line.

    ASSIGNMENT is what ``grade --assignment`` takes (an id, a rubric file, a bundle). The output is a
    requirements file: the CI action installs it with ``pip install -r`` before grading.
    """
    from ..course.assignment import resolve
    from ..course.rubric import load_rubric

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python -m grader.sandbox.packages ASSIGNMENT (an id, a rubric file or a bundle)", file=sys.stderr)
        return ExitCode.USAGE
    try:
        rubric = load_rubric(resolve(args[0]))
    except GraderError as exc:
        print(f"grade: error: {exc}", file=sys.stderr)
        return exc.exit_code
    for pip in dict.fromkeys(package.pip for package in rubric.packages):
        print(pip)
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
