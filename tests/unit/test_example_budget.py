"""How many inputs an item draws: ``grade --examples``, the item's own ``examples:``, its check's budget, the rubric's."""

from __future__ import annotations

import dataclasses

import pytest

from grader.course.assignment import load


@pytest.fixture(scope="module")
def basics():
    return load("autograd-basics")


def _item(assignment, item_id):
    return next(item for item in assignment.rubric.items if item.id == item_id)


def test_a_check_with_a_budget_draws_fewer_than_the_rubric(basics):
    train = _item(basics, "e7.train_logreg")
    assert basics.check_for(train).examples == 20
    assert basics.rubric.examples == 100
    assert basics.examples_for(train) == 20


def test_a_check_without_a_budget_draws_the_rubrics_number(basics):
    grads = _item(basics, "e2.grads")
    assert basics.check_for(grads).examples is None
    assert basics.examples_for(grads) == 100


def test_the_items_own_number_wins_over_its_checks_budget(basics):
    train = dataclasses.replace(_item(basics, "e7.train_logreg"), examples=7, examples_given=True)
    assert basics.examples_for(train) == 7
    more = dataclasses.replace(train, examples=300)
    assert basics.examples_for(more) == 300


def test_a_budget_never_raises_the_rubrics_number(basics):
    train = dataclasses.replace(_item(basics, "e7.train_logreg"), examples=10)  # a rubric that says 10 for all
    assert basics.examples_for(train) == 10


def test_grade_examples_overrides_everything_and_mutate_can_raise_the_floor(basics):
    train = _item(basics, "e7.train_logreg")
    assert basics.examples_for(train, given=3) == 3
    assert basics.examples_for(train, at_least=100) == 100
    assert basics.examples_for(_item(basics, "e2.grads"), at_least=100) == 100
