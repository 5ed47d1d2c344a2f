"""Every sample submission gets exactly the verdicts listed in expected.yaml."""

from __future__ import annotations

import pytest
import yaml

from conftest import ROOT, SAMPLES, assert_verdicts

EXPECTED = yaml.safe_load((SAMPLES / "expected.yaml").read_text(encoding="utf-8"))
RUBRIC_ITEMS = [item["id"] for item in yaml.safe_load((ROOT / "rubrics" / "autograd-basics.yaml").read_text())["items"]]


def test_every_sample_has_expected_verdicts():
    listed = {spec.get("notebook", name) for name, spec in EXPECTED.items()}
    on_disk = {p.name for p in SAMPLES.glob("*.ipynb")}
    assert on_disk <= listed


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_gets_its_verdicts(name, grade_json):
    spec = EXPECTED[name]
    notebook = ROOT / spec["notebook"] if "notebook" in spec else SAMPLES / name
    args = ("-a", ROOT / spec["rubric"]) if "rubric" in spec else ()
    report = grade_json(notebook, *args)
    assert_verdicts(report, spec, RUBRIC_ITEMS)
