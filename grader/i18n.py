"""The language a student reads: gettext catalogues, chosen once per grading run.

Every text a student reads is written in English in the code and marked for
translation:

- ``_("...")`` translates now, into the language of the current run;
- ``N_("...")`` only marks a constant (a module-level table, a misconception's
  name) so that extraction finds it; it is translated where it is shown, with
  ``_(text)``;
- ``ngettext(singular, plural, n)`` picks the plural form the language needs
  (Polish has three: 1 element, 2 elementy, 5 elementów).

Placeholders are ``str.format`` names (``_("{name} is wrong").format(name=...)``)
so that a translation may move them; a translation that drops one fails the
catalogue test. Code, tensor values and exception messages are never passed
through ``_``.

The catalogues are standard PO files a translator edits with the usual tools
(Poedit, ``pybabel update``): ``grader/locale/<lang>/LC_MESSAGES/*.po`` for
the harness (``grader.po``; ``authoring.po`` for the generic checks and
misconceptions of ``grader.authoring``), all merged, and
``locale/<lang>/LC_MESSAGES/messages.po`` inside an assignment's reference
package for that assignment's own texts (its checks' labels and messages, its
misconceptions). ``docs/translating.md`` shows the
commands. A message missing from a catalogue shows in English.
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

LANGUAGES = ("en", "pl")
SOURCE_LANGUAGE = "en"
HARNESS_CATALOGUE = Path(__file__).parent / "locale"
DOMAIN = "grader"
ASSIGNMENT_DOMAIN = "messages"


class _Run:
    """One run's language and its merged catalogue."""

    def __init__(self, language: str, translations: gettext.NullTranslations) -> None:
        self.language = language
        self.translations = translations


_ENGLISH = _Run(SOURCE_LANGUAGE, gettext.NullTranslations())
_current: ContextVar[_Run] = ContextVar("grader_language", default=_ENGLISH)


def _po_files(language: str, assignment_locales: tuple[Path, ...]) -> list[Path]:
    files = [loc / language / "LC_MESSAGES" / f"{ASSIGNMENT_DOMAIN}.po" for loc in assignment_locales]
    # The harness's catalogue may be split by package (grader.po, authoring.po, ...): all are merged.
    files += sorted((HARNESS_CATALOGUE / language / "LC_MESSAGES").glob("*.po"))
    return [path for path in files if path.is_file()]


@functools.cache
def _translations(language: str, assignment_locales: tuple[Path, ...]) -> gettext.NullTranslations:
    """The harness's catalogue merged with an assignment's (the assignment's wins), compiled in memory."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    merged = None
    for path in reversed(_po_files(language, assignment_locales)):  # the harness first, overridden after
        with path.open("rb") as handle:
            catalogue = read_po(handle, locale=language, domain=path.stem)
        if merged is None:
            merged = catalogue
            continue
        for message in catalogue:
            if message.id:
                merged[message.id] = message
    if merged is None:
        return gettext.NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, merged)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@contextmanager
def language(code: str, assignment_locales: tuple[Path, ...] = ()) -> Iterator[None]:
    """Texts made inside the block are in ``code``, from the harness's and the assignment's catalogues."""
    if code not in LANGUAGES:
        raise ValueError(f"unknown language {code!r}: known: {', '.join(LANGUAGES)}")
    run = _ENGLISH if code == SOURCE_LANGUAGE else _Run(code, _translations(code, tuple(assignment_locales)))
    token = _current.set(run)
    try:
        yield
    finally:
        _current.reset(token)


class _Overlay(gettext.NullTranslations):
    """Messages given as data, in front of a run's catalogues."""

    def __init__(self, messages: dict[str, str], under: gettext.NullTranslations) -> None:
        super().__init__()
        self._messages = messages
        self.add_fallback(under)

    def gettext(self, message: str) -> str:
        found = self._messages.get(message)
        return found if found is not None else super().gettext(message)


@contextmanager
def also(messages: dict[str, str]) -> Iterator[None]:
    """Inside the block, ``messages`` (msgid to text, in the current language) translate first: an
    assignment's own texts carried as data where its catalogue is not at hand (derived public checks)."""
    run = _current.get()
    token = _current.set(_Run(run.language, _Overlay(dict(messages), run.translations)))
    try:
        yield
    finally:
        _current.reset(token)


def current_language() -> str:
    return _current.get().language


def _(message: str) -> str:
    """``message`` in the language of the current run."""
    if not message:
        return message
    return _current.get().translations.gettext(message)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention extraction looks for
    """Marks ``message`` for extraction only; it is translated where it is shown."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    return _current.get().translations.ngettext(singular, plural, n)


def decimal(text: str) -> str:
    """A number written in prose, with the language's decimal separator (never used inside code or tensors)."""
    return text.replace(".", ",") if current_language() == "pl" else text
