"""A batch's per-item summary (``summary.json``) as a table for the terminal.

Labels are marked for translation (``grader.i18n``): in English unless the batch
renders it inside a run's language.
"""

from __future__ import annotations

from typing import Any

from ..i18n import N_, _, decimal, ngettext


def render_summary(data: dict[str, Any]) -> str:
    """The summary as a table for the terminal; a batch of several assignments, one table per assignment."""
    if "assignments" in data:
        return _render_overview(data)
    return "\n".join([_counts(data), *_table(data)]) + "\n"


def _counts(data: dict[str, Any]) -> str:
    text = ngettext("{graded} of {n} graded", "{graded} of {n} graded", data["submissions"]).format(
        graded=data["graded"], n=data["submissions"]
    )
    if data["rejected"]:
        text += ngettext(
            ", {n} not notebooks we can grade", ", {n} not notebooks we can grade", data["rejected"]
        ).format(n=data["rejected"])
    if data["failed"]:
        text += _(", {n} failed in the grader").format(n=data["failed"])
    if data["pending"]:
        text += _(", {n} not graded yet").format(n=data["pending"])
    return text


# Each column: its key in the summary, its heading, its narrowest width.
_COLUMNS = (
    ("mean", N_("mean"), 12),
    ("passed", N_("passed"), 6),
    ("failed", N_("failed"), 6),
    ("error", N_("error"), 5),
    ("timeout", N_("timeout"), 7),
    ("crashed", N_("crashed"), 7),
    ("missing", N_("missing"), 7),
)


def _table(data: dict[str, Any]) -> list[str]:
    score = data["score"]
    lines = []
    if score["mean"] is not None:
        shown = {key: decimal(f"{score[key]:g}") for key in ("mean", "min", "max")}
        lines.append(_("score: mean {mean}, min {min}, max {max}").format(**shown))
    if data["items"]:
        names = [_(name) for _key, name, _width in _COLUMNS]
        widths = [max(width, len(name)) for (_key, _name, width), name in zip(_COLUMNS, names, strict=True)]
        item_heading = _("item")
        lines += ["", f"{item_heading:<18}" + "  ".join(f"{n:>{w}}" for n, w in zip(names, widths, strict=True))]
        for item in data["items"]:
            cells = [f"{item['mean']:g}/{item['max_score']:g}"] + [
                str(item[key]) for key, _name, _width in _COLUMNS[1:]
            ]
            lines.append(f"{item['id']:<18}" + "  ".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True)))
    return lines


def _render_overview(data: dict[str, Any]) -> str:
    lines = [
        ngettext("{counts}, in {n} assignment", "{counts}, in {n} assignments", len(data["assignments"])).format(
            counts=_counts(data), n=len(data["assignments"])
        )
    ]
    for part in data["assignments"]:
        lines += ["", f"{part['assignment']} ({part['gradebook']}): {_counts(part)}", *_table(part)]
    rest = data["unassigned"]
    if rest["submissions"]:
        lines += [
            "",
            _("no assignment of the course named (only in gradebook.csv): {counts}").format(counts=_counts(rest)),
        ]
    return "\n".join(lines) + "\n"


def assignment_lines(data: dict[str, Any], *, folder: str, assignment: str | None) -> list[str]:
    """One line per assignment, for the end of a batch: its counts, mean score and gradebook.

    ``data``: the batch's ``summary.json``, in ``folder``; ``assignment``: what its one gradebook is of,
    when the batch has one (None: no line for it).
    """
    if "assignments" in data:
        parts, rest = data["assignments"], data["unassigned"]
    else:
        parts = [{**data, "assignment": assignment, "gradebook": "gradebook.csv"}] if assignment is not None else []
        rest = None
    lines = []
    for part in parts:
        mean = part["score"]["mean"]
        score = _(", mean score {mean}").format(mean=decimal(f"{mean:g}")) if mean is not None else ""
        lines.append(f"{part['assignment']}: {_counts(part)}{score}: {folder}/{part['gradebook']}")
    if rest is not None and rest["submissions"]:
        lines.append(
            _("naming no assignment of the course: {counts}: {path}").format(
                counts=_counts(rest), path=f"{folder}/gradebook.csv"
            )
        )
    return lines
