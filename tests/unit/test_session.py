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
