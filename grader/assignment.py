"""Find an assignment and load its trusted parts: rubric and reference package.

An assignment is named by id (``autograd-basics``, looked up as
``rubrics/<id>.yaml`` in the course directory), by the path of its rubric
file, or by an autograder bundle (``.zip``, see ``grader.bundle``). The
course directory is ``$GRADER_COURSE`` if set, else the checkout this
grader runs from. It is never the submission's directory: a student's
repository must not be able to bring its own rubric.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import ModuleType

from .authoring import Check, Misconception
from .errors import AssignmentNotFound, RubricError
from .rubric import Item, Rubric, load_rubric

DEFAULT_ASSIGNMENT = "autograd-basics"


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
    checkout = Path(__file__).resolve().parent.parent
    return checkout if (checkout / "rubrics").is_dir() else None


def known_assignments() -> list[str]:
    root = course_dir()
    if root is None:
        return []
    return sorted(p.stem for p in (root / "rubrics").glob("*.yaml") if "." not in p.stem)


def resolve(name: str | None) -> Path:
    """The rubric file for an assignment id or path."""
    name = name or DEFAULT_ASSIGNMENT
    if name.endswith(".zip"):
        from .bundle import extract

        return extract(Path(name))
    if name.endswith((".yaml", ".yml")) or os.sep in name:
        path = Path(name)
        if not path.is_file():
            raise AssignmentNotFound(f"{name}: no such rubric file")
        return path
    root = course_dir()
    if root is None:
        raise AssignmentNotFound(
            f"unknown assignment '{name}': no course directory (set GRADER_COURSE to the folder holding rubrics/)"
        )
    path = root / "rubrics" / f"{name}.yaml"
    if not path.is_file():
        known = known_assignments()
        hint = difflib.get_close_matches(name, known, n=1)
        extra = f" (did you mean '{hint[0]}'?)" if hint else (f" (known: {', '.join(known)})" if known else "")
        raise AssignmentNotFound(f"unknown assignment '{name}'{extra}")
    return path


def load(name: str | None) -> Assignment:
    return with_reference(load_rubric(resolve(name)))


def with_reference(rubric: Rubric) -> Assignment:
    """Imports the rubric's reference package and checks the rubric against it."""
    package = _import_reference(rubric)
    assignment = Assignment(
        rubric=rubric,
        package=package,
        checks=dict(_attribute(package, "CHECKS", rubric)),
        misconceptions=dict(getattr(package, "MISCONCEPTIONS", {})),
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


def _attribute(package: ModuleType, name: str, rubric: Rubric):
    if not hasattr(package, name):
        raise RubricError(f"{rubric.path}: reference: {rubric.reference} does not define {name}")
    return getattr(package, name)


def _validate(assignment: Assignment) -> None:
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
