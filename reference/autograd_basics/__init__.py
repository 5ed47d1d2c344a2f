"""Reference package of the autograd-basics assignment (trusted side only).

Never shipped to students and never visible to the sandboxed child.
``SOLUTION`` is imported on first use: it needs torch, and replaying stored
plans needs neither.
"""

from .checks import CHECKS
from .misconceptions import MISCONCEPTIONS

__all__ = ["CHECKS", "MISCONCEPTIONS", "SOLUTION"]


def __getattr__(name: str):
    if name == "SOLUTION":
        from . import solution

        return solution
    raise AttributeError(name)
