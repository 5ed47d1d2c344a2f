"""``grade new ID``: the files of a new assignment, ready to grade, to be changed into the real one.

A scaffold is one worked exercise (``square_grad(x)``: d/dx Σ x², by autograd)
in every part an assignment has, each file explaining itself to an instructor
who has never seen the grader's code:

- ``rubrics/<id>.yaml``: the rubric, every key commented, one item;
- ``rubrics/<id>.equivalent.yaml``: the reviewed equivalent mutants of
  ``grade mutate`` (an empty list: the example has none);
- ``reference/<package>/``: the reference package (``__init__.py``,
  ``solution.py``, ``checks.py``, ``misconceptions.py``) and the instructor's
  ``solution.ipynb`` with its ``# BEGIN SOLUTION`` / ``# END SOLUTION`` region;
- ``assignments/<id>/``: the students' README (``grade assign`` adds the
  template notebook and the public self-checks it derives from the checks).

As written, the scaffold passes every check an assignment must pass: the
template ``grade assign`` makes scores 0 and the solution full marks, the
public checks pass on the solution, and ``grade mutate`` kills every mutant.
Nothing existing is ever overwritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import GraderError
from .assignment import _ID as _COURSE_ID
from .rubric import SCHEMA

EXAMPLE_FUNCTION = "square_grad"
EXAMPLE_ITEM = "e1.square_grad"
_RUBRIC_ID = re.compile(SCHEMA["properties"]["assignment"]["pattern"])


class ScaffoldError(GraderError):
    """The id is not one a course can have, or the assignment (or a file of it) exists already."""


@dataclass(frozen=True)
class Planned:
    path: str  # relative to the course folder, with '/'
    text: str
    what: str  # one line for the listing `grade new` prints


def check_id(assignment: str) -> None:
    """An id both the course's lookup (``rubrics/<id>.yaml``) and the rubric's schema accept, or one line why not."""
    if not (_COURSE_ID.fullmatch(assignment) and _RUBRIC_ID.fullmatch(assignment)):
        shown = assignment if len(assignment) <= 80 else assignment[:80] + "…"
        raise ScaffoldError(
            f"{shown!r} is not a valid assignment id: lowercase letters, digits, '-' and '_', "
            "starting with a letter or digit, at most 64 characters"
        )


def package_name(assignment: str) -> str:
    """The reference package's folder: the id with '-' as '_' (``hw-1`` → ``hw_1``)."""
    return assignment.replace("-", "_")


def plan(assignment: str) -> list[Planned]:
    """Every file of the scaffold of ``assignment``, in the order they are listed."""
    check_id(assignment)
    package = package_name(assignment)

    def fill(text: str) -> str:
        return text.replace("@ID@", assignment).replace("@PACKAGE@", package)

    ref = f"reference/{package}"
    return [
        Planned(f"rubrics/{assignment}.yaml", fill(_RUBRIC), "the rubric: items, points, limits (every key explained)"),
        Planned(
            f"rubrics/{assignment}.equivalent.yaml",
            fill(_EQUIVALENTS),
            "equivalent mutants for grade mutate (none yet)",
        ),
        Planned(f"{ref}/__init__.py", fill(_INIT), "the reference package: what it exports"),
        Planned(f"{ref}/solution.py", fill(_SOLUTION), "the reference solution, one function per rubric target"),
        Planned(f"{ref}/checks.py", fill(_CHECKS), "per check: the inputs drawn and the parts that earn points"),
        Planned(f"{ref}/misconceptions.py", fill(_MISCONCEPTIONS), "known mistakes, named in the feedback"),
        Planned(f"{ref}/solution.ipynb", solution_notebook(assignment), "the instructor's notebook (with solutions)"),
        Planned(f"assignments/{assignment}/README.md", fill(_README), "the students' README"),
    ]


