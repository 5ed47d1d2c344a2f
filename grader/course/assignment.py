"""Find an assignment and load its trusted parts: rubric and reference package.

Who may name what:

- The TA's command line (``--assignment``) names an assignment by id
  (``<id>``, looked up as ``rubrics/<id>.yaml`` in the course
  directory), by the path of its rubric file, or by an autograder bundle
  (``.zip``, see ``grader.bundle``). It always wins.
- A notebook's ``metadata.grader.assignment`` may only name an *id* the course
  has. A path, a bundle, anything with a separator or ``..``, a value that is
  not a string, or an id the course does not have is refused
  (``NotebookError``): a student's repository must never bring its own rubric,
  and so its own reference package, which is imported on the trusted side.
- With neither, the course's only assignment, when it has exactly one.

The course directory is ``$GRADER_COURSE`` if set, else the checkout this
grader runs from. It is never the submission's directory.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import os
import re
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from ..errors import AssignmentNotFound, NotebookError, RubricError
from .rubric import Item, Rubric, load_rubric

if TYPE_CHECKING:  # imported where a reference is loaded: choosing a rubric needs no hypothesis
    from ..authoring.api import Check, Misconception

# What an assignment id looks like: a file stem under rubrics/, never a path.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_SHOWN = 80  # characters of a notebook's value quoted in an error


@dataclass(frozen=True)
class Assignment:
    rubric: Rubric
    package: ModuleType
    checks: dict[str, Check]
    misconceptions: dict[str, Misconception]

    @cached_property
    def solution(self) -> ModuleType:
        """The reference solution module, imported on first use (it needs torch)."""
        solution = _attribute(self.package, "SOLUTION", self.rubric)
        for i, item in enumerate(self.rubric.items):
            if not callable(getattr(solution, item.target, None)):
                raise RubricError(
                    f"{self.rubric.path}: items[{i}].target: the reference solution has no function '{item.target}'"
                )
        return solution

    @property
    def id(self) -> str:
        return self.rubric.assignment

    def check_for(self, item: Item) -> Check:
        return self.checks[item.check]

    def examples_for(self, item: Item, *, given: int | None = None, at_least: int = 0) -> int:
        """How many inputs an item draws: ``given`` (``grade --examples``), else the item's own
        ``examples:``, else its check's budget where that is smaller than the rubric's, else the rubric's;
        never fewer than ``at_least`` (``grade mutate`` checking what the budgets let through)."""
        if given is not None:
            return max(given, at_least)
        budget = self.checks[item.check].examples
        if item.examples_given or budget is None:
            return max(item.examples, at_least)
        return max(min(budget, item.examples), at_least)

    def parts_of(self, item: Item, *, unscored: bool = False) -> list[tuple[str, float]]:
        """(part name, points) for an item; the check's parts share the points if the rubric is silent.

        ``unscored``: the check's parts the rubric leaves out come too, with 0 points, so
        that a report can say which check noticed what the rubric does not score.
        """
        parts = self.checks[item.check].parts
        if not item.parts:
            return [(p.name, item.points / len(parts)) for p in parts]
        named = list(item.parts)
        if unscored:
            scored = {name for name, _ in named}
            named += [(p.name, 0.0) for p in parts if p.name not in scored]
        return named


def course_dir() -> Path | None:
    env = os.environ.get("GRADER_COURSE")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parent.parent.parent
    return checkout if (checkout / "rubrics").is_dir() else None


def known_assignments() -> list[str]:
    root = course_dir()
    if root is None:
        return []
    return sorted(p.stem for p in (root / "rubrics").glob("*.yaml") if _ID.fullmatch(p.stem) and p.is_file())


def resolve(name: str | None) -> Path:
    """The rubric file for an assignment the TA names: an id, a rubric file or a bundle.

    ``None``: the course's only assignment. Only ever called with what the TA's
    command line says; a notebook's value goes through ``for_notebook``.
    """
    if name is None:
        return _rubric_file(_sole_assignment(None))
    if name.endswith(".zip"):
        from .bundle import extract

        return extract(Path(name))
    if name.endswith((".yaml", ".yml")) or os.sep in name or (os.altsep and os.altsep in name):
        path = Path(name)
        if not path.is_file():
            raise AssignmentNotFound(f"{name}: no such rubric file")
        return path
    return _course_rubric(name)


def for_notebook(given: str | None, declared: str | None, notebook: str, *, guess: bool = True) -> Path:
    """The rubric file to grade a notebook with.

    ``given``: the TA's ``--assignment`` (always wins, whatever the notebook says).
    ``declared``: the notebook's ``metadata.grader.assignment``, as read from the
    submission: only an id of this course is accepted. ``guess``: with neither,
    take the course's only assignment (``grade``); a batch passes False, so that a
    notebook naming no assignment is refused rather than graded with a guess.
    """
    if given is not None:
        return resolve(given)
    if declared is not None:
        return _rubric_file(declared_id(declared, notebook))
    if not guess:
        raise NotebookError(
            f"{notebook}: the notebook does not name its assignment (metadata.grader.assignment); "
            "name it with --assignment"
        )
    return _rubric_file(_sole_assignment(notebook))


def declared_id(declared: str, notebook: str) -> str:
    """A notebook's assignment value, if it is an id of this course; otherwise one clear line."""
    known = known_assignments()  # every one an id: a path never is
    if declared in known:
        return declared
    from ..escape import clean

    shown = clean(declared[:_SHOWN]) + ("…" if len(declared) > _SHOWN else "")
    if _ID.fullmatch(declared):
        hint = difflib.get_close_matches(declared, known, n=1)
        why = f"did you mean '{hint[0]}'?" if hint else _known(known)
        raise NotebookError(
            f"{notebook}: metadata.grader.assignment '{shown}' is not an assignment of this course ({why})"
        )
    raise NotebookError(
        f"{notebook}: metadata.grader.assignment '{shown}' is not an assignment id ({_known(known)}); "
        "a rubric file or bundle can only be named by the TA's --assignment"
    )


