"""Reference package of the autograd-advanced assignment (trusted side only).

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
