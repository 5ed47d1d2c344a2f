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

The student reads it in ``check(lang=…)``'s language, else the language the
rubric of that assignment names (where the course's rubrics are at hand), else
English. The checks' translations are in ``locale/<lang>/LC_MESSAGES/
public_checks.po`` beside the checks' file (``grader.selfcheck.catalogue``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..child.selfcheck import CheckResults, ItemCheck, Translations, load, run_item
from ..errors import GraderError
from ..i18n import LANGUAGES, SOURCE_LANGUAGE, _, language
from .catalogue import translations
from .examples import SUFFIX, PublicExamples, PublicItem, is_derived, judge
from .examples import read as read_examples


def _checks(assignment: str | None) -> tuple[Path, dict[str, Any]]:
    """The public checks' file and what it defines: ``EXERCISES`` and a check function per item where they
    are written by hand; ``EXERCISES`` and ``EXAMPLES`` (``PublicExamples``) where they are derived."""
    if assignment is not None:
        _assignment(assignment)  # a value the student passed is refused whichever file is used
    for path in _candidates(assignment):
        if path.is_file():
            if is_derived(path):
                examples = read_examples(path)
                return path, {"EXERCISES": examples.exercises(), "EXAMPLES": examples}
            return path, load(path.read_text(encoding="utf-8"), str(path))
    raise FileNotFoundError(
        _(
            "no public checks found: put public_checks.py or public_checks.examples (from the assignment's "
            "folder) next to this notebook"
        )
    )


def _candidates(assignment: str | None) -> Iterator[Path]:
    """Where the public checks may be, in order; the course's copy (and so the assignment's id, which
    may mean reading the notebook) only once the others are not there."""
    if os.environ.get("GRADER_PUBLIC_CHECKS"):
        yield Path(os.environ["GRADER_PUBLIC_CHECKS"])
    for name in _NAMES:
        yield Path.cwd() / name
    from ..course.assignment import course_dir

    root = course_dir()
    if root is not None:
        folder = root / "assignments" / _assignment(assignment)
        for name in _NAMES:
            yield folder / name


_NAMES = ("public_checks.py", "public_checks" + SUFFIX)


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


def _language(lang: str | None, assignment: str | None) -> str:
    """The language asked for, else $GRADER_LANG (as for grade), else the rubric's, where the course's
    rubrics are at hand, else the public checks' ``LANGUAGE``, else English."""
    lang = lang or os.environ.get("GRADER_LANG") or None
    if lang is not None:
        if lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang!r}: known: {', '.join(LANGUAGES)}")
        return lang
    from ..course.assignment import course_dir
    from ..course.rubric import load_rubric

    root = course_dir()
    if root is not None:
        try:
            return load_rubric(root / "rubrics" / f"{_assignment(assignment)}.yaml").language
        except (GraderError, ValueError, OSError):  # no rubric to ask: an unknown assignment is refused later
            return SOURCE_LANGUAGE
    # A student's assignment folder without the course: its public checks name the course's language.
    try:
        declared = _checks(assignment)[1].get("LANGUAGE")
    except (ValueError, OSError):  # no checks at all: said, in English, when they are looked for
        return SOURCE_LANGUAGE
    return declared if declared in LANGUAGES else SOURCE_LANGUAGE


def _run(items: list[str], path: Path, checks: dict[str, Any], namespace: dict | None, shown_in: str) -> CheckResults:
    functions = namespace if namespace is not None else vars(sys.modules["__main__"])
    spoken = translations(shown_in, path)
    if "EXAMPLES" in checks:
        derived: PublicExamples = checks["EXAMPLES"]
        found = [_derived(derived.item(item), functions, derived.messages) for item in items]
        return CheckResults(
            [ItemCheck(item, **result) for item, result in zip(items, found, strict=True)],
            Translations.from_data(spoken),
        )
    return CheckResults(
        [ItemCheck(item, **run_item(checks, item, functions, translations=spoken)) for item in items],
        Translations.from_data(spoken),
    )


def _derived(examples: PublicItem | None, functions: dict[str, Any], messages: dict) -> dict[str, Any]:
    """One item's derived public checks, called here in the kernel as the sandbox's worker calls them.

    What the probe changes in the kernel is put back: torch's random state, grad mode, default dtype,
    and a debugger's trace function.
    """
    import torch

    from ..child import probe

    if examples is None:
        return {"status": "unchecked", "message": _("no public check for this item")}
    fn = functions.get(examples.target)
    if not callable(fn):
        return {
            "status": "missing",
            "message": _("the notebook does not define {names}").format(names=examples.target + "()"),
        }
    import random

    import numpy

    kept = (torch.random.get_rng_state(), random.getstate(), numpy.random.get_state())
    grad, dtype, anomaly, trace = (
        torch.is_grad_enabled(),
        torch.get_default_dtype(),
        torch.is_anomaly_enabled(),
        sys.gettrace(),
    )
    try:
        replies = [probe.run_call(fn, *case.request, device="cpu", catch=Exception) for case in examples.cases]
    finally:
        torch.random.set_rng_state(kept[0])
        random.setstate(kept[1])
        numpy.random.set_state(kept[2])
        torch.set_grad_enabled(grad)
        torch.set_default_dtype(dtype)
        torch.autograd.set_detect_anomaly(anomaly)
        sys.settrace(trace)
    return judge(examples, replies, messages=messages)


def check(
    exercise: str, *, assignment: str | None = None, namespace: dict | None = None, lang: str | None = None
) -> CheckResults:
    """Runs the public checks of one exercise ("e1", …) on the functions defined so far.

    ``lang``: "pl" or "en"; default: the language of the assignment's rubric, else English.
    """
    shown_in = _language(lang, assignment)
    with language(shown_in):
        path, checks = _checks(assignment)
        exercises: dict[str, list[str]] = checks["EXERCISES"]
        if exercise not in exercises:
            raise ValueError(
                _("no exercise {exercise}: the exercises are {exercises}").format(
                    exercise=repr(exercise), exercises=", ".join(exercises)
                )
            )
        return _run(exercises[exercise], path, checks, namespace, shown_in)


def check_all(*, assignment: str | None = None, namespace: dict | None = None, lang: str | None = None) -> CheckResults:
    """Runs every exercise's public checks (``lang`` as for ``check``)."""
    shown_in = _language(lang, assignment)
    with language(shown_in):
        path, checks = _checks(assignment)
        items = [item for group in checks["EXERCISES"].values() for item in group]
        return _run(items, path, checks, namespace, shown_in)
