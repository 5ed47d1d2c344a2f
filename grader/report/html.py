"""A self-contained HTML feedback page for one student.

The page is meant to be opened from a file or served next to others, so it
carries its own CSS, loads nothing, runs nothing, and says so to the browser
with a Content-Security-Policy. Every string, the rubric's included, goes
through ``clean()`` and ``html.escape``: only the markup below is ours.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable

from ..escape import clean
from ..result import ItemResult, NotebookReport, Report
from .text import points

_CSS = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1f2328; }
h1 { margin-bottom: .2rem; } .score { font-size: 1.4rem; font-weight: 600; margin-top: 0; }
.meta { color: #59636e; font-size: .85rem; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border-bottom: 1px solid #d1d9e0; padding: .3rem .7rem; text-align: left; vertical-align: top; }
td.points { text-align: right; white-space: nowrap; }
pre { background: #f6f8fa; padding: .7rem; overflow-x: auto; white-space: pre-wrap; word-break: break-word; }
section { border-top: 1px solid #d1d9e0; margin-top: 1.5rem; }
.passed { color: #1a7f37; } .failed, .error { color: #d1242f; } .timeout, .missing { color: #9a6700; }
.crashed { color: #8250df; }
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'"


def esc(text: object) -> str:
    return html.escape(clean(str(text)), quote=True)


def page_head(title: str, css: str) -> list[str]:
    """The start of a self-contained page up to ``</head>``: no script, nothing loaded (``title`` already escaped)."""
    return [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title>",
        f"<style>{css}</style>",
        "</head>",
    ]


def render_html(report: Report) -> str:
    score = f"{points(report.score)}/{points(report.max_score)}"
    env = report.environment
    parts = [
        *page_head(f"{esc(report.title)} — {score}", _CSS),
        "<body>",
        f"<h1>{esc(report.title)}</h1>",
        f'<p class="score">Score: {score}</p>',
        f'<p class="meta">Submission {esc(report.submission)} · sha256 {esc(report.notebook.sha256)}<br>'
        f"grader {esc(env.grader_version)} · torch {esc(env.torch)} · device {esc(env.device)} · "
        f"seed {esc(env.seed)} · {esc(env.examples_per_item)} examples per item</p>",
        _table(
            ("Item", "Title", "Points", "Status"),
            (
                (
                    f'<a href="#item-{index}">{esc(item.id)}</a>',
                    esc(item.title),
                    f"{points(item.score)}/{points(item.max_score)}",
                    _status(item.status),
                )
                for index, item in enumerate(report.items)
            ),
        ),
        *(_item(index, item) for index, item in enumerate(report.items)),
        _notebook(report.notebook),
        "</body>",
        "</html>",
    ]
    return "\n".join(part for part in parts if part) + "\n"


def _status(status: str) -> str:
    return f'<span class="{esc(status)}">{esc(status)}</span>'


def _table(heading: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> str:
    """Cells arrive already escaped: the callers add links and spans around escaped text."""
    head = "".join(f"<th>{cell}</th>" for cell in heading)
    body = "\n".join(
        "<tr>"
        + "".join(
            f'<td class="points">{c}</td>' if h == "Points" else f"<td>{c}</td>"
            for h, c in zip(heading, row, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _item(index: int, item: ItemResult) -> str:
    out = [
        f'<section id="item-{index}">',
        f"<h2>{esc(item.id)} · {esc(item.title)} — {points(item.score)}/{points(item.max_score)} "
        f"{_status(item.status)}</h2>",
        f"<p>Function <code>{esc(item.target)}()</code></p>",
        f"<pre>{esc(item.feedback)}</pre>",
    ]
    if item.parts:
        out.append(
            _table(
                ("Part", "Points", "Message"),
                (
                    (
                        f"{esc(p.name)}<br><small>{esc(p.description)}</small>",
                        f"{points(p.score)}/{points(p.max_score)}",
                        esc(p.message),
                    )
                    for p in item.parts
                ),
            )
        )
    if item.misconceptions:
        out.append("<h3>Likely misconceptions</h3>\n<ul>")
        out += [f"<li><strong>{esc(m.name)}</strong>: {esc(m.fix)}</li>" for m in item.misconceptions]
        out.append("</ul>")
    if item.counterexample is not None:
        shown = json.dumps(item.counterexample, indent=2, ensure_ascii=False, default=str)
        out += ["<h3>Counterexample</h3>", f"<pre>{esc(shown)}</pre>"]
    out.append("</section>")
    return "\n".join(out)


def _notebook(notebook: NotebookReport) -> str:
    problems = [
        f"cell {c.index}: {esc(c.status)}{f' — {esc(c.error)}' if c.error else ''}"
        + "".join(f"<br>import skipped: {esc(s)}" for s in c.skipped_imports)
        for c in notebook.cells
        if c.status != "ok" or c.skipped_imports
    ]
    magics = [
        f"cell {esc(m.get('cell'))}, line {esc(m.get('line'))}: <code>{esc(m.get('text', ''))}</code>"
        for m in notebook.magics
    ]
    notes = [
        ("Cell problems", problems),
        ("Not run (shell escapes and magics are never executed)", magics),
        ("Limits hit", [esc(hit) for hit in notebook.limits_hit]),
        ("Stopped early", [esc(notebook.stopped)] if notebook.stopped else []),
        ("Warnings", [esc(w) for w in notebook.warnings]),
    ]
    if notebook.output_truncated:
        notes.append(
            ("Output", [f"the notebook printed {notebook.output_bytes} bytes; the captured output was truncated"])
        )
    body = [
        f"<h3>{title}</h3>\n<ul>\n" + "\n".join(f"<li>{line}</li>" for line in lines) + "\n</ul>"
        for title, lines in notes
        if lines
    ]
    if not body:
        return ""
    return "\n".join(['<section id="notebook">', "<h2>Notebook</h2>", *body, "</section>"])
