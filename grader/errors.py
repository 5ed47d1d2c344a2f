"""The two tiers of errors.

A ``GraderError`` is a user's mistake or an environment we cannot work in: it
becomes one clean line on stderr and a documented exit status. Anything else
that escapes is a bug in the grader and is shown with its traceback.

A student's failure is neither: it is data in the report.
"""

from __future__ import annotations


class GraderError(Exception):
    """Base of the errors a user can act on. ``exit_code`` follows the CLI contract."""

    exit_code = 2


class NotebookError(GraderError):
    """The submission is not a readable Jupyter notebook."""


class RubricError(GraderError):
    """A rubric file (or the reference it names) is invalid."""


class AssignmentNotFound(GraderError):
    """No assignment with that id or path."""


class SandboxError(GraderError):
    """The untrusted side could not be started: the grader cannot grade here."""

    exit_code = 3
