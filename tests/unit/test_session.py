"""What the trusted side takes from the child's own account of itself."""

from __future__ import annotations

import pytest

from grader.course.rubric import Limits
from grader.sandbox.session import Session


@pytest.mark.parametrize(
    "asked, said, taken",
    [
        ("auto", "cuda", "cuda"),
        ("auto", "cpu", "cpu"),
        ("auto", "../../etc", "cpu"),
        ("auto", ["cuda"], "cpu"),
        ("cpu", "cuda", "cpu"),  # a child that claims a GPU it was not asked for is not believed
        ("cuda", "cpu", "cuda"),
        ("cpu", None, "cpu"),
    ],
)
def test_the_device_a_child_reports_is_one_it_may_run_on(asked, said, taken):
    assert Session(device=asked, limits=Limits())._reported_device(said) == taken


def test_the_total_budget_caps_every_deadline():
    session = Session(device="cpu", limits=Limits())
    assert session.until(5.0) == 5.0 and not session.out_of_budget()
    session.stop_at = 1.0
    assert session.until(5.0) == 1.0 and session.out_of_budget()


def test_the_answers_a_notebook_sends_are_capped_in_all():
    from types import SimpleNamespace

    from grader.sandbox.calls import ANSWERS_KEPT_BYTES, CallStream

    session = Session(device="cpu", limits=Limits())
    streams = [CallStream(session, SimpleNamespace(conn=None), call_s=1.0) for _ in range(2)]  # two items
    blob = b"\0" * (32 << 20)  # one answer just under the probe's cap
    kinds = []
    for i in range(ANSWERS_KEPT_BYTES // len(blob) + 2):
        stream = streams[i % 2]
        stream._sent += 1
        stream._accept({"id": len(stream._done)}, [blob])
        kinds.append(stream._done[-1].kind)
    assert kinds[: ANSWERS_KEPT_BYTES // len(blob)] == ["ok"] * (ANSWERS_KEPT_BYTES // len(blob))
    assert kinds[-1] == "too_large" and streams[1]._done[-1].blobs == ()  # refused, and not kept
    assert "MiB of answers from this notebook in all" in streams[1]._done[-1].detail