def _known(known: list[str]) -> str:
    return f"known: {', '.join(known)}" if known else "the course has none"


def _sole_assignment(notebook: str | None) -> str:
    known = known_assignments()
    if len(known) == 1:
        return known[0]
    lead = "no assignment named"
    if notebook:
        lead = f"{notebook}: the notebook does not name its assignment (metadata.grader.assignment)"
    if not known:
        raise AssignmentNotFound(
            f"{lead}, and there is no course directory with rubrics/ (set GRADER_COURSE, or name a rubric "
            "with --assignment)"
        )
    raise AssignmentNotFound(f"{lead}, and the course has {len(known)}: choose one with --assignment ({_known(known)})")


def _course_rubric(name: str) -> Path:
    root = course_dir()
    if root is None:
        raise AssignmentNotFound(
            f"unknown assignment '{name}': no course directory (set GRADER_COURSE to the folder holding rubrics/)"
        )
    known = known_assignments()
    if name not in known:
        hint = difflib.get_close_matches(name, known, n=1)
        extra = f" (did you mean '{hint[0]}'?)" if hint else (f" ({_known(known)})" if known else "")
        raise AssignmentNotFound(f"unknown assignment '{name}'{extra}")
    return _rubric_file(name)


def _rubric_file(known_id: str) -> Path:
    """The rubric of an id already found among ``known_assignments()`` (so the course directory exists)."""
    root = course_dir()
    assert root is not None
    return root / "rubrics" / f"{known_id}.yaml"


def load(name: str | None) -> Assignment:
    return with_reference(load_rubric(resolve(name)))


def with_reference(rubric: Rubric) -> Assignment:
    """Imports the rubric's reference package and checks the rubric against it."""
    package = _import_reference(rubric)
    assignment = Assignment(
        rubric=rubric,
        package=package,
        checks=_mapping(_attribute(package, "CHECKS", rubric), "CHECKS", rubric),
        misconceptions=_mapping(_attribute(package, "MISCONCEPTIONS", rubric, default={}), "MISCONCEPTIONS", rubric),
    )
    _validate(assignment)
    return assignment


