"""``grader.check("e1")`` in a student's notebook: the public checks, in the live kernel.

Otter-Grader's convention: the result shows as a small HTML table in Jupyter
and as text elsewhere. Only the assignment's public checks run: no
reference, no hidden inputs. The checks are found in this order: the file
named by ``$GRADER_PUBLIC_CHECKS``; ``public_checks.py`` next to the
notebook (the working directory); the course's ``assignments/<id>/``.

The assignment ``<id>`` is ``check(assignment=…)``, else the one the running
notebook's metadata names (Jupyter tells the kernel its notebook's path),
else the course's only assignment. Either way it must be an id of the course:
a path or ``..`` there is refused, as ``grade`` refuses it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..child.selfcheck import CheckResults, ItemCheck, load, run_item
from ..errors import GraderError


def _checks(assignment: str | None) -> dict[str, Any]:
    if assignment is not None:
        _assignment(assignment)  # a value the student passed is refused whichever file is used
    for path in _candidates(assignment):
        if path.is_file():
            return load(path.read_text(encoding="utf-8"), str(path))
    raise FileNotFoundError(
        "no public checks found: put public_checks.py (from the assignment's folder) next to this notebook"
    )


def _candidates(assignment: str | None) -> Iterator[Path]:
    """Where the public checks may be, in order; the course's copy (and so the assignment's id, which
    may mean reading the notebook) only once the others are not there."""
    if os.environ.get("GRADER_PUBLIC_CHECKS"):
        yield Path(os.environ["GRADER_PUBLIC_CHECKS"])
    yield Path.cwd() / "public_checks.py"
    from ..course.assignment import course_dir

    root = course_dir()
    if root is not None:
        yield root / "assignments" / _assignment(assignment) / "public_checks.py"


def _assignment(given: str | None) -> str:
    """The course's id of this notebook's assignment (never a path), or one clear line why not."""
    from ..course.assignment import declared_id, for_notebook

    try:
        if given is not None:
            return declared_id(given, "grader.check(assignment=…)")
        notebook = _this_notebook()
        declared = _declared_by(notebook) if notebook is not None else None
        return for_notebook(None, declared, str(notebook or "this notebook")).stem
    except GraderError as exc:
        raise ValueError(str(exc)) from None


def _this_notebook() -> Path | None:
    """The running notebook's file, where Jupyter says which it is."""
    named = os.environ.get("JPY_SESSION_NAME") or getattr(sys.modules.get("__main__"), "__session__", None)
    if isinstance(named, str) and named.endswith(".ipynb") and Path(named).is_file():
        return Path(named)
    return None


def _declared_by(notebook: Path) -> str | None:
    from ..notebook import read_notebook

    try:
        return read_notebook(notebook).assignment
    except GraderError:
        return None


def check(exercise: str, *, assignment: str | None = None, namespace: dict | None = None) -> CheckResults:
    """Runs the public checks of one exercise ("e1", …) on the functions defined so far."""
    checks = _checks(assignment)
    exercises: dict[str, list[str]] = checks["EXERCISES"]
    if exercise not in exercises:
        raise ValueError(f"no exercise {exercise!r}: the exercises are {', '.join(exercises)}")
    functions = namespace if namespace is not None else vars(sys.modules["__main__"])
    return CheckResults([ItemCheck(item, **run_item(checks, item, functions)) for item in exercises[exercise]])


def check_all(*, assignment: str | None = None, namespace: dict | None = None) -> CheckResults:
    """Runs every exercise's public checks."""
    checks = _checks(assignment)
    functions = namespace if namespace is not None else vars(sys.modules["__main__"])
    return CheckResults(
        [
            ItemCheck(item, **run_item(checks, item, functions))
            for items in checks["EXERCISES"].values()
            for item in items
        ]
    )
