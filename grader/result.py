"""The one result object of a grading; every report format renders it.

Everything here is immutable. ``to_dict`` gives the JSON/YAML report; all
wall-clock figures live under the top-level ``timings`` key, so two gradings
of the same notebook differ only there.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from typing import Any

STATUSES = ("passed", "failed", "error", "timeout", "crashed", "missing")  # of a graded item
# Of an item's public self-check: also "unchecked" (no public check can decide it). The child's
# own copy (grader.child.selfcheck, which imports nothing trusted) must say the same.
CHECK_STATUSES = (*STATUSES, "unchecked")
LATER = "checked only at grading"  # a public check's finding it cannot decide


@dataclass(frozen=True)
class PartResult:
    name: str
    description: str
    score: float
    max_score: float
    passed: bool
    message: str = ""


@dataclass(frozen=True)
class MisconceptionHit:
    id: str
    name: str
    fix: str


@dataclass(frozen=True)
class ItemResult:
    id: str
    title: str
    target: str
    score: float
    max_score: float
    status: str
    feedback: str
    parts: tuple[PartResult, ...] = ()
    counterexample: dict[str, Any] | None = None
    misconceptions: tuple[MisconceptionHit, ...] = ()
    examples: int = 0
    time_s: float = 0.0
    limit: str | None = None  # the limit that ended it: "time limit", "memory limit", "process limit", "exited"

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "function": self.target,
            "score": self.score,
            "max_score": self.max_score,
            "status": self.status,
            "feedback": self.feedback,
            "examples": self.examples,
            "parts": [
                {
                    "name": p.name,
                    "description": p.description,
                    "score": p.score,
                    "max_score": p.max_score,
                    "passed": p.passed,
                    "message": p.message,
                }
                for p in self.parts
            ],
        }
        if self.limit is not None:
            out["limit"] = self.limit
        if self.misconceptions:
            out["misconceptions"] = [{"id": m.id, "name": m.name, "fix": m.fix} for m in self.misconceptions]
        if self.counterexample is not None:
            out["counterexample"] = self.counterexample
        return out


@dataclass(frozen=True)
class CellReport:
    index: int
    status: str
    error: str = ""
    skipped_imports: tuple[str, ...] = ()


@dataclass(frozen=True)
class NotebookReport:
    path: str
    sha256: str
    size: int
    nbformat: str
    code_cells: int
    cells: tuple[CellReport, ...]
    magics: tuple[dict[str, Any], ...]
    output_bytes: int
    output_truncated: bool
    starts: int
    stopped: str | None
    warnings: tuple[str, ...]
    limits_hit: tuple[str, ...] = ()
    warm_starts: int = 0
    declared_assignment: str | None = None  # what metadata.grader.assignment says, cleaned for display
    assignment_mismatch: bool = False  # it names another assignment than the one graded (the TA's --assignment)

    def to_dict(self) -> dict[str, Any]:
        problems = [c for c in self.cells if c.status != "ok" or c.skipped_imports]
        return {
            "path": self.path,
            "declared_assignment": self.declared_assignment,
            "assignment_mismatch": self.assignment_mismatch,
            "sha256": self.sha256,
            "size": self.size,
            "nbformat": self.nbformat,
            "code_cells": self.code_cells,
            "cell_problems": [
                {
                    "cell": c.index,
                    "status": c.status,
                    **({"error": c.error} if c.error else {}),
                    **({"skipped_imports": list(c.skipped_imports)} if c.skipped_imports else {}),
                }
                for c in problems
            ],
            "magics_not_run": list(self.magics),
            "output": {"bytes": self.output_bytes, "truncated": self.output_truncated},
            "process_starts": self.starts,
            "warm_starts": self.warm_starts,
            "limits_hit": list(self.limits_hit),
            "stopped_early": self.stopped,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class Environment:
    grader_version: str
    python: str
    torch: str
    hypothesis: str
    platform: str
    device: str
    device_name: str
    seed: int
    examples_per_item: int
    sandbox: str
    rubric_sha256: str = ""  # the rubric file graded with: a regrade after a rubric fix shows in grade diff
    # The items that drew another number of examples (their own `examples:` or their check's budget), in order.
    examples_by_item: tuple[tuple[str, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "examples_by_item": dict(self.examples_by_item)}

    def examples_shown(self, count_text: str) -> str:
        """``count_text`` (the per-item count in words), with the items that drew another number after it."""
        if not self.examples_by_item:
            return count_text
        return count_text + " (" + ", ".join(f"{item}: {n}" for item, n in self.examples_by_item) + ")"


@dataclass(frozen=True)
class Report:
    assignment: str
    title: str
    submission: str
    items: tuple[ItemResult, ...]
    notebook: NotebookReport
    environment: Environment
    timings: dict[str, float] = field(default_factory=dict)
    language: str = "en"  # what the student reads: feedback, titles, headings (grader.i18n)

    @property
    def score(self) -> float:
        return round(sum(item.score for item in self.items), 6)

    @property
    def max_score(self) -> float:
        return round(sum(item.max_score for item in self.items), 6)

    def to_dict(self) -> dict[str, Any]:
        return {
            "assignment": self.assignment,
            "title": self.title,
            "language": self.language,
            "submission": self.submission,
            "sha256": self.notebook.sha256,
            "score": self.score,
            "max_score": self.max_score,
            "items": [item.to_dict() for item in self.items],
            "notebook": self.notebook.to_dict(),
            "environment": self.environment.to_dict(),
            "timings": dict(self.timings),
        }


# -- grade check: the public self-checks of one notebook ---------------------------------


@dataclass(frozen=True)
class SelfCheckItem:
    id: str
    title: str
    status: str
    message: str = ""
    findings: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class SelfCheckReport:
    assignment: str
    submission: str
    sha256: str
    items: tuple[SelfCheckItem, ...]
    sandbox: str
    timings: dict[str, float] = field(default_factory=dict)
    language: str = "en"  # what the student reads: findings, messages, headings (grader.i18n)

    @property
    def all_passed(self) -> bool:
        return all(item.status in ("passed", "unchecked") for item in self.items)

    def to_dict(self) -> dict[str, Any]:
        return {
            "assignment": self.assignment,
            "submission": self.submission,
            "sha256": self.sha256,
            "kind": "public self-check (not a grade)",
            "language": self.language,
            "all_passed": self.all_passed,
            "items": [
                {"id": i.id, "title": i.title, "status": i.status, "message": i.message, "findings": list(i.findings)}
                for i in self.items
            ],
            "sandbox": self.sandbox,
            "timings": dict(self.timings),
        }


# -- grade mutate: mutants of a solution, and what the rubric made of them ---------------


@dataclass(frozen=True)
class Mutant:
    function: str
    operator: str
    site: int
    source: str  # the mutated function, as Python source
    original: str

    @property
    def id(self) -> str:
        return f"{self.function}/{self.operator}/{self.site}"

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.source.encode()).hexdigest()[:12]

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.original.splitlines(keepends=True),
                self.source.splitlines(keepends=True),
                f"{self.function} (solution)",
                f"{self.function} (mutant {self.id})",
            )
        )


@dataclass(frozen=True)
class MutantVerdict:
    mutant: Mutant
    status: str  # "killed", "survived", "equivalent"
    covered: tuple[str, ...]
    killed_by: tuple[str, ...] = ()
    reason: str = ""
    noticed_by: tuple[str, ...] = ()  # "item: part" of parts that failed but carry no points in the rubric


@dataclass(frozen=True)
class MutationReport:
    assignment: str
    verdicts: tuple[MutantVerdict, ...]
    items: tuple[str, ...]
    time_s: float
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def count(self, status: str) -> int:
        return sum(1 for v in self.verdicts if v.status == status)

    @property
    def kill_rate(self) -> float:
        relevant = len(self.verdicts) - self.count("equivalent")
        return self.count("killed") / relevant if relevant else 1.0

    def per_item(self) -> dict[str, dict[str, int]]:
        """Per item, the mutants of the functions it covers: killed by it, killed only by
        another item covering the same function, survived (no item), equivalent."""
        names = ("mutants", "killed", "killed_by_others", "survived", "equivalent")
        table = {item: dict.fromkeys(names, 0) for item in self.items}
        for verdict in self.verdicts:
            for item in verdict.covered:
                row = table[item]
                row["mutants"] += 1
                if verdict.status == "equivalent":
                    row["equivalent"] += 1
                elif item in verdict.killed_by:
                    row["killed"] += 1
                elif verdict.killed_by:
                    row["killed_by_others"] += 1
                else:
                    row["survived"] += 1
        return table

    def to_dict(self) -> dict[str, Any]:
        return {
            "assignment": self.assignment,
            "mutants": len(self.verdicts),
            "killed": self.count("killed"),
            "survived": self.count("survived"),
            "equivalent": self.count("equivalent"),
            "kill_rate": round(self.kill_rate, 4),
            "items": self.per_item(),
            "verdicts": [
                {
                    "id": v.mutant.id,
                    "function": v.mutant.function,
                    "operator": v.mutant.operator,
                    "source_sha": v.mutant.digest,
                    "status": v.status,
                    "items": list(v.covered),
                    "killed_by": list(v.killed_by),
                    **({"reason": v.reason} if v.reason else {}),
                    **({"noticed_by_unscored": list(v.noticed_by)} if v.status == "survived" else {}),
                    **({"diff": v.mutant.diff()} if v.status == "survived" else {}),
                }
                for v in self.verdicts
            ],
            "warnings": list(self.warnings),
            "time_s": round(self.time_s, 1),
        }
