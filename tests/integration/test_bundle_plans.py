"""``grade bundle --plans``: the stored plans travel in the bundle, and a grading with it replays them."""

from __future__ import annotations

import json
import zipfile

from conftest import SAMPLES, items_by_id


def test_a_bundle_with_plans_grades_without_drawing_anything(grade, tmp_path):
    bundle = tmp_path / "autograd-basics.zip"
    made = grade("bundle", "autograd-basics", "--plans", "-o", bundle)
    assert made.returncode == 0, made.stderr
    assert "plans for torch" in made.stdout
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("MANIFEST.json"))
    plans = [name for name in manifest["files"] if name.startswith("plans/")]
    assert len(plans) == 12  # one per item of the rubric
    assert manifest["plans_made_with"]["torch"]

    cache = tmp_path / "empty-cache"
    done = grade(
        "-f", "json", "-a", bundle, SAMPLES / "wrong_grad_not_cleared.ipynb", env={"GRADER_CACHE_DIR": str(cache)}
    )
    assert done.returncode == 0, done.stderr
    items = items_by_id(json.loads(done.stdout))
    assert items["e7.train_step"]["status"] == "failed" and items["e1.value"]["status"] == "passed"
    # Every item's inputs and reference answers came from the bundle: the cache was never written.
    assert not list(cache.rglob("*.plan"))


def test_a_bundle_without_plans_has_none(grade, tmp_path):
    bundle = tmp_path / "autograd-basics.zip"
    assert grade("bundle", "autograd-basics", "-o", bundle).returncode == 0
    with zipfile.ZipFile(bundle) as archive:
        assert not [name for name in archive.namelist() if name.startswith("plans/")]
        assert "plans_made_with" not in json.loads(archive.read("MANIFEST.json"))
