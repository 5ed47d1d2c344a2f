"""The student's language on the untrusted side: the public checks' ``_``, ``N_`` and ``ngettext``.

They work as ``grader.i18n``'s do (whole sentences, ``str.format`` placeholders),
but this side may import nothing trusted and reads no catalogue: the trusted side
reads the PO files and sends their messages as plain data (``Translations.from_data``):
a language code, which picks one of the plural rules written here, and msgid ->
msgstr tables. Nothing received is executed. ``grader.child.selfcheck`` re-exports
the three names for the public checks (``from grader.child.selfcheck import _``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

# The plural rules of the languages the catalogues may be in: the index of the form for n.
_PLURAL_RULES: dict[str, Callable[[int], int]] = {
    "en": lambda n: 0 if n == 1 else 1,
    # The Polish catalogues' Plural-Forms: 1 element, 2-4 elementy (not 12-14), else elementów.
    "pl": lambda n: 0 if n == 1 else 1 if 2 <= n % 10 <= 4 and not 10 <= n % 100 < 20 else 2,
}


@dataclass(frozen=True)
class Translations:
    """One language's messages, as the trusted side sends them; a message not there stays English."""

    language: str = "en"
    messages: Mapping[str, str] = field(default_factory=dict)
    plurals: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # by the singular msgid

    @classmethod
    def from_data(cls, data: Any) -> Translations:
        """``{"language": code, "messages": {msgid: msgstr}, "plurals": {msgid: [forms]}}``; else English."""
        if not isinstance(data, dict) or data.get("language") not in _PLURAL_RULES:
            return cls()
        messages = data.get("messages")
        messages = messages if isinstance(messages, dict) else {}
        plurals = data.get("plurals")
        plurals = plurals if isinstance(plurals, dict) else {}
        return cls(
            data["language"],
            {k: v for k, v in messages.items() if isinstance(k, str) and isinstance(v, str) and v},
            {
                k: tuple(v)
                for k, v in plurals.items()
                if isinstance(k, str) and isinstance(v, list) and v and all(isinstance(f, str) and f for f in v)
            },
        )

    def gettext(self, message: str) -> str:
        return self.messages.get(message, message) if message else message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        forms = self.plurals.get(singular)
        if not forms:
            return singular if n == 1 else plural
        return forms[min(_PLURAL_RULES[self.language](n), len(forms) - 1)]


ENGLISH = Translations()
_speaking: ContextVar[Translations] = ContextVar("public_checks_language", default=ENGLISH)


@contextmanager
def speaking(translations: Translations) -> Iterator[None]:
    """Texts made inside the block are in ``translations``' language."""
    token = _speaking.set(translations)
    try:
        yield
    finally:
        _speaking.reset(token)


def _(message: str) -> str:
    """``message`` in the student's language."""
    return _speaking.get().gettext(message)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention extraction looks for
    """Marks ``message`` for extraction only; it is translated where it is shown, with ``_``."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    return _speaking.get().ngettext(singular, plural, n)


def decimal(text: str) -> str:
    """A number written in prose, with the language's decimal separator (never one inside code or tensors)."""
    return text.replace(".", ",") if _speaking.get().language == "pl" else text
