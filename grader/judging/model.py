"""What the engine and the feedback both speak of: an item's setup, an example and its verdict."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..authoring.api import Check
from ..course.rubric import Item
from ..observe.case import Case
from ..observe.compare import Mismatch
from ..observe.observation import Observation

RAISED = "(raised)"


@dataclass
class Example:
    case: Case
    header: dict
    blobs: list[bytes]
    key: str
    raw_expected: tuple[dict, list[bytes]] | None = None
    expected: Observation | None = None


@dataclass
class Verdict:
    example: Example
    student: Observation
    failed: frozenset[str]
    problems: dict[str, list[Mismatch]] = field(default_factory=dict)


@dataclass(frozen=True)
class ItemSetup:
    item: Item
    check: Check
    parts: tuple[tuple[str, float], ...]
    misconceptions: tuple
    seed: int
    examples: int
