"""Where a batch's gradings run: warm local processes, or a Dask cluster.

Both take the submissions still to grade and yield ``(submission, result)``
as each grading finishes, in whatever order they finish. A result is plain
data (``grade_task``'s dict), so it crosses a process or a network the same
way. Each grading still starts its own sandboxed child: workers share
nothing with a submission but the trusted side's imports.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
import traceback
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import ExitCode, GraderError, RubricError
from ..grading import Options
from .run import COURSE_ERROR, PRELOAD_ASSIGNMENTS, Submission

_BREAKS_WITHOUT_PROGRESS = 3  # a pool whose workers keep dying is not restarted forever


def grade_task(path: str, options: Options, formats: Sequence[str], data: bytes | None = None) -> dict[str, Any]:
    """Grades one notebook; never raises. ``data``: the notebook's bytes, when ``path`` is not on this machine.

    An error in the course material (``RubricError``: the rubric, or the reference misbehaving on its own
    check) is no outcome of this notebook: it comes back as ``COURSE_ERROR`` and stops the batch.
    """
    from ..grading import grade_notebook
    from ..report import renderer

    try:
        if data is None:
            report = grade_notebook(path, options)
        else:
            with tempfile.TemporaryDirectory(prefix="grader-remote-") as folder:
                local = Path(folder) / (Path(path).name or "submission.ipynb")
                local.write_bytes(data)
                report = grade_notebook(local, options)
            report = replace(report, submission=path, notebook=replace(report.notebook, path=path))
    except RubricError as exc:  # the course material is wrong: the instructor's, the same for every notebook
        return {"outcome": COURSE_ERROR, "error": str(exc)}
    except GraderError as exc:
        if exc.exit_code == ExitCode.USAGE:
            return {"outcome": "rejected", "error": str(exc)}
        return {"outcome": "failed", "error": str(exc)}
    except Exception as exc:  # our bug: kept with its traceback, and the batch goes on
        return {
            "outcome": "failed",
            "error": f"internal error: {type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(),
        }
    return {
        "outcome": "graded",
        "report": report.to_dict(),
        "renderings": {fmt: renderer(fmt)(report) for fmt in formats},
    }


class LocalPool:
    """``jobs`` worker processes forked from a server that has imported torch and the grader once."""

    def __init__(self, *, jobs: int, options: Options, formats: Sequence[str]) -> None:
        self.jobs, self.options, self.formats = jobs, options, tuple(formats)
        self._executor: ProcessPoolExecutor | None = None

    def _start(self, assignments: list[str]) -> ProcessPoolExecutor:
        """The pool; its fork server (started once) also imports the reference of each of ``assignments``."""
        from multiprocessing import forkserver

        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["grader.batch.preload"])
        # The fork server inherits this process's environment when it starts (here, at once) and reads there
        # which references to import; none of it reaches a notebook (the sandbox's environment is scrubbed).
        os.environ[PRELOAD_ASSIGNMENTS] = json.dumps(assignments)
        try:
            forkserver.ensure_running()
        finally:
            del os.environ[PRELOAD_ASSIGNMENTS]
        return ProcessPoolExecutor(max_workers=self.jobs, mp_context=context)

    def _assignments(self, todo: list[Submission]) -> list[str]:
        """What the gradings will load: the TA's --assignment (an id or a rubric file, a bundle's too: the
        batch unpacks it before the pool starts, ``grader.commands.batch``), else each id the notebooks name."""
        given = self.options.assignment
        if given is not None:
            return [given]
        return sorted({s.assignment for s in todo if s.assignment is not None})

    def __call__(self, todo: list[Submission]) -> Iterator[tuple[Submission, dict[str, Any]]]:
        pending = list(todo)
        breaks = 0
        while pending:
            executor = self._executor = self._start(self._assignments(pending))
            futures: dict[Future[dict[str, Any]], Submission] = {
                executor.submit(grade_task, str(s.path), self.options, self.formats): s for s in pending
            }
            broken = False
            try:
                waiting = set(futures)
                while waiting and not broken:
                    done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
                    for future in done:
                        try:
                            result = future.result()
                        except BrokenProcessPool:
                            broken = True  # a worker was killed: the pool is gone, what finished is kept
                            continue
                        pending.remove(futures[future])
                        breaks = 0
                        yield futures[future], result
            finally:
                self.close(abandon=broken or bool(pending))
            if broken:
                breaks += 1
                if breaks >= _BREAKS_WITHOUT_PROGRESS:
                    for submission in pending:
                        yield submission, {"outcome": "failed", "error": "the grading worker died (killed?) each time"}
                    return

    def close(self, *, abandon: bool = True) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        if abandon:
            # On Ctrl-C or a broken pool, gradings in flight are abandoned: stop their workers now
            # (each worker's sandboxes die with it) instead of waiting for them.
            for process in list(getattr(executor, "_processes", {}).values()):
                if process.is_alive():
                    process.terminate()
        executor.shutdown(wait=True, cancel_futures=True)


class DaskPool:
    """The same gradings on an existing Dask cluster; each notebook's bytes travel with its task."""

    def __init__(self, address: str, *, options: Options, formats: Sequence[str]) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise GraderError("--scheduler needs Dask: pip install 'grader[dask]'") from None
        try:
            self.client = Client(address, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise GraderError(f"--scheduler {address}: cannot connect ({exc})") from None
        self.options, self.formats = options, tuple(formats)

    def __call__(self, todo: list[Submission]) -> Iterator[tuple[Submission, dict[str, Any]]]:
        from distributed import as_completed

        # A GPU worker declares `--resources GPU=1`: one notebook per GPU at a time.
        resources = {"GPU": 1} if self.options.device == "cuda" else None
        futures = {}
        for submission in todo:
            data, problem = _read(submission.path)
            if problem is not None:
                yield submission, {"outcome": "rejected", "error": problem}
                continue
            future = self.client.submit(
                grade_task,
                str(submission.path),
                self.options,
                self.formats,
                data,
                key=f"grade-{submission.student}-{os.urandom(4).hex()}",
                resources=resources,
                retries=1,  # a worker lost mid-grading: once more elsewhere
                pure=False,
            )
            futures[future] = submission
        try:
            for future in as_completed(futures):
                try:
                    result = future.result()
                except Exception as exc:  # the task was lost with its workers
                    result = {"outcome": "failed", "error": f"Dask: {type(exc).__name__}: {exc}"}
                yield futures[future], result
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        self.client.close()


def _read(path: Path) -> tuple[bytes, str | None]:
    """The bytes sent to a remote worker, or why this notebook is refused here, as ``grade`` would."""
    from ..errors import NotebookError
    from ..notebook import read_notebook

    try:
        read_notebook(path)
        return path.read_bytes(), None
    except NotebookError as exc:
        return b"", str(exc)
    except OSError as exc:
        return b"", f"{path}: cannot be read ({exc.strerror})"
