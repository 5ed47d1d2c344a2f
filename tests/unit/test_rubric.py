from __future__ import annotations

import pytest
import yaml

from conftest import ROOT
from grader.course.assignment import load
from grader.course.rubric import load_rubric
from grader.errors import AssignmentNotFound, RubricError

RUBRIC = ROOT / "rubrics" / "autograd-basics.yaml"


def rubric_with(tmp_path, edit) -> Path:  # noqa: F821
    data = yaml.safe_load(RUBRIC.read_text())
    data["reference"] = str(ROOT / "reference" / "autograd_basics")
    edit(data)
    path = tmp_path / "rubric.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_the_shipped_rubric_matches_the_spec():
    assignment = load("autograd-basics")
    points = {item.id: item.points for item in assignment.rubric.items}
    assert points == {
        "e1.value": 5,
        "e1.autograd": 10,
        "e1.analytic": 5,
        "e2.grads": 15,
        "e3.retain_grad": 10,
        "e4.grads": 10,
        "e5.no_grad": 5,
        "e5.freeze": 5,
        "e6.sgd_step": 15,
        "e7.train_step": 10,
        "e7.accuracy": 5,
        "e7.train_logreg": 5,
    }
    assert assignment.rubric.max_score == 100
    targets = [item.target for item in assignment.rubric.items]
    assert targets == [
        "f1",
        "grad_f1",
        "grad_f1_analytic",
        "linear_bce_grads",
        "intermediate_grads",
        "grad_f3",
        "predict_no_grad",
        "freeze_weight_",
        "sgd_step_",
        "train_step",
        "accuracy",
        "train_logreg",
    ]
    assert all(item.examples >= 100 for item in assignment.rubric.items)
    assert assignment.solution.f1  # the reference imports and has every target


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["items"][2].update(pionts=3), "items[2]: unknown key 'pionts' (did you mean 'points'?)"),
        (lambda d: d["items"][0].pop("target"), "items[0]: missing required key 'target'"),
        (lambda d: d["items"][1].update(points="ten"), 'items[1].points: expected a number, found "ten"'),
        (lambda d: d["items"][1].update(points=-1), "items[1].points: must be > 0, found -1"),
        (
            lambda d: d["limits"].update(call_second=3),
            "limits: unknown key 'call_second' (did you mean 'call_seconds'?)",
        ),
        (lambda d: d.update(items=[]), "items: must not be empty"),
        (
            lambda d: d["tolerances"]["float32"].update(rtol="tiny"),
            'tolerances.float32.rtol: expected a number, found "tiny"',
        ),
    ],
)
def test_schema_errors_name_the_file_and_key(tmp_path, edit, message):
    path = rubric_with(tmp_path, edit)
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    assert str(info.value) == f"{path}: {message}"


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda d: d["items"][0].update(check="e1_valeu"),
            "items[0].check: the reference has no check 'e1_valeu' (did you mean 'e1_value'?)",
        ),
        (
            lambda d: d["items"][0].update(target="grad_f1"),
            "items[0].target: 'grad_f1', but check 'e1_value' tests 'f1'",
        ),
        (
            lambda d: d["items"][8]["parts"].update(update=8),
            "items[8].parts: the parts add up to 14 points, but the item has 15",
        ),
        (
            lambda d: d["items"][8]["parts"].update(updte=1),
            "items[8].parts: check 'e6_sgd_step' has no part 'updte' (did you mean 'update'?)",
        ),
        (lambda d: d["items"][1].update(id="e1.value"), "items[1].id: duplicate item id 'e1.value'"),
        (
            lambda d: d["items"][0]["misconceptions"].append("grad_mode_left_of"),
            "items[0].misconceptions: unknown misconception 'grad_mode_left_of' (did you mean 'grad_mode_left_off'?)",
        ),
    ],
)
def test_references_to_the_reference_are_checked_at_load_time(tmp_path, edit, message):
    path = rubric_with(tmp_path, edit)
    with pytest.raises(RubricError) as info:
        load(str(path))
    assert str(info.value) == f"{path}: {message}"


def test_yaml_errors_and_duplicate_keys(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("assignment: x\nitems: [\n")
    with pytest.raises(RubricError, match=r"broken.yaml: not valid YAML: line 3, column 1"):
        load_rubric(broken)
    twice = tmp_path / "twice.yaml"
    twice.write_text("assignment: x\nreference: r\nassignment: y\nitems: []\n")
    with pytest.raises(RubricError, match=r"twice.yaml: not valid YAML: line 3, column 1: duplicate key 'assignment'"):
        load_rubric(twice)


def test_a_missing_reference_package(tmp_path):
    path = rubric_with(tmp_path, lambda d: d.update(reference=str(tmp_path / "nowhere")))
    with pytest.raises(RubricError, match=r"reference: .*nowhere is not a Python package"):
        load(str(path))


def test_unknown_rubric_path():
    with pytest.raises(AssignmentNotFound, match="no such rubric file"):
        load("no/such/rubric.yaml")


def test_titles_are_shown_in_the_language_of_the_run(tmp_path):
    from grader.i18n import language

    rubric = load_rubric(RUBRIC)
    assert rubric.language == "pl"
    with language("pl"):
        assert rubric.items[0].title == "Wartość f(t, u) = Σ t² + Σ ln u, różniczkowalna"
    with language("en"):
        assert rubric.items[0].title == "Value of f(t, u) = Σ t² + Σ ln u, differentiable"


def test_a_title_without_the_translation_others_give_is_named_with_its_key(tmp_path):
    path = rubric_with(tmp_path, lambda data: data["items"][3].update(title={"pl": "Tylko po polsku"}))
    with pytest.raises(RubricError, match=r"rubric\.yaml: items\[3\]\.title: no 'en' translation"):
        load_rubric(path)


def test_a_plain_title_counts_as_the_course_language(tmp_path):
    def edit(data):
        data["language"] = "en"
        data["items"][0]["title"] = "Only in English"

    with pytest.raises(RubricError, match=r"items\[0\]\.title: no 'pl' translation"):
        load_rubric(rubric_with(tmp_path, edit))


def test_an_unknown_language_is_refused_with_its_key(tmp_path):
    path = rubric_with(tmp_path, lambda data: data.update(language="de"))
    with pytest.raises(RubricError, match=r"language: "):
        load_rubric(path)
