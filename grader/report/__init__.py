"""Renderings of a Report. Each format is a function ``render(report) -> str``."""

from __future__ import annotations

from collections.abc import Callable

from ..result import Report


def renderer(name: str) -> Callable[[Report], str]:
    if name == "text":
        from .text import render_text

        return render_text
    if name == "json":
        from .data import render_json

        return render_json
    if name == "yaml":
        from .data import render_yaml

        return render_yaml
    raise ValueError(f"unknown format {name!r}")


FORMATS = ("text", "json", "yaml")
