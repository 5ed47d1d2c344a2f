"""Preloaded by a batch's fork server: every grading worker forks from here.

Importing torch costs about a second; the workers of a batch pay it once, in
the fork server, and share its pages read-only. ``set_num_threads(1)`` runs
before any tensor operation: an OpenMP pool created before ``fork()`` would
deadlock every worker forked after it, and one thread per worker is what a
batch of ``--jobs N`` on N cores wants anyway.
"""

from __future__ import annotations

import torch

torch.set_num_threads(1)

# The rest of the trusted side's imports, so a worker's first grading is warm too.
from .. import grading  # noqa: E402, F401
from ..course import rubric  # noqa: E402, F401
from ..judging import engine, feedback, plans, search  # noqa: E402, F401
from ..observe import compare, observation, reference  # noqa: E402, F401
from ..sandbox import session  # noqa: E402, F401
