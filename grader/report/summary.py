"""A batch's per-item summary (``summary.json``) as a table for the terminal."""

from __future__ import annotations

from typing import Any


def render_summary(data: dict[str, Any]) -> str:
    """The summary as a table for the terminal."""
    score = data["score"]
    lines = [
        f"{data['graded']} of {data['submissions']} graded"
        + (f", {data['rejected']} not notebooks we can grade" if data["rejected"] else "")
        + (f", {data['failed']} failed in the grader" if data["failed"] else "")
        + (f", {data['pending']} not graded yet" if data["pending"] else ""),
    ]
    if score["mean"] is not None:
        lines.append(f"score: mean {score['mean']:g}, min {score['min']:g}, max {score['max']:g}")
    if data["items"]:
        lines += [
            "",
            f"{'item':<18}{'mean':>12}  {'passed':>6}  {'failed':>6}  {'error':>5}  {'timeout':>7}"
            f"  {'crashed':>7}  {'missing':>7}",
        ]
        for item in data["items"]:
            mean = f"{item['mean']:g}/{item['max_score']:g}"
            lines.append(
                f"{item['id']:<18}{mean:>12}  {item['passed']:>6}  {item['failed']:>6}  {item['error']:>5}"
                f"  {item['timeout']:>7}  {item['crashed']:>7}  {item['missing']:>7}"
            )
    return "\n".join(lines) + "\n"
