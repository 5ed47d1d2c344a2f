"""Calls to a worker, pipelined, each under its own deadline.

Requests are queued without waiting for earlier replies, so generating the
next example on the trusted side overlaps the student's code running in the
child. A worker handles requests in order; the clock for request k starts
when it could have started (its predecessor answered), and a request that
runs past the per-call limit ends the stream: the worker is killed by the
session and every later request is void.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..child.wire import FrameTimeout, WireError
from ..i18n import _, decimal
from .execution import TOTAL_LIMIT, budget_text
from .session import Session, Worker


@dataclass(frozen=True)
class CallOutcome:
    kind: str  # "ok", "missing", "too_large", "timeout", "crashed", "protocol_error", "void"
    header: dict | None = None
    blobs: tuple[bytes, ...] = ()
    detail: str = ""
    limit: str | None = None  # the limit that ended the call: "time limit", "memory limit", "exited", …


ANSWERS_KEPT_BYTES = 256 << 20


class CallStream:
    """A worker's calls; one still running when the notebook's total time budget ends (``Session.stop_at``) ends it."""

    def __init__(self, session: Session, worker: Worker, *, call_s: float) -> None:
        self._session = session
        self.worker = worker
        self._call_s = call_s
        self._sent = 0
        self._done: list[CallOutcome] = []
        self._busy_since: float | None = None
        self.broken: CallOutcome | None = None

    def submit(self, request: dict, blobs: list[bytes]) -> int:
        index = self._sent
        self._sent += 1
        if self.broken is None:
            self.worker.conn.queue({**request, "id": index}, blobs)
            if self._busy_since is None:
                self._busy_since = time.monotonic()
            self.pump()
        return index

    def pump(self, *, block_until: float | None = None) -> None:
        """Makes progress without blocking (or until ``block_until``)."""
        if self.broken is not None:
            return
        conn = self.worker.conn
        try:
            while len(self._done) < self._sent:
                frame = conn.poll_frame() if block_until is None else None
                if frame is None and block_until is not None:
                    assert self._busy_since is not None
                    deadline = min(block_until, self._busy_since + self._call_s)
                    try:
                        frame = conn.recv(deadline=deadline)
                    except FrameTimeout:
                        if time.monotonic() >= self._busy_since + self._call_s:
                            self._break("timeout", self._no_answer())
                        return
                if frame is None:
                    if self._busy_since is not None and time.monotonic() > self._busy_since + self._call_s:
                        self._break("timeout", self._no_answer())
                    if conn.has_outgoing():
                        conn.pump(timeout=0.0, want_read=False)
                    return
                header, blobs = frame
                self._accept(header, blobs)
            if conn.has_outgoing():
                conn.pump(timeout=0.0, want_read=False)
        except WireError as exc:
            self._break("crashed", str(exc))

    def _no_answer(self) -> str:
        return _("no answer within {seconds} s").format(seconds=decimal(f"{self._call_s:g}"))

    def _accept(self, header: dict, blobs: list[bytes]) -> None:
        if header.get("id") != len(self._done):
            self._break("protocol_error", _("the worker answered out of turn"))
            return
        if header.get("missing"):
            outcome = CallOutcome("missing", header)
        elif header.get("too_large"):
            outcome = CallOutcome("too_large", header, detail=str(header["too_large"])[:300])
        elif header.get("protocol_error"):
            outcome = CallOutcome("protocol_error", header, detail=str(header["protocol_error"])[:300])
        else:
            outcome = CallOutcome("ok", header, tuple(blobs))
            # Answers are kept until the notebook's grading ends (to judge, shrink and report): the probe
            # caps each one, this caps them all, so a notebook cannot fill the grader's memory 32 MiB at a time.
            self._session.answer_bytes += sum(map(len, blobs))
            if self._session.answer_bytes > ANSWERS_KEPT_BYTES:
                detail = _("more than {n} MiB of answers from this notebook in all").format(n=ANSWERS_KEPT_BYTES >> 20)
                outcome = CallOutcome("too_large", header, detail=detail)
        self._done.append(outcome)
        self._busy_since = time.monotonic() if len(self._done) < self._sent else None

    def _break(self, kind: str, detail: str, *, limit: str | None = None) -> None:
        if kind == "timeout":
            limit = limit or "time limit"
            self._session.note_limit(limit)
        elif kind == "crashed":
            detail = self._session.exit_status(self.worker)
            hits = self._session.new_limit_hits()
            limit = hits[0] if hits else "exited"
            self._session.note_limit(limit)
        # Also after a "crash": a worker that sent garbage may still be running.
        self._session.kill_worker(self.worker)
        self.broken = CallOutcome(kind, detail=detail, limit=limit)

    def result(self, index: int) -> CallOutcome:
        """The outcome of request ``index``, waiting for it under its deadline."""
        while index >= len(self._done) and self.broken is None:
            if self._session.out_of_budget():
                self._break("timeout", budget_text(self._session.limits), limit=TOTAL_LIMIT)
                break
            self.pump(block_until=self._session.until(time.monotonic() + self._call_s + 1))
        if index < len(self._done):
            return self._done[index]
        assert self.broken is not None
        if index == len(self._done):
            return self.broken
        return CallOutcome("void", detail="an earlier call ended the worker")

    def close(self) -> None:
        if self.broken is None:
            self._session.close_worker(self.worker)
