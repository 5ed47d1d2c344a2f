"""The two tiers of errors.

A ``GraderError`` is a user's mistake or an environment we cannot work in: it
becomes one clean line on stderr and a documented exit status. Anything else
that escapes is a bug in the grader and is shown with its traceback.

A student's failure is neither: it is data in the report.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The exit statuses of every ``grade`` command (pytest's ``ExitCode`` is the model)."""

    OK = 0  # graded (whatever the score), checked, written
    BELOW = 1  # graded under --fail-under; a public check failed; a kill rate or a template not as it must be
    USAGE = 2  # the input or the command line is wrong: one line on standard error
    INTERNAL = 3  # the grader itself failed (or cannot work here, e.g. no sandbox)
    INTERRUPTED = 130  # Ctrl-C: finished results are kept


class GraderError(Exception):
    """Base of the errors a user can act on. ``exit_code`` follows the CLI contract."""

    exit_code = ExitCode.USAGE


class NotebookError(GraderError):
    """The submission is not a readable Jupyter notebook."""


class RubricError(GraderError):
    """A rubric file (or the reference it names) is invalid: the course material, the instructor's to fix.

    The same for every notebook graded with it, so ``grade batch`` stops on it (finished results kept)
    instead of charging it to a student.
    """


class ReferenceBroken(RubricError):
    """The reference package misbehaves on its own check, seen only once it runs (``grader.judging.instructor``).

    A fact pattern that matches nothing the reference's observation has, or the reference raising on an
    input its check draws: never graded, exit 2 naming the rubric file, the item and its check.
    """


class AssignmentNotFound(GraderError):
    """No assignment with that id or path."""


class SandboxError(GraderError):
    """The untrusted side could not be started: the grader cannot grade here."""

    exit_code = ExitCode.INTERNAL
