"""The public checks in the student's language (issue 12): catalogues complete, handed over as data.

Every message an assignment's ``public_checks.py`` marks (``_``, ``N_``,
``ngettext``) has a Polish translation that keeps its placeholders in the
catalogue that ships beside it (``locale/pl/LC_MESSAGES/public_checks.po``) or
in the harness's ``selfcheck.po``; the checker's own texts (``grader/child/``)
in ``selfcheck.po``, the one harness catalogue the checks' side receives. The
translations cross to the checks' side as plain data, and a Polish run of a
real public check on a wrong function reads Polish.
"""

from __future__ import annotations

import gettext
import json
import re
import sys
from pathlib import Path

import pytest
import torch
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from conftest import ROOT
from grader.child import selfcheck
from grader.child.language import _PLURAL_RULES, Translations
from grader.selfcheck.catalogue import catalogue_of, translations

KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
PLURAL_FORMS = 3
HARNESS = ROOT / "grader" / "locale" / "pl" / "LC_MESSAGES" / "selfcheck.po"
PUBLIC_CHECKS = sorted((ROOT / "assignments").glob("*/public_checks.py"))
CHILD = sorted((ROOT / "grader" / "child").glob("*.py"))
_FIELD = re.compile(r"(?<!\{)\{([^{}]*)\}(?!\})")


def _marked(*files: Path) -> dict[str | tuple[str, ...], str]:
    found: dict[str | tuple[str, ...], str] = {}
    for path in files:
        for lineno, message, _comments, _context in extract_from_file("python", path, keywords=KEYWORDS):
            key = message if isinstance(message, str) else tuple(message)
            found.setdefault(key, f"{path.relative_to(ROOT)}:{lineno}")
    return found


def _entries(*files: Path) -> dict[str, object]:
    merged = {}
    for path in files:
        with path.open("rb") as handle:
            catalogue = read_po(handle, locale="pl")
        assert catalogue.num_plurals == PLURAL_FORMS and "n%10>=2 && n%10<=4" in catalogue.plural_forms, path
        merged.update({m.id if isinstance(m.id, str) else m.id[0]: m for m in catalogue if m.id})
    return merged


def _problems(marked: dict, entries: dict) -> list[str]:
    problems = []
    for message_id, where in marked.items():
        entry = entries.get(message_id if isinstance(message_id, str) else message_id[0])
        strings = () if entry is None else (entry.string,) if isinstance(entry.string, str) else entry.string
        if entry is None or entry.fuzzy or not strings or not all(strings):
            problems.append(f"{where}: no Polish translation of {message_id!r}")
            continue
        if isinstance(message_id, tuple) and len(strings) != PLURAL_FORMS:
            problems.append(f"{where}: {message_id!r} needs {PLURAL_FORMS} plural forms")
        wanted = set(_FIELD.findall(message_id if isinstance(message_id, str) else message_id[0]))
        problems += [
            f"{where}: {text!r} has the placeholders {sorted(set(_FIELD.findall(text)))}, not {sorted(wanted)}"
            for text in strings
            if set(_FIELD.findall(text)) != wanted
        ]
    return problems


@pytest.mark.parametrize("checks", PUBLIC_CHECKS, ids=lambda p: p.parent.name)
def test_every_message_of_the_public_checks_has_a_polish_translation_beside_them(checks):
    marked = _marked(checks)
    assert len(marked) > 20, f"{checks}: its messages are not marked for translation"
    catalogue = catalogue_of(checks, "pl")
    assert catalogue == checks.parent / "locale" / "pl" / "LC_MESSAGES" / "public_checks.po"
    assert _problems(marked, _entries(HARNESS, catalogue)) == []


def test_the_checkers_own_messages_are_in_the_catalogue_the_checks_side_receives():
    marked = _marked(*CHILD)
    assert "{what} requires grad" in marked and "passed" in marked
    assert _problems(marked, _entries(HARNESS)) == []


def test_the_child_plural_rule_is_the_catalogues():
    with HARNESS.open("rb") as handle:
        expression = read_po(handle, locale="pl").plural_expr
    rule = gettext.c2py(expression)
    assert [_PLURAL_RULES["pl"](n) for n in range(1000)] == [rule(n) for n in range(1000)]


# -- handed over as data ---------------------------------------------------------------------


def test_the_translations_cross_as_plain_data():
    data = translations("pl", PUBLIC_CHECKS[0])
    assert json.loads(json.dumps(data)) == data  # strings and lists of strings only, as the wire carries them
    assert data["language"] == "pl"
    assert data["messages"]["passed"] == "zaliczone"
    assert len(data["plurals"]["{count} of {n} values differ (max abs diff {worst}): got {got}, expected {want}"]) == 3
    assert translations("en", PUBLIC_CHECKS[0]) == {"language": "en", "messages": {}, "plurals": {}}


@pytest.mark.parametrize(
    "data",
    [None, "pl", {"language": "xx", "messages": {"passed": "zaliczone"}}, {"language": "pl", "messages": ["a"]}],
)
def test_what_is_not_translations_is_english(data):
    spoken = Translations.from_data(data)
    assert spoken.gettext("passed") == "passed"
    assert spoken.ngettext("{n} value", "{n} values", 2) == "{n} values"


