"""Preloaded by a batch's fork server: every grading worker forks from here.

Importing torch costs about a second; the workers of a batch pay it once, in
the fork server, and share its pages read-only. ``set_num_threads(1)`` runs
before any tensor operation: an OpenMP pool created before ``fork()`` would
deadlock every worker forked after it, and one thread per worker is what a
batch of ``--jobs N`` on N cores wants anyway.

The reference package of each assignment the batch grades is imported here
too (and its rubric checked against it), once for every worker: the batch
names them in ``GRADER_BATCH_ASSIGNMENTS`` (ids of the course, or the TA's
rubric file; never a notebook's value that is not a course id). One that
fails to import is left alone here: the first grading that needs it meets the
same error and stops the batch with its one line.
"""

from __future__ import annotations

import signal

# Ctrl-C in the TA's terminal reaches the whole process group, this server too, which may still be importing
# torch: the batch handles it (it stops its workers, says where the results are), and a traceback from here
# would follow its one line. Ignored while preloading; then as before (the server ignores SIGINT once it
# serves, and the workers it forks get back what was here: the interpreter's own handler).
_SIGINT = signal.signal(signal.SIGINT, signal.SIG_IGN)

import torch  # noqa: E402

torch.set_num_threads(1)

# The rest of the trusted side's imports, so a worker's first grading is warm too.
from .. import grading  # noqa: E402, F401
from ..course import rubric  # noqa: E402, F401
from ..judging import engine, feedback, plans, search  # noqa: E402, F401
from ..observe import compare, observation, reference  # noqa: E402, F401
from ..sandbox import session  # noqa: E402, F401


def _references() -> None:
    import json
    import os

    from ..course.assignment import resolve, with_reference
    from ..course.rubric import load_rubric
    from .run import PRELOAD_ASSIGNMENTS

    try:
        names = json.loads(os.environ.get(PRELOAD_ASSIGNMENTS, "[]"))
    except ValueError:
        return
    for name in names if isinstance(names, list) else ():
        try:
            with_reference(load_rubric(resolve(str(name)))).solution  # noqa: B018  - imported for the workers
        except Exception:  # noqa: BLE001, S112  - reported by the gradings, as for any worker
            continue


try:
    _references()
finally:
    signal.signal(signal.SIGINT, _SIGINT)