def create(root: Path, assignment: str) -> list[Planned]:
    """Writes the scaffold of ``assignment`` into the course folder ``root``; refuses if any part of it exists.

    Either every file is written or none is left behind.
    """
    files = plan(assignment)
    package = package_name(assignment)
    owned = [  # what this assignment alone owns: none of it may exist yet
        f"rubrics/{assignment}.yaml",
        f"rubrics/{assignment}.equivalent.yaml",
        f"reference/{package}",
        f"assignments/{assignment}",
    ]
    for relative in owned:
        if (root / relative).exists() or (root / relative).is_symlink():
            raise ScaffoldError(f"{root / relative} already exists: not overwriting it (assignment '{assignment}')")
    made: list[Path] = []  # files and the folders this call created, to remove if a write fails
    try:
        if not root.is_dir():
            root.mkdir(parents=True)
            made.append(root)
        for folder in ("rubrics", "reference", "assignments", f"reference/{package}", f"assignments/{assignment}"):
            path = root / folder
            if not path.is_dir():
                path.mkdir()
                made.append(path)
        for planned in files:
            path = root / planned.path
            with open(path, "x", encoding="utf-8", newline="\n") as handle:  # "x": never over an existing file
                made.append(path)
                handle.write(planned.text)
    except OSError as exc:
        for path in reversed(made):
            if path.is_dir():
                path.rmdir()
            else:
                path.unlink(missing_ok=True)
        raise ScaffoldError(f"{root}: cannot write the assignment '{assignment}': {exc}") from None
    return files


