"""The one result object of a grading; every report format renders it.

Everything here is immutable. ``to_dict`` gives the JSON/YAML report; all
wall-clock figures live under the top-level ``timings`` key, so two gradings
of the same notebook differ only there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STATUSES = ("passed", "failed", "error", "timeout", "crashed", "missing")


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

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Report:
    assignment: str
    title: str
    submission: str
    items: tuple[ItemResult, ...]
    notebook: NotebookReport
    environment: Environment
    timings: dict[str, float] = field(default_factory=dict)

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
            "submission": self.submission,
            "sha256": self.notebook.sha256,
            "score": self.score,
            "max_score": self.max_score,
            "items": [item.to_dict() for item in self.items],
            "notebook": self.notebook.to_dict(),
            "environment": self.environment.to_dict(),
            "timings": dict(self.timings),
        }
