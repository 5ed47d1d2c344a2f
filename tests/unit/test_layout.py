"""The package's layout stays what it claims: layers, no circles, one public surface for assignments."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import grader.authoring
from conftest import ROOT

LINT_IMPORTS = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")


@pytest.mark.skipif(not Path(LINT_IMPORTS).exists(), reason="needs import-linter (pip install import-linter)")
def test_the_declared_layers_hold():
    done = subprocess.run([LINT_IMPORTS], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_no_module_of_the_grader_imports_itself_back():
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("grader")
    imports = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    circles = [
        (a, b)
        for a in imports
        for b in imports[a]
        if a in imports.get(b, ()) or graph.chain_exists(importer=b, imported=a)
    ]
    assert not [(a, b) for a, b in circles if not (a.startswith(b) or b.startswith(a))], circles


def test_a_reference_package_imports_only_the_authoring_api():
    found = set()
    for path in (ROOT / "reference").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "grader":
                found.add((path.relative_to(ROOT).as_posix(), node.module))
            elif isinstance(node, ast.Import):
                found |= {
                    (path.relative_to(ROOT).as_posix(), a.name) for a in node.names if a.name.startswith("grader")
                }
    assert found and {module for _, module in found} == {"grader.authoring"}, sorted(found)


def test_the_authoring_api_exports_exactly_its_all():
    submodules = {"api", "autograd", "extending", "steps", "strategies"}
    # `_` is public: the gettext function instructors mark their sentences with.
    public = {name for name in vars(grader.authoring) if name == "_" or not name.startswith("_")}
    public -= submodules | {"annotations"}
    assert set(grader.authoring.__all__) == public
    assert all(getattr(grader.authoring, name) is not None for name in grader.authoring.__all__)


def test_the_top_of_the_package_stays_small_and_names_no_assignment():
    top = sorted(p.name for p in (ROOT / "grader").glob("*.py"))
    assert len(top) <= 12, top
    for path in (ROOT / "grader").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "autograd-basics" not in text and "autograd_basics" not in text, path


def test_the_childs_copies_of_shared_words_say_the_same():
    # grader.child imports nothing trusted, so it keeps its own copies: one meaning each.
    from grader.child import selfcheck
    from grader.result import CHECK_STATUSES, LATER

    assert selfcheck.LATER == LATER
    assert {selfcheck.PASSED, selfcheck.FAILED, "unchecked"} <= set(CHECK_STATUSES)
