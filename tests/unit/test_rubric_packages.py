"""The rubric's ``packages:``: its shape, and errors that name the file and the key."""

from __future__ import annotations

import pytest
import yaml

from conftest import ROOT
from grader.course.rubric import Package, load_rubric
from grader.errors import RubricError

RUBRIC = ROOT / "rubrics" / "autograd-basics.yaml"


def rubric_with(tmp_path, packages):
    data = yaml.safe_load(RUBRIC.read_text(encoding="utf-8"))
    data["reference"] = str(ROOT / "reference" / "autograd_basics")
    data["packages"] = packages
    path = tmp_path / "rubric.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_the_shipped_rubric_lists_the_lectures_packages():
    assert load_rubric(RUBRIC).packages == (Package("sklearn", "scikit-learn"), Package("torchviz", "torchviz"))


def test_a_module_name_or_a_mapping_with_its_pip_name(tmp_path):
    path = rubric_with(tmp_path, ["torchviz", {"import": "sklearn", "pip": "scikit-learn"}, {"import": "scipy"}])
    assert load_rubric(path).packages == (
        Package("torchviz", "torchviz"),
        Package("sklearn", "scikit-learn"),
        Package("scipy", "scipy"),
    )
    assert load_rubric(rubric_with(tmp_path, [])).packages == ()


@pytest.mark.parametrize(
    "packages, message",
    [
        ("scikit-learn", 'packages: expected a list, found "scikit-learn"'),
        ({"sklearn": "scikit-learn"}, 'packages: expected a list, found {"sklearn": "scikit-learn"}'),
        (
            ["torchviz", "scikit-learn"],
            'packages[1]: "scikit-learn" is not a top-level module name (as in `import sklearn`; '
            "where pip's name differs, write {import: sklearn, pip: scikit-learn})",
        ),
        (
            ["sklearn.metrics"],
            'packages[0]: "sklearn.metrics" is not a top-level module name (as in `import sklearn`; '
            "where pip's name differs, write {import: sklearn, pip: scikit-learn})",
        ),
        ([{"import": "sklearn", "pipp": "scikit-learn"}], "packages[0]: unknown key 'pipp' (did you mean 'pip'?)"),
        ([{"pip": "scikit-learn"}], "packages[0]: missing required key 'import'"),
        (
            [{"import": "sklearn", "pip": "scikit-learn>=1.3"}],
            "packages[0].pip: \"scikit-learn>=1.3\" is not a package name pip installs (letters, digits, '.', '_', "
            "'-'; no version)",
        ),
        ([{"import": 3}], "packages[0].import: expected a string, found 3"),
        ([7], "packages[0]: expected a module name, or {import: MODULE, pip: NAME}, found 7"),
        (["torchviz", {"import": "torchviz"}], "packages[1]: lists 'torchviz' twice"),
    ],
)
def test_malformed_packages_name_the_file_and_key(tmp_path, packages, message):
    path = rubric_with(tmp_path, packages)
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    assert str(info.value) == f"{path}: {message}"
