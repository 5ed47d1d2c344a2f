"""The same notebook always gets the same report, with or without stored plans."""

from __future__ import annotations

from conftest import SAMPLES, without_timings


def test_same_report_every_time(grade_json, tmp_path):
    for sample in ("wrong_sgd_step_rebinds.ipynb",):
        fresh = grade_json(SAMPLES / sample, "--no-cache")
        stored_once = grade_json(SAMPLES / sample, "--cache-dir", tmp_path / "plans")
        replayed = grade_json(SAMPLES / sample, "--cache-dir", tmp_path / "plans")
        assert without_timings(fresh) == without_timings(stored_once) == without_timings(replayed)
        assert any((tmp_path / "plans").rglob("*.plan"))


def test_another_seed_draws_other_inputs_and_is_recorded(grade_json):
    default = grade_json(SAMPLES / "wrong_sgd_step_rebinds.ipynb")
    other = grade_json(SAMPLES / "wrong_sgd_step_rebinds.ipynb", "--seed", 7)
    assert other["environment"]["seed"] == 7
    assert [i["status"] for i in other["items"]] == [i["status"] for i in default["items"]]
