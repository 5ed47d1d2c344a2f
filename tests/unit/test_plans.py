from __future__ import annotations

import shutil

from conftest import ROOT
from grader.course.rubric import load_rubric
from grader.judging.plans import Entry, PlanStore

RUBRIC = ROOT / "rubrics" / "autograd-basics.yaml"


def test_plans_round_trip_and_damaged_ones_are_dropped(tmp_path):
    rubric = load_rubric(RUBRIC)
    store = PlanStore(tmp_path, rubric)
    key = store.key(rubric.items[0], seed=1, examples=100)
    entries = [Entry(({"op": "call", "n": i}, [b"x" * i]), ({"error": None}, [])) for i in range(3)]
    store.save(key, entries)
    assert store.load(key) == entries
    path = next(tmp_path.rglob("*.plan"))
    path.write_bytes(path.read_bytes()[:-3])
    assert store.load(key) is None and not path.exists()


def test_keys_change_with_the_rubric_seed_and_item(tmp_path):
    rubric = load_rubric(RUBRIC)
    store = PlanStore(tmp_path, rubric)
    key = store.key(rubric.items[0], seed=1, examples=100)
    assert key != store.key(rubric.items[0], seed=2, examples=100)
    assert key != store.key(rubric.items[1], seed=1, examples=100)
    assert key != store.key(rubric.items[0], seed=1, examples=50)
    copy = tmp_path / "rubric.yaml"
    shutil.copy(RUBRIC, copy)
    copy.write_text(
        copy.read_text().replace("seed: 20261126", "seed: 1").replace("../reference", str(ROOT / "reference"))
    )
    assert PlanStore(tmp_path, load_rubric(copy)).key(rubric.items[0], seed=1, examples=100) != key