def solution_notebook(assignment: str) -> str:
    """The instructor's notebook of the example exercise, as .ipynb text (stable cell ids, no outputs)."""
    import nbformat

    v4 = nbformat.v4
    notebook = v4.new_notebook()
    notebook.metadata = {
        "grader": {"assignment": assignment, "stub_message": "Complete this function"},
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    notebook.cells = [
        v4.new_markdown_cell(_cell(_NB_INTRO, assignment), id="intro"),
        v4.new_code_cell("import torch", id="imports"),
        v4.new_markdown_cell(_cell(_NB_TASK, assignment), id="e1-task"),
        v4.new_code_cell(_cell(_NB_SOLUTION, assignment), id="e1-solution"),
        v4.new_code_cell(_cell(_NB_CHECK, assignment), id="e1-check"),
        v4.new_markdown_cell(_cell(_NB_SELFCHECK, assignment), id="self-check"),
        v4.new_code_cell(_cell(_NB_HIDDEN, assignment), id="instructor-check", metadata={"tags": ["hidden"]}),
    ]
    nbformat.validate(notebook)
    text = nbformat.writes(notebook)
    return text if text.endswith("\n") else text + "\n"


def _cell(text: str, assignment: str) -> str:
    return text.replace("@ID@", assignment).rstrip("\n")


# -- the files' texts (@ID@: the assignment's id, @PACKAGE@: its reference package) ----------

_RUBRIC = """\
# The rubric of the assignment "@ID@": what is graded, and how many points each part earns.
# Written by `grade new @ID@` with one example item (square_grad): change it into your exercises.
#
# An assignment is three parts; the grader knows none of them by name:
# - rubrics/@ID@.yaml: this file (and @ID@.equivalent.yaml, read by `grade mutate`);
# - reference/@PACKAGE@/: the reference solution, the checks (which inputs are drawn, which
#   observed facts make up each part) and the known mistakes; never shown to students, nor
#   to their code;
# - assignments/@ID@/: what students get: the template notebook (`grade assign` writes it),
#   the public self-checks and a README.
# The rubric is checked when loaded: a wrong key or value is one line naming it, exit status 2.
# Paths below are relative to this file's folder (rubrics/).

# The assignment's id: this file's name without .yaml. A notebook names it in its metadata
# (metadata.grader.assignment); the TA may name it with `grade --assignment @ID@`.
assignment: "@ID@"

# One line, shown at the top of every report. A title (this one or an item's) may be given per
# language, as {pl: "...", en: "..."}; then every title gives every language used.
title: "@ID@: gradients with autograd"

# The language students read (feedback, titles, headings): en or pl. `grade --lang` overrides it.
# Texts of your checks and misconceptions marked with N_() or _() are translated from
# reference/@PACKAGE@/locale/<lang>/LC_MESSAGES/messages.po (the grader's docs/translating.md).
language: en

# The reference package (a folder with __init__.py), imported on the grader's side only:
# it exports SOLUTION, CHECKS and MISCONCEPTIONS (see its __init__.py).
reference: "../reference/@PACKAGE@"

# The students' self-checks (`grade check`, or grader.check("e1") in a notebook). A .examples
# file is derived from your checks: `grade assign` writes it (eight inputs per item, drawn with
# a seed of their own, and the reference's answers), and the self-check compares part by part as
# grading does; run `grade assign` again after changing the reference or the checks. Name a
# public_checks.py instead to write them by hand (EXERCISES and one function per item).
public_checks: "../assignments/@ID@/public_checks.examples"

# The instructor's notebook with # BEGIN SOLUTION / # END SOLUTION regions: `grade assign`
# makes the students' template from it, `grade mutate` makes mutants of its functions.
solution_notebook: "../reference/@PACKAGE@/solution.ipynb"

# The seed of the drawn inputs: the same notebook always gets the same report.
# `grade --seed N` overrides it for one run.
seed: 1

# How many inputs are drawn per item (an item may set its own `examples:`; a check may ask fewer).
# `grade --examples N` overrides it for one run.
examples: 100

# Mistakes of particular exercises that `grade mutate` also makes, besides its general ones:
# threshold_half (logits thresholded at 0.5 instead of 0) and cross_entropy (F.cross_entropy
# for a binary target). Neither fits the example, so the key is left out.
# mutation_operators: [threshold_half, cross_entropy]

# What notebooks may import beyond torch, numpy and matplotlib: a module name each, or
# {import: MODULE, pip: NAME} where pip's name differs. grade, grade check and grade batch refuse
# (exit status 3) on a machine where one is not importable, rather than let students lose points
# for it. The example imports nothing else, so the key is left out; for instance:
# packages:
#   - {import: sklearn, pip: scikit-learn}
#   - torchviz

# What one grading may use, enforced from outside the sandbox the notebook runs in.
# Each key may be left out: it then takes the grader's default.
limits:
  notebook_seconds: 120     # executing the whole notebook once
  cell_seconds: 60          # one cell; a cell that runs longer is skipped, the notebook run again without it
  call_seconds: 10          # one call of a student's function
  item_seconds: 60          # all calls of one item, shrinking to the smallest failing input included
  total_seconds: 300        # the whole grading of one notebook; items whose turn comes later time out
  output_bytes: 1048576     # what the notebook prints, kept for the report (1 MiB)
  frame_bytes: 67108864     # one message from the sandboxed notebook (64 MiB)
  memory_bytes: 4294967296  # the sandbox's memory, all its processes together (4 GiB)
  processes: 64             # processes and threads in the sandbox
  disk_bytes: 268435456     # each of the sandbox's tmpfs folders (home, /tmp), and the largest file (256 MiB)

# How close a value must be to the reference's, by the dtype of the inputs, element by element:
# |got - expected| <= atol + rtol * (|expected| + 0.1 * max|expected|).
# An item may loosen them with its own `tolerances:`.
tolerances:
  float32: {rtol: 1.0e-4, atol: 1.0e-5}
  float64: {rtol: 1.0e-7, atol: 1.0e-9}

# The graded items, in the order of the report; the maximum score is the sum of their points.
items:
    # Unique; shown in reports and gradebooks. The part before the first '.' is its exercise,
    # as grader.check("e1") names it.
  - id: e1.square_grad
    # One line saying what is graded, shown to students.
    title: "Gradient of Σ x² with autograd, x left as it was"
    # The student's function the item calls, by its name in the notebook.
    target: square_grad
    # The check in the reference package (CHECKS in checks.py) that draws the inputs and says
    # which observed facts make up each part; it must test the same target.
    check: e1_square_grad
    # The item's points.
    points: 10
    # The points of each part of the check; they add up to `points`. Without `parts:` the
    # check's parts share the points equally. A part of the check left out here earns nothing
    # (`grade mutate` still says when only such a part noticed a mutant).
    parts: {gradient: 7, side_effects: 3}
    # The known mistakes the feedback names when the smallest failing input shows one: ids of
    # MISCONCEPTIONS in the reference package (grader.authoring's autograd ones and its own).
    misconceptions: [mean_instead_of_sum, caller_tensors_mutated, returns_not_detached, grad_mode_left_off]
    # Optional, for this item alone: its number of drawn inputs and its tolerances.
    # examples: 100
    # tolerances:
    #   float32: {atol: 1.0e-4}
"""

_EQUIVALENTS = """\
# Equivalent mutants of the assignment "@ID@", read by `grade mutate @ID@`.
#
# `grade mutate` changes one function of the solution notebook in one small way (a mutant) and
# grades it; the rubric should notice the change (the mutant is "killed"). A mutant that behaves
# exactly like the solution on every input the exercise allows cannot be killed by any rubric:
# after reviewing it, list it here with the reason, and it counts as equivalent instead of
# surviving. Nothing is marked equivalent automatically. One entry per mutant, as
# `grade mutate @ID@ -f json` shows it (verdicts[].id and verdicts[].source_sha):
#
# - id: square_grad/drop_detach_clone/0   # function/operator/place
#   source_sha: 0123456789ab              # the mutant's source: a changed solution makes the entry stale
#   reason: "why no correct grading can tell it from the solution on the inputs the spec allows"
#
# The example exercise has no equivalent mutant: every one is killed.
[]
"""

_INIT = '''\
"""Reference package of the assignment @ID@ (the grader's side only; never shown to students).

The rubric (rubrics/@ID@.yaml, `reference:`) names this folder. The grader imports it and
reads what it exports, documented in `grader.authoring`, the one API it may import:

- SOLUTION: the module with the reference implementation of each rubric target;
- CHECKS: {check name: Check}: for each, the inputs it draws and the parts that earn points;
- MISCONCEPTIONS: {id: Misconception}: known mistakes, named in the feedback.

SOLUTION is imported on first use: it needs torch, and replaying stored plans needs neither.
"""

from .checks import CHECKS
from .misconceptions import MISCONCEPTIONS

__all__ = ["CHECKS", "MISCONCEPTIONS", "SOLUTION"]


def __getattr__(name: str):
    if name == "SOLUTION":
        from . import solution

        return solution
    raise AttributeError(name)
'''

_SOLUTION = '''\
"""Reference solutions of the assignment @ID@ (the grader's side only).

One function per rubric target, named as in the students' notebook. The grader calls it on
the same inputs as the student's function and compares what both return and leave behind,
so each follows the exercise's contract literally: the caller's tensors are never changed,
returned tensors are detached, grad mode is left as found.
"""

from __future__ import annotations

import torch


def square_grad(x):
    """d/dx Σ x², that is 2x, by autograd."""
    x = x.detach().requires_grad_(True)  # a new leaf sharing x's values: the caller's x keeps no .grad
    with torch.enable_grad():  # also when the caller switched grad mode off
        (x**2).sum().backward()
    return x.grad
'''

_CHECKS = '''\
"""How each function is tested: the inputs drawn, and which observed facts make up each part.

A Check draws Cases (the arguments of one call) with hypothesis, calls the student's
function and the reference's on copies of them, observes both the same way, and compares
the facts of each Part. Fact paths name what was observed, for example:

    return                 the returned value (a tensor: its values, dtype, shape, device)
    return.requires_grad   whether the returned tensor requires grad
    x                      the caller's x after the call; x.requires_grad, x.grad likewise
    grad_mode              whether grad mode is on right after the call

`*` stands for one path step (return[*] is each returned value of a tuple). The rubric
gives each part its points; a check's name is what the rubric's `check:` says.
"""

from __future__ import annotations

from hypothesis import strategies as st

from grader.authoring import Case, Check, Part, TensorArg, arrays, float_dtypes, side_effects


@st.composite
def vectors(draw) -> Case:
    """x: a 1-d float32 or float64 tensor of 1 to 16 values in [-10, 10], requiring grad or not.

    Both settings of requires_grad matter: a solution that calls x.requires_grad_() or
    backward() on the caller's own tensor changes x (its requires_grad, or its .grad).
    """
    dtype = draw(float_dtypes())
    x = draw(arrays((draw(st.integers(1, 16)),), dtype, low=-10, high=10))
    return Case(args=(("x", TensorArg(x, requires_grad=draw(st.booleans()))),))


CHECKS = {
    "e1_square_grad": Check(
        target="square_grad",
        cases=vectors(),
        parts=(
            # Compared with the reference's return value, within the rubric's tolerances.
            Part("gradient", "d/dx Σ x² = 2x, a tensor of x's shape and dtype", ("return",)),
            # The rules every function follows: the returned tensor detached, the caller's x
            # unchanged (values, requires_grad, .grad), grad mode left as found.
            side_effects("x", detached="return.requires_grad"),
        ),
        labels={"return": "the gradient d/dx Σ x²"},  # how feedback names an observed value
    ),
}
'''

_MISCONCEPTIONS = '''\
"""Known mistakes, recognised on the smallest input a student's function fails on.

The mistakes of any autograd exercise come from grader.authoring (AUTOGRAD_MISCONCEPTIONS:
the caller's tensors changed, grad mode left off, results not detached, retain_grad()
missing, an update recorded in the graph, rebinding instead of an in-place update). This
assignment adds its own: each has a detector, which here runs a typical buggy version of the
solution on the failing input and asks whether the student's function did exactly the same.
The rubric lists, per item, which of them to look for.
"""

from __future__ import annotations

from grader.authoring import AUTOGRAD_MISCONCEPTIONS, Evidence, Misconception


def mean_of_squares_grad(x):
    """The typical buggy version: the gradient of the mean of x² (2x / n) instead of the sum's."""
    x = x.detach().requires_grad_(True)
    (x**2).mean().backward()
    return x.grad


def _mean_instead_of_sum(ev: Evidence) -> bool:
    return ev.behaves_like(mean_of_squares_grad, parts=("gradient",))


_OWN = {
    m.id: m
    for m in (
        Misconception(
            "mean_instead_of_sum",  # the id the rubric's `misconceptions:` lists
            "mean instead of sum",  # named in the feedback
            "The function to differentiate is the sum of x²; the mean divides it, and so its "
            "gradient, by the number of elements. Use (x ** 2).sum().",  # the fix, shown to the student
            _mean_instead_of_sum,
        ),
    )
}

# The classic mistakes of any autograd exercise, and this assignment's own.
MISCONCEPTIONS = {**AUTOGRAD_MISCONCEPTIONS, **_OWN}
'''

_README = """\
# Assignment `@ID@`

In this folder:

- `@ID@.ipynb`: the notebook with the exercises; complete the functions in it
  (where it says `raise NotImplementedError`), without renaming them or their parameters;
- `public_checks.examples`: the public checks you can run yourself before handing in (data
  that `grade check` and `grader.check` read: leave it as it is).

## Check your work

In a terminal, in this folder:

```sh
grade check @ID@.ipynb
```

or in the notebook, once the functions are defined:

```python
import grader

grader.check("e1")  # one exercise
grader.check_all()  # all of them
```

(`grader.check` looks for `public_checks.examples` next to the notebook: keep the two together.)

`grade check` runs the whole notebook from top to bottom, as grading does, in the same
isolated environment (no network, no files besides the notebook). Each item is `passed`,
`failed`, `error` (the function raised, e.g. `NotImplementedError`), `timeout`, `crashed`
or `missing` (no function of that name). Exit status 0 when every public check passes.

## What the public checks do not tell you

They are not the grade. They compare your functions with the reference solution on a few
fixed inputs; grading calls them on many generated inputs from the whole domain of each
exercise, and where something is wrong shows the smallest such input and names the likely
mistake. Whatever the public checks cannot decide is shown as "checked only at grading".
Passing them is necessary, not sufficient.
"""

_NB_INTRO = """\
# Assignment `@ID@`: gradients with autograd

Complete the body of each function (where it says `raise NotImplementedError(...)`);
do not rename the functions or their parameters.

The grader runs the whole notebook from top to bottom (as "Restart & Run All"), then calls
your functions **by name**, many times, on inputs generated from each exercise's domain, and
compares what they return and what they leave behind with a reference solution. The
"Check" cells are for you only: they are not graded.

Rules for every function:

1. Inputs are `torch` tensors of dtype `float32` or `float64`; returned tensors have the
   inputs' dtype.
2. The function does **not change the caller's tensors**: their values, `requires_grad` and
   `.grad` stay as they were. (Work on a copy, e.g. `x.detach().requires_grad_(True)`.)
3. Returned tensors are **detached from the graph** (`requires_grad=False`).
4. Grad mode is left as it was found (`torch.is_grad_enabled()`).

| Exercise | Function | Points |
| --- | --- | --- |
| 1 | `square_grad` | 10 |
"""

_NB_TASK = """\
## Exercise 1: the gradient of $\\sum_i x_i^2$ (10 points)

**Domain:** `x` is a 1-dimensional tensor of 1 to 16 values in $[-10, 10]$, which may or may
not require grad.

Implement `square_grad(x)`, returning $\\frac{\\partial}{\\partial x} \\sum_i x_i^2 = 2x$
computed **with autograd** (`backward()` or `torch.autograd.grad`), as a tensor of the shape
and dtype of `x`, without changing `x`.
"""

_NB_SOLUTION = '''\
def square_grad(x):
    """d/dx Σ x² by autograd, leaving the caller's x as it was."""
    # BEGIN SOLUTION
    x = x.detach().requires_grad_(True)
    (x**2).sum().backward()
    return x.grad
    # END SOLUTION
'''

_NB_CHECK = """\
# Check: an example (not graded)
x = torch.tensor([1.0, -2.0, 3.0])
print(f"{square_grad(x)=}")  # expected: tensor([ 2., -4.,  6.])
print(f"{x.requires_grad=}, {x.grad=}")  # unchanged: False, None
"""

_NB_SELFCHECK = """\
## Self-check before handing in

`grade check @ID@.ipynb` in a terminal, or `import grader; grader.check("e1")` in this
notebook, runs the public checks (see `README.md`). They are not the grade: passing them is
necessary, not sufficient.
"""

_NB_HIDDEN = """\
# The instructor's own check, tagged "hidden": `grade assign` drops it from the template.
assert torch.equal(square_grad(torch.tensor([3.0, -0.5])), torch.tensor([6.0, -1.0]))
"""