def _import_reference(rubric: Rubric) -> ModuleType:
    path = rubric.reference
    init = path / "__init__.py"
    if not init.is_file():
        raise RubricError(f"{rubric.path}: reference: {path} is not a Python package (no __init__.py)")
    name = "grader_reference_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(path)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise RubricError(f"{rubric.path}: reference: importing {path} failed: {type(exc).__name__}: {exc}") from None
    return module


# Where a reference package that does not export a name itself keeps it, by convention:
# CHECKS in checks.py, MISCONCEPTIONS in misconceptions.py, and solution.py is SOLUTION.
_CONVENTIONAL = {
    "CHECKS": ("checks", "CHECKS"),
    "MISCONCEPTIONS": ("misconceptions", "MISCONCEPTIONS"),
    "SOLUTION": ("solution", None),
}


def _attribute(package: ModuleType, name: str, rubric: Rubric, default: object = None):
    """One of the reference package's attributes; its absence or its failing import is the instructor's error."""
    try:
        if hasattr(package, name):
            return getattr(package, name)
        module, attribute = _CONVENTIONAL[name]
        if importlib.util.find_spec(f"{package.__name__}.{module}") is None:
            if default is not None:
                return default
            raise RubricError(f"{rubric.path}: reference: {rubric.reference} defines no {name} and has no {module}.py")
        found = importlib.import_module(f"{package.__name__}.{module}")
        if attribute is None:
            return found
        if not hasattr(found, attribute):
            raise RubricError(f"{rubric.path}: reference: {rubric.reference}/{module}.py does not define {attribute}")
        return getattr(found, attribute)
    except RubricError:
        raise
    except Exception as exc:  # SOLUTION is imported on first use: its import may fail here
        raise RubricError(
            f"{rubric.path}: reference: {rubric.reference}: {name} failed to import: {type(exc).__name__}: {exc}"
        ) from None


def _mapping(value: object, name: str, rubric: Rubric) -> dict:
    if not isinstance(value, dict):
        raise RubricError(f"{rubric.path}: reference: {name} in {rubric.reference} is not a dict")
    return dict(value)


def _validate(assignment: Assignment) -> None:
    from ..authoring.api import Check

    rubric = assignment.rubric
    seen: set[str] = set()
    for i, item in enumerate(rubric.items):
        where = f"{rubric.path}: items[{i}]"
        if item.id in seen:
            raise RubricError(f"{where}.id: duplicate item id '{item.id}'")
        seen.add(item.id)
        if item.check not in assignment.checks:
            hint = difflib.get_close_matches(item.check, list(assignment.checks), n=1)
            extra = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise RubricError(f"{where}.check: the reference has no check '{item.check}'{extra}")
        check = assignment.checks[item.check]
        if not isinstance(check, Check):
            raise RubricError(f"{where}.check: CHECKS['{item.check}'] in the reference is not a Check")
        if check.target != item.target:
            raise RubricError(f"{where}.target: '{item.target}', but check '{item.check}' tests '{check.target}'")
        names = [p.name for p in check.parts]
        for name, _ in item.parts:
            if name not in names:
                hint = difflib.get_close_matches(name, names, n=1)
                extra = f" (did you mean '{hint[0]}'?)" if hint else f" (the check has: {', '.join(names)})"
                raise RubricError(f"{where}.parts: check '{item.check}' has no part '{name}'{extra}")
        if item.parts:
            total = sum(points for _, points in item.parts)
            if abs(total - item.points) > 1e-9:
                raise RubricError(
                    f"{where}.parts: the parts add up to {total:g} points, but the item has {item.points:g}"
                )
        for misconception in item.misconceptions:
            if misconception not in assignment.misconceptions:
                hint = difflib.get_close_matches(misconception, list(assignment.misconceptions), n=1)
                extra = f" (did you mean '{hint[0]}'?)" if hint else ""
                raise RubricError(f"{where}.misconceptions: unknown misconception '{misconception}'{extra}")
