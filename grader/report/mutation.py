"""``grade mutate``'s report: the kill rate per item and each survivor with its diff."""

from __future__ import annotations

import json

from ..result import MutationReport


def render_text(report: MutationReport) -> str:
    lines = [
        f"Mutation testing · {report.assignment} · {len(report.verdicts)} mutants · {report.time_s:.0f} s",
        "",
        f"{'item':<18}{'mutants':>8}{'killed':>8}{'by others':>11}{'survived':>10}{'equivalent':>12}",
    ]
    for item, row in report.per_item().items():
        if not row["mutants"]:
            continue  # no function it covers was mutated (--function)
        lines.append(
            f"{item:<18}{row['mutants']:>8}{row['killed']:>8}{row['killed_by_others']:>11}"
            f"{row['survived']:>10}{row['equivalent']:>12}"
        )
    lines.append("(by others: killed only by another item that covers the same function)")
    relevant = len(report.verdicts) - report.count("equivalent")
    lines += [
        "",
        f"Killed {report.count('killed')} of {relevant} non-equivalent mutants: {report.kill_rate:.1%} "
        f"({report.count('equivalent')} listed as equivalent)",
    ]
    survivors = [v for v in report.verdicts if v.status == "survived"]
    if survivors:
        lines += ["", "Survivors (no item covering the function lost points):"]
        for verdict in survivors:
            lines += ["", f"{verdict.mutant.id} [{verdict.mutant.digest}] — items {', '.join(verdict.covered)}"]
            if verdict.noticed_by:
                lines.append(f"  noticed only by parts the rubric gives no points: {', '.join(verdict.noticed_by)}")
            else:
                lines.append("  no check of these items tells it from the solution on the inputs drawn")
            lines += ["  " + line for line in verdict.mutant.diff().rstrip().splitlines()]
    for warning in report.warnings:
        lines.append(f"warning: {warning}")
    return "\n".join(lines) + "\n"


def render_json(report: MutationReport) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
