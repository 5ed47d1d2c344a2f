"""``summary.html``: what the class got wrong, at a glance, for the lecturer.

Self-contained like the students' page (``grader.report.html``): its own CSS,
inline SVG, no script, the same Content-Security-Policy and escaping. Built
from a batch's summary data alone: the score distribution, each item's pass
rate, and each named mistake with how many students made it and one
anonymised counterexample (the drawn input, never a student's name).
"""

from __future__ import annotations

from typing import Any

from ..result import STATUSES
from .html import esc, page_head

_CSS = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1f2328; }
table { border-collapse: collapse; margin: 1rem 0; width: 100%; }
th, td { border-bottom: 1px solid #d1d9e0; padding: .3rem .6rem; text-align: left; vertical-align: top; }
td.n { text-align: right; white-space: nowrap; } code { font-size: .85rem; word-break: break-word; }
svg { max-width: 100%; height: auto; } .bar { fill: #0969da; } .pass { fill: #1a7f37; } .label { font-size: 11px; }
"""

_BAR_W, _BAR_GAP, _HEIGHT = 40, 8, 120


def render_class_page(data: dict[str, Any], *, title: str) -> str:
    parts = [
        *page_head(f"{esc(title)}: the class", _CSS),
        "<body>",
        f"<h1>{esc(title)}: the class</h1>",
        f"<p>{esc(data['graded'])} of {esc(data['submissions'])} notebooks graded"
        + (f"; mean score {esc(data['score']['mean'])} of {esc(data['max_score'])}" if data["graded"] else "")
        + "</p>",
        "<h2>Scores</h2>",
        _histogram(data.get("histogram") or []),
        "<h2>Items</h2>",
        _items(data.get("items") or []),
        "<h2>Mistakes named in feedback</h2>",
        _mistakes(data.get("misconceptions") or [], data["graded"]),
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _histogram(bins: list[dict[str, Any]]) -> str:
    if not bins:
        return "<p>No graded notebook yet.</p>"
    top = max(b["students"] for b in bins) or 1
    width = len(bins) * (_BAR_W + _BAR_GAP)
    shapes = []
    for i, b in enumerate(bins):
        h = round(_HEIGHT * b["students"] / top)
        x, middle = i * (_BAR_W + _BAR_GAP), i * (_BAR_W + _BAR_GAP) + _BAR_W / 2
        tip = esc("{:g}–{:g}: {} students".format(b["from"], b["to"], b["students"]))
        low = esc("{:g}".format(b["from"]))
        shapes.append(
            f'<rect class="bar" x="{x}" y="{_HEIGHT - h + 14}" width="{_BAR_W}" height="{h}">'
            f"<title>{tip}</title></rect>"
            f'<text class="label" x="{middle}" y="{_HEIGHT - h + 10}" text-anchor="middle">{esc(b["students"])}</text>'
            f'<text class="label" x="{middle}" y="{_HEIGHT + 28}" text-anchor="middle">{low}</text>'
        )
    return (
        f'<svg role="img" aria-label="score distribution" viewBox="0 0 {width} {_HEIGHT + 34}" '
        f'width="{width}" height="{_HEIGHT + 34}">{"".join(shapes)}</svg>'
    )


def _items(items: list[dict[str, Any]]) -> str:
    rows = []
    for item in items:
        total = sum(item.get(status, 0) for status in STATUSES)
        rate = item.get("passed", 0) / total if total else 0.0
        bar = (
            f'<svg viewBox="0 0 100 10" width="100" height="10" aria-hidden="true">'
            f'<rect x="0" y="0" width="100" height="10" fill="#eaeef2"></rect>'
            f'<rect class="pass" x="0" y="0" width="{round(100 * rate, 1)}" height="10"></rect></svg>'
        )
        rows.append(
            f"<tr><td><code>{esc(item['id'])}</code></td><td class=n>{round(100 * rate)} %</td><td>{bar}</td>"
            f"<td class=n>{esc(item['mean'])} / {esc(item['max_score'])}</td></tr>"
        )
    head = "<tr><th>Item</th><th>Passed</th><th></th><th>Mean points</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _mistakes(mistakes: list[dict[str, Any]], graded: int) -> str:
    if not mistakes:
        return "<p>No known mistake was named.</p>"
    rows = []
    for m in mistakes:
        share = f"{round(100 * m['students'] / graded)} %" if graded else ""
        example = m.get("example") or {}
        rows.append(
            f"<tr><td>{esc(m['name'])}<br><code>{esc(m['id'])}</code></td>"
            f"<td class=n>{esc(m['students'])} ({share})</td>"
            f"<td>{', '.join(f'<code>{esc(i)}</code>' for i in m['items'])}</td>"
            f"<td><code>{esc(example.get('input', ''))}</code><br>{esc(example.get('problem', ''))}</td></tr>"
        )
    head = "<tr><th>Mistake</th><th>Students</th><th>Items</th><th>One counterexample</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"
