"""Make text that a student controls safe to show anywhere.

Control characters (ANSI escapes that clear a screen or rewrite a line, OSC
clipboard writes, backspaces) and bidirectional overrides (which make text
read differently than it is stored) and lone surrogates are replaced by
visible escapes. Newlines
and tabs stay. HTML escaping is the HTML renderer's job on top of this.
"""

from __future__ import annotations

import re

# ... and lone surrogates (a file name's undecodable byte, "\ud800" in a student's message), which no
# UTF-8 file or stream can hold.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: str) -> str:
    return _UNSAFE.sub(_visible, text)


_FORMULA_STARTS = ("=", "+", "-", "@")


def spreadsheet_safe(text: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (a file named ``=HYPERLINK(…)``), and a terminal
    that shows the file will not run as escapes."""
    text = " ".join(clean(str(text)).split())
    return f"'{text}" if text[:1] in _FORMULA_STARTS else text


def from_spreadsheet_safe(cell: str) -> str:
    """The value of a cell ``spreadsheet_safe`` wrote (a student id read back from a gradebook)."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] in _FORMULA_STARTS else cell
