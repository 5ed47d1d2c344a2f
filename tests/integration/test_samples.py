"""Every sample submission gets exactly the verdicts listed in expected.yaml.

The samples graded with the course's rubric are graded in one ``grade batch``
(whose verdicts are those of ``grade`` alone: test_batch checks that); the
ones with their own rubric (short limits) are graded one by one.
"""

from __future__ import annotations

import pytest
import yaml

from conftest import ROOT, SAMPLES, STUDENT_FORMATS, assert_all_polish, assert_verdicts, batch_reports

EXPECTED = yaml.safe_load((SAMPLES / "expected.yaml").read_text(encoding="utf-8"))
RUBRIC_ITEMS = [item["id"] for item in yaml.safe_load((ROOT / "rubrics" / "autograd-basics.yaml").read_text())["items"]]


def test_every_sample_has_expected_verdicts():
    listed = {spec.get("notebook", name) for name, spec in EXPECTED.items()}
    on_disk = {p.name for p in SAMPLES.glob("*.ipynb")}
    assert on_disk <= listed


def _notebook(name: str):
    spec = EXPECTED[name]
    return ROOT / spec["notebook"] if "notebook" in spec else SAMPLES / name


@pytest.fixture(scope="module")
def batch_out(plan_cache, tmp_path_factory):
    """One grade batch of the samples in the course's language (Polish: no --lang, no $GRADER_LANG),
    rendered in every format a student reads."""
    notebooks = [_notebook(name) for name, spec in sorted(EXPECTED.items()) if "rubric" not in spec]
    out = tmp_path_factory.mktemp("samples") / "out"
    formats = [arg for fmt in STUDENT_FORMATS for arg in ("-f", fmt)]
    return out, batch_reports(notebooks, out, plan_cache, *formats, env={"GRADER_LANG": ""})


@pytest.fixture(scope="module")
def batched(batch_out) -> dict:
    return batch_out[1]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_gets_its_verdicts(name, request):
    spec = EXPECTED[name]
    if "rubric" in spec:
        report = request.getfixturevalue("grade_json")(_notebook(name), "-a", ROOT / spec["rubric"])
    else:
        report = request.getfixturevalue("batched")[_notebook(name).resolve()]
    assert_verdicts(report, spec, RUBRIC_ITEMS)


def test_every_classic_mistake_reads_in_polish_in_every_format(batch_out):
    out, reports = batch_out
    assert assert_all_polish(out) == len(reports) * len(STUDENT_FORMATS)


def test_a_function_a_later_cell_rebinds_is_explained_not_just_missing(batched):
    (item,) = [i for i in batched[SAMPLES / "wrong_lecture_cell_rebinds_f1.ipynb"]["items"] if i["id"] == "e1.value"]
    # Polish, the course's language: "cell 4 defines it, but cell 24 then gives the name f1 another value"
    assert "Komórka 4 ją definiuje, ale komórka 24 nadaje potem nazwie f1 inną wartość" in item["feedback"]