def test_polish_plural_forms_on_the_checks_side():
    spoken = Translations.from_data(
        {"language": "pl", "plurals": {"{n} value": ["{n} wartość", "{n} wartości", "{n} wartości!"], "x": [3]}}
    )
    forms = [spoken.ngettext("{n} value", "{n} values", n) for n in (1, 2, 5, 12, 22, 25)]
    assert forms == ["{n} wartość", "{n} wartości", "{n} wartości!", "{n} wartości!", "{n} wartości", "{n} wartości!"]
    assert "x" not in spoken.plurals  # a form that is not a string is dropped, never used


# -- a real public check, in Polish and in English -----------------------------------------------


def _wrong_f1(t, u):
    return (t**2).sum() + torch.log(u).sum() + 1.0  # off by one


@pytest.fixture(scope="module")
def basics():
    path = ROOT / "assignments" / "autograd-basics" / "public_checks.py"
    return path, selfcheck.load(path.read_text(encoding="utf-8"), str(path))


def test_a_public_check_reads_polish_in_a_polish_run(basics):
    path, checks = basics
    result = selfcheck.run_item(checks, "e1.value", {"f1": _wrong_f1}, translations=translations("pl", path))
    assert result["status"] == "failed"
    failed = [f for f in result["findings"] if f["status"] == "failed"]
    assert failed[0]["check"] == "f(t, u) = Σ t² + Σ ln u"  # a formula is the same in every language
    assert failed[0]["message"] == (
        "1 z 1 wartości się różni (największa różnica bezwzględna 1): jest [27.3], a powinno być [26.3]"
    )
    names = {f["check"] for f in result["findings"]}
    assert {"tensor 0-wymiarowy", "t i u wywołującego bez zmian", "tryb gradientu taki jak przed wywołaniem"} <= names
    missing = selfcheck.run_item(checks, "e1.autograd", {}, translations=translations("pl", path))
    assert missing == {"status": "missing", "message": "notatnik nie definiuje grad_f1()"}


def test_a_public_check_reads_english_without_a_language(basics):
    _path, checks = basics
    result = selfcheck.run_item(checks, "e1.value", {"f1": _wrong_f1})
    names = {f["check"] for f in result["findings"]}
    assert {"a 0-dim tensor", "the caller's t and u untouched", "grad mode left as found"} <= names
    assert selfcheck.run_item(checks, "e1.autograd", {})["message"] == "the notebook does not define grad_f1()"


def test_a_count_agrees_with_its_verb_in_polish():
    check = selfcheck.Checker()
    data = translations("pl", None)
    got, want = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]), torch.tensor([1.0, 0.0, 0.0, 4.0, 5.0])
    with selfcheck.speaking(Translations.from_data(data)):
        check.close("x", got, want)
        check.close("y", got, torch.tensor([0.0, 0.0, 0.0, 0.0, 0.5]))
    assert check.findings[0].message.startswith("2 z 5 wartości się różnią (największa różnica bezwzględna 3): jest")
    assert check.findings[1].message.startswith("5 z 5 wartości się różni (największa różnica bezwzględna 4,5): jest")
    check.close("z", got, want)
    assert check.findings[2].message.startswith("2 of 5 values differ (max abs diff 3): got [1, 2, 3, 4, 5]")


def test_the_results_of_grader_check_show_in_their_language():
    items = [
        selfcheck.ItemCheck("e7.train_step", "failed", findings=[{"check": "c", "status": "failed", "message": ""}])
    ]
    polish = selfcheck.CheckResults(items, Translations.from_data(translations("pl", None)))
    assert str(polish) == "e7.train_step    niezaliczone\n  niezaliczone: c"
    assert polish._repr_html_().startswith("<table><tr><th>punkt</th><th>publiczne testy</th>")
    assert str(selfcheck.CheckResults(items)) == "e7.train_step    failed\n  failed: c"


def test_the_checks_import_the_running_modules_underscore_in_the_sandbox_layout(monkeypatch):
    """In the sandbox the child package is the top-level ``child``: the checks' import must reach it."""
    monkeypatch.syspath_prepend(str(ROOT / "grader"))
    monkeypatch.delitem(sys.modules, "grader.child.selfcheck")
    for name in [n for n in sys.modules if n == "child" or n.startswith("child.")]:
        monkeypatch.delitem(sys.modules, name)
    import child.selfcheck as sandboxed  # the name the sandbox knows it by

    try:
        checks = sandboxed.load("from grader.child.selfcheck import _\n\ndef e_x(check):\n    check.ok(_('passed'))\n")
        assert sys.modules["grader.child.selfcheck"] is sandboxed
        result = sandboxed.run_item(checks, "e.x", {}, translations={"language": "pl", "messages": {"passed": "tak"}})
        assert result["findings"] == [{"check": "tak", "status": "passed", "message": ""}]
    finally:
        for name in [n for n in sys.modules if n == "child" or n.startswith("child.")]:
            del sys.modules[name]


def test_a_bundle_packs_the_catalogues_of_the_public_checks():
    from grader.course.bundle import _files
    from grader.course.rubric import load_rubric

    rubric = load_rubric(ROOT / "rubrics" / "autograd-basics.yaml")
    names = [name for name, _path in _files(ROOT.resolve(), rubric)]
    assert "assignments/autograd-basics/public_checks.py" in names
    assert "assignments/autograd-basics/locale/pl/LC_MESSAGES/public_checks.po" in names
    # Derived public checks carry their translations inside (grader.selfcheck.examples).
    rubric = load_rubric(ROOT / "rubrics" / "autograd-advanced.yaml")
    names = [name for name, _path in _files(ROOT.resolve(), rubric)]
    assert "assignments/autograd-advanced/public_checks.examples" in names
