"""The public checks' translations, read here and handed to the checks as plain data.

The public checks run where ``grader.i18n`` may not be imported (the sandboxed
child) or beside it (``grader.check()`` in the student's kernel); either way
they translate with ``grader.child.language``, which reads no file. This module
reads the PO files on the trusted side: the harness's ``selfcheck.po`` (the
checker's own texts) and the assignment's catalogue, which ships with its
public checks (``assignments/<id>/locale/<lang>/LC_MESSAGES/public_checks.po``
beside ``public_checks.py``) and wins over the harness's. What it returns is
data only: strings and lists of strings, and a language code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..i18n import HARNESS_CATALOGUE, SOURCE_LANGUAGE

HARNESS_DOMAIN = "selfcheck"


def catalogue_of(public_checks: Path, language: str) -> Path:
    """Where the translations of the public checks in ``public_checks`` are kept."""
    return public_checks.parent / "locale" / language / "LC_MESSAGES" / f"{public_checks.stem}.po"


def translations(language: str, public_checks: Path | None) -> dict[str, Any]:
    """``{"language", "messages": {msgid: msgstr}, "plurals": {msgid: [forms]}}`` for the checks' side."""
    messages: dict[str, str] = {}
    plurals: dict[str, list[str]] = {}
    if language != SOURCE_LANGUAGE:
        files = [HARNESS_CATALOGUE / language / "LC_MESSAGES" / f"{HARNESS_DOMAIN}.po"]
        if public_checks is not None:
            files.append(catalogue_of(public_checks, language))
        for path in files:
            _read(path, language, messages, plurals)
    return {"language": language, "messages": messages, "plurals": plurals}


def _read(path: Path, language: str, messages: dict[str, str], plurals: dict[str, list[str]]) -> None:
    """The translated, not fuzzy messages of one PO file, added (a later file wins)."""
    if not path.is_file():
        return
    from babel.messages.pofile import read_po

    with path.open("rb") as handle:
        catalogue = read_po(handle, locale=language, domain=path.stem)
    for message in catalogue:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, tuple | list):
            forms = [str(form) for form in message.string or ()]
            if forms and all(forms):
                plurals[str(message.id[0])] = forms
        elif isinstance(message.string, str) and message.string:
            messages[message.id] = message.string
