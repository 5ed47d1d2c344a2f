"""A self-contained HTML feedback page for one student.

The page is meant to be opened from a file or served next to others, so it
carries its own CSS, loads nothing, runs nothing, and says so to the browser
with a Content-Security-Policy. Every string, the rubric's included, goes
through ``clean()`` and ``html.escape``: only the markup below is ours.

What lost points comes first, each item once: what is wrong (the parts that
lost points, with what differed), the likely cause and its fix, and the Python
that reproduces it. The passed items are folded away in a ``<details>``
(no script needed). Headings and labels are in the report's language, and so is
``<html lang>``.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from ..escape import clean
from ..i18n import _, current_language, ngettext
from ..result import ItemResult, Report
from .markdown import lost_points
from .text import _notebook_notes, points, score_line, snippet_lead, snippet_of, status_name

_CSS = """
body { font: 16px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 0 auto; padding: 1rem; color: #1f2328; }
h1 { margin: .5rem 0 .2rem; font-size: 1.6rem; } .score { font-size: 1.4rem; font-weight: 600; margin: 0; }
.summary { color: #59636e; margin-top: .2rem; }
h2 { font-size: 1.25rem; margin-top: 1.8rem; }
h3 { font-size: 1.1rem; margin: 0 0 .3rem; } h4 { font-size: .95rem; margin: 1rem 0 .3rem; }
.item { border: 1px solid #d1d9e0; border-left: 4px solid #d1242f; border-radius: 6px; padding: .8rem 1rem;
  margin: 1rem 0; }
.item.timeout, .item.missing { border-left-color: #9a6700; } .item.crashed { border-left-color: #8250df; }
.item .function { margin: 0; color: #59636e; }
.parts { margin: .2rem 0; padding-left: 1.2rem; } .parts li { margin: .3rem 0; }
.message { display: block; overflow-wrap: anywhere; color: #59636e; }
.cause { margin: .3rem 0; }
pre { background: #f6f8fa; border-radius: 6px; padding: .7rem; margin: .4rem 0; font-size: .85rem;
  overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
pre.code { white-space: pre; overflow-wrap: normal; } pre code { font-size: 1em; }
code { font-size: .9em; }
table { border-collapse: collapse; margin: .5rem 0; width: 100%; }
th, td { border-bottom: 1px solid #d1d9e0; padding: .3rem .5rem; text-align: left; vertical-align: top; }
td.points { text-align: right; white-space: nowrap; }
details { border: 1px solid #d1d9e0; border-radius: 6px; padding: .5rem 1rem; margin: 1.5rem 0; }
summary { cursor: pointer; font-weight: 600; }
.meta { color: #59636e; font-size: .8rem; overflow-wrap: anywhere; margin-top: 2rem; }
.status { font-weight: 600; white-space: nowrap; }
.status.passed { color: #1a7f37; } .status.failed, .status.error { color: #d1242f; }
.status.timeout, .status.missing { color: #9a6700; } .status.crashed { color: #8250df; }
@media (max-width: 36rem) {
  body { padding: .6rem; } .item { padding: .6rem .7rem; } details { padding: .5rem .7rem; }
  pre { font-size: .8rem; } h1 { font-size: 1.35rem; }
}
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'"


def esc(text: object) -> str:
    return html.escape(clean(str(text)), quote=True)


def page_head(title: str, css: str, *, lang: str = "en") -> list[str]:
    """The start of a self-contained page up to ``</head>``: no script, nothing loaded (``title`` already escaped)."""
    return [
        "<!DOCTYPE html>",
        f'<html lang="{esc(lang)}">',
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
    lost = [(index, item) for index, item in enumerate(report.items) if lost_points(item)]
    kept = [(index, item) for index, item in enumerate(report.items) if not lost_points(item)]
    parts = [
        *page_head(f"{esc(report.title)} — {score}", _CSS, lang=current_language()),
        "<body>",
        "<header>",
        f"<h1>{esc(report.title)}</h1>",
        f'<p class="score">{esc(score_line(report))}</p>',
        f'<p class="summary">{esc(_summary(len(lost), len(report.items)))}</p>',
        "</header>",
        "<main>",
    ]
    if lost:
        parts.append(_heading("h2", _("What lost points")))
        parts += [_lost_item(index, item) for index, item in lost]
    parts.append(_notebook(report))
    if kept:
        parts.append(_passed(kept))
    parts += ["</main>", _meta(report), "</body>", "</html>"]
    return "\n".join(part for part in parts if part) + "\n"


def _summary(lost: int, total: int) -> str:
    if not lost:
        return _("All items passed.")
    return _("Items that lost points: {lost} of {total}; they come first.").format(lost=lost, total=total)


def _heading(tag: str, text: str) -> str:
    return f"<{tag}>{esc(text)}</{tag}>"


def _status(status: str) -> str:
    return f'<span class="status {esc(status)}">{esc(status_name(status))}</span>'


def _lost_item(index: int, item: ItemResult) -> str:
    out = [
        f'<section class="item {esc(item.status)}" id="item-{index}">',
        f"<h3>{esc(item.id)} · {esc(item.title)} — {points(item.score)}/{points(item.max_score)} "
        f"{_status(item.status)}</h3>",
        '<p class="function">'
        + esc(_("Function {function}")).format(function=f"<code>{esc(item.target)}()</code>")
        + "</p>",
    ]
    code = snippet_of(item)
    wrong = [p for p in item.parts if not p.passed and p.message]
    if item.status == "failed" and wrong and code is not None:
        # The parts, the causes and the snippet say all the feedback text says, each once.
        out.append(_heading("h4", _("What is wrong")))
        out.append('<ul class="parts">')
        out += [
            f"<li><strong>{esc(p.name)}</strong> ({esc(p.description)}) · {points(p.score)}/{points(p.max_score)}"
            f'<span class="message">{esc(p.message)}</span></li>'
            for p in wrong
        ]
        out.append("</ul>")
        if item.misconceptions:
            out.append(_heading("h4", ngettext("Likely cause", "Likely causes", len(item.misconceptions))))
            out += [f'<p class="cause"><strong>{esc(m.name)}</strong>. {esc(m.fix)}</p>' for m in item.misconceptions]
    else:
        out.append(f"<pre>{esc(item.feedback)}</pre>")
    if code is not None:
        out += [
            _heading("h4", _("Reproduce it")),
            f"<p>{esc(snippet_lead())}</p>",
            f'<pre class="code"><code>{esc(code.rstrip())}</code></pre>',
        ]
    out.append("</section>")
    return "\n".join(out)


def _passed(items: list[tuple[int, ItemResult]]) -> str:
    earned = sum(item.score for _index, item in items)
    heading = _("Passed items: {n}").format(n=len(items))
    rows = "\n".join(
        f'<tr id="item-{index}"><td>{esc(item.id)}</td><td>{esc(item.title)}</td>'
        f'<td class="points">{points(item.score)}/{points(item.max_score)}</td></tr>'
        for index, item in items
    )
    return "\n".join(
        [
            '<details class="passed-items">',
            f"<summary>{esc(heading)} · {points(earned)}/{points(sum(i.max_score for _index, i in items))}</summary>",
            _table((_("Item"), _("Title"), _("Points")), rows),
            "</details>",
        ]
    )


def _table(heading: Iterable[str], body: str) -> str:
    """``body``: rows of cells already escaped."""
    head = "".join(f"<th>{esc(cell)}</th>" for cell in heading)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _notebook(report: Report) -> str:
    """The notebook's own problems (failing cells, magics not run, limits), as the text report says them."""
    notes = _notebook_notes(report)
    if report.notebook.limits_hit:
        notes.append(_("limits hit: {limits}").format(limits=", ".join(report.notebook.limits_hit)))
    if not notes:
        return ""
    items = "\n".join(f"<li>{esc(note)}</li>" for note in notes)
    return "\n".join(['<section id="notebook">', _heading("h2", _("Notebook")), f"<ul>\n{items}\n</ul>", "</section>"])


def _meta(report: Report) -> str:
    env = report.environment
    submission = _("Submission {submission}").format(submission=report.submission)
    settings = " · ".join(
        [
            f"grader {env.grader_version}",
            f"torch {env.torch}",
            _("device {device}").format(device=env.device),
            _("seed {seed}").format(seed=env.seed),
            env.examples_shown(
                ngettext("{n} example per item", "{n} examples per item", env.examples_per_item).format(
                    n=env.examples_per_item
                )
            ),
        ]
    )
    return f'<footer class="meta">{esc(submission)} · sha256 {esc(report.notebook.sha256)}<br>{esc(settings)}</footer>'
