"""Renderings of a Report. Each format is a function ``render(report) -> str``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from importlib import import_module

from ..i18n import language
from ..result import Report

# Format name -> (module, function). Imported on first use, so a plain-text run loads no XML or HTML code.
_RENDERERS = {
    "text": (".text", "render_text"),
    "json": (".data", "render_json"),
    "yaml": (".data", "render_yaml"),
    "junit": (".junit", "render_junit"),
    "markdown": (".markdown", "render_markdown"),
    "html": (".html", "render_html"),
    "gradescope": (".gradescope", "render_gradescope"),
    "classroom": (".classroom", "render_classroom"),
}

FORMATS = tuple(_RENDERERS)


def renderer(name: str) -> Callable[[Report], str]:
    try:
        module, function = _RENDERERS[name]
    except KeyError:
        raise ValueError(f"unknown format {name!r}") from None
    render: Callable[[Report], str] = getattr(import_module(module, __name__), function)

    @wraps(render)
    def in_language(report: Report) -> str:
        """Headings and labels in the language the report was graded in (its feedback already is)."""
        with language(report.language):
            return render(report)

    return in_language
