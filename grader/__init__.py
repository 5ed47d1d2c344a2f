"""Grade PyTorch autograd exercises handed in as Jupyter notebooks.

    from grader import grade_notebook, Options
    report = grade_notebook("submit.ipynb", Options(device="cpu"))
    print(report.score, "/", report.max_score)

In a student's notebook, the public self-checks (Otter-Grader's convention)::

    import grader
    grader.check("e1")      # one exercise; grader.check_all() for all
    grader.check("e1", lang="pl")   # in Polish (default: the rubric's language:, else English)

The names below are imported lazily: the untrusted child imports
``grader.child`` on its own and must not pay for (or see) the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

__all__ = ["GraderError", "Options", "Report", "__version__", "check", "check_all", "grade_notebook"]

if TYPE_CHECKING:
    from .errors import GraderError
    from .grading import Options, grade_notebook
    from .result import Report
    from .selfcheck.inline import check, check_all

_LAZY = {
    "GraderError": ("errors", "GraderError"),
    "Options": ("grading", "Options"),
    "grade_notebook": ("grading", "grade_notebook"),
    "Report": ("result", "Report"),
    "check": ("selfcheck.inline", "check"),
    "check_all": ("selfcheck.inline", "check_all"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attribute)
    raise AttributeError(f"module 'grader' has no attribute {name!r}")
