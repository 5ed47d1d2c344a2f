"""Every student-facing message has a Polish translation that keeps its placeholders (issue 12).

The messages are extracted from the code the way a translator's ``pybabel
extract`` finds them (``_``, ``N_``, ``ngettext``): from ``grader/``, checked
against the harness's catalogues (every ``grader/locale/pl/LC_MESSAGES/*.po``),
and from each reference package, checked against its own ``messages.po`` and the
harness's (a run merges the two).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from conftest import ROOT
from grader.i18n import _, language

KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
LANGUAGE = "pl"
PLURAL_FORMS = 3  # Polish: 1 element, 2 elementy, 5 elementów
HARNESS = ROOT / "grader" / "locale" / LANGUAGE / "LC_MESSAGES"
REFERENCES = sorted(p for p in (ROOT / "reference").iterdir() if (p / "__init__.py").is_file())
# A str.format field ({got}, {got:.6g}, {0}); doubled braces are literal text.
_FIELD = re.compile(r"(?<!\{)\{([^{}]*)\}(?!\})")

MessageId = str | tuple[str, ...]


def _extracted(folder: Path) -> dict[MessageId, str]:
    """Each marked message of the code under ``folder``, with where it is first used."""
    found: dict[MessageId, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(folder, keywords=KEYWORDS):
        key = message if isinstance(message, str) else tuple(message)  # ngettext: (singular, plural)
        found.setdefault(key, f"{folder.relative_to(ROOT).as_posix()}/{filename}:{lineno}")
    return found


def _catalogue(*files: Path) -> dict[str, Message]:
    """The messages of these PO files by their singular msgid, the later files winning (as a run merges them)."""
    merged: dict[str, Message] = {}
    for path in files:
        with path.open("rb") as handle:
            catalogue: Catalog = read_po(handle, locale=LANGUAGE)
        merged.update({_singular(m.id): m for m in catalogue if m.id})
    return merged


def _singular(message_id: MessageId) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def _fields(text: str) -> set[str]:
    return set(_FIELD.findall(text))


def _problems(extracted: dict[MessageId, str], catalogue: dict[str, Message]) -> list[str]:
    """One line per message without a usable Polish translation."""
    problems = []
    for message_id, where in sorted(extracted.items(), key=lambda item: item[1]):
        entry = catalogue.get(_singular(message_id))
        strings = () if entry is None else (entry.string,) if isinstance(entry.string, str) else entry.string
        if entry is None or entry.fuzzy or not all(strings):
            problems.append(f"{where}: no Polish translation of {message_id!r}")
            continue
        if isinstance(message_id, tuple) and len(strings) != PLURAL_FORMS:
            problems.append(f"{where}: {message_id!r} needs {PLURAL_FORMS} plural forms, has {len(strings)}")
        wanted = set().union(*(_fields(text) for text in ([message_id] if isinstance(message_id, str) else message_id)))
        for text in strings:
            if _fields(text) != wanted:
                problems.append(
                    f"{where}: the translation {text!r} of {message_id!r} has the placeholders "
                    f"{sorted(_fields(text))}, the message {sorted(wanted)}"
                )
    return problems


def _harness_files() -> list[Path]:
    return sorted(HARNESS.glob("*.po"))


def test_the_harness_catalogues_have_the_polish_plural_forms():
    for path in _harness_files() + [p / "locale" / LANGUAGE / "LC_MESSAGES" / "messages.po" for p in REFERENCES]:
        with path.open("rb") as handle:
            catalogue = read_po(handle, locale=LANGUAGE)
        assert catalogue.num_plurals == PLURAL_FORMS, path
        assert "n%10>=2 && n%10<=4" in catalogue.plural_forms, path


def test_every_message_of_the_grader_has_a_polish_translation():
    extracted = _extracted(ROOT / "grader")
    assert extracted, "no message marked for translation in grader/"
    problems = _problems(extracted, _catalogue(*_harness_files()))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("package", REFERENCES, ids=lambda p: p.name)
def test_every_message_of_a_reference_package_has_a_polish_translation(package):
    extracted = _extracted(package)
    assert extracted, f"no message marked for translation in {package.name}"
    own = package / "locale" / LANGUAGE / "LC_MESSAGES" / "messages.po"
    problems = _problems(extracted, _catalogue(*_harness_files(), own))
    assert not problems, "\n".join(problems)


def test_the_checker_of_catalogues_names_what_is_missing_or_broken(tmp_path):
    po = tmp_path / "messages.po"
    po.write_text(
        (HARNESS / "grader.po").read_text(encoding="utf-8").split("\n\n")[0]
        + "\n\n"
        + 'msgid "the loss is {got}"\nmsgstr "strata wynosi {value}"\n\n'
        + '#, fuzzy\nmsgid "the loss"\nmsgstr "strata"\n\n'
        + 'msgid "{n} row"\nmsgid_plural "{n} rows"\nmsgstr[0] "{n} wiersz"\nmsgstr[1] "{n} wiersze"\nmsgstr[2] ""\n',
        encoding="utf-8",
    )
    extracted: dict[MessageId, str] = {
        "the loss is {got}": "a.py:1",
        "the loss": "a.py:2",
        ("{n} row", "{n} rows"): "a.py:3",
        "the accuracy": "a.py:4",
    }
    assert _problems(extracted, _catalogue(po)) == [
        "a.py:1: the translation 'strata wynosi {value}' of 'the loss is {got}' has the placeholders ['value'], "
        "the message ['got']",
        "a.py:2: no Polish translation of 'the loss'",
        "a.py:3: no Polish translation of ('{n} row', '{n} rows')",
        "a.py:4: no Polish translation of 'the accuracy'",
    ]


# -- the translations reach a run ---------------------------------------------------------------


def test_an_assignments_texts_and_the_generic_misconceptions_are_polish_in_a_polish_run():
    locale = ROOT / "reference" / "autograd_basics" / "locale"
    with language("pl", (locale,)):
        assert _("gradient not cleared before backward()") == "gradient niewyzerowany przed backward()"
        assert _("the returned loss") == "zwrócona strata"
        assert _("retain_grad() missing") == "brak retain_grad()"  # grader.authoring's, from authoring.po
    assert _("gradient not cleared before backward()") == "gradient not cleared before backward()"
    with language("pl", (ROOT / "reference" / "autograd_advanced" / "locale",)):
        assert _("Jacobian transposed") == "transponowana macierz Jacobiego"


def _training_case(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    from grader.authoring import Case, Kind, Observation, TensorArg, TensorFact
    from reference.autograd_basics import checks

    X = np.array([[1.0], [-1.0]], dtype=np.float32)
    case = Case(args=(("X", TensorArg(X)), ("y", TensorArg(np.array([1.0, 0.0], dtype=np.float32)))))

    def trained(weight: float) -> Observation:
        def tensor(values: np.ndarray) -> TensorFact:
            return TensorFact("Parameter", "float32", values.shape, "cpu", "torch.strided", None, values)

        facts = {
            "return": Kind("module", "Linear"),
            "return.weight": tensor(np.array([[weight]], dtype=np.float32)),
            "return.bias": tensor(np.zeros(1, dtype=np.float32)),
        }
        return Observation(error=None, facts=facts, versions={})

    return checks, case, trained


def test_a_judges_sentence_is_made_in_the_runs_language(monkeypatch):
    checks, case, trained = _training_case(monkeypatch)
    judge = checks.CHECKS["e7_train_logreg"].part("trained").judge
    assert judge(trained(0.0), trained(5.0), case) == [
        "the returned module's training loss is 0.693147; the reference reaches 0.00671535 "
        "with the same data, lr, epochs and seed (at most 0.0068825 passes)"
    ]
    with language("pl", (ROOT / "reference" / "autograd_basics" / "locale",)):
        assert judge(trained(0.0), trained(5.0), case) == [
            "strata treningowa zwróconego modułu wynosi 0,693147; rozwiązanie wzorcowe osiąga 0,00671535 "
            "przy tych samych danych, lr, epochs i seed (zaliczona jest strata nie większa niż 0,0068825)"
        ]
