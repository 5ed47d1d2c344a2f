"""Stored plans: an item's generated inputs and the reference's observations.

With a fixed seed, hypothesis draws the same examples for every submission
that passes them, and the reference answers them the same way. A plan stores
both, so grading the next notebook of the same assignment replays them
instead of drawing and computing them again; hypothesis runs only where a
submission fails, to shrink. A plan is keyed by everything that could change
it (grader, rubric and reference files, library versions, seed, item), and
written atomically in the grader's own frame format: nothing is unpickled.
"""

from __future__ import annotations

import hashlib
import os
import platform
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from .._version import __version__
from ..child.wire import FrameReader, WireError, pack
from ..course.rubric import Item, Rubric
from ..files import tree_digest

FORMAT = 1
_MAX_PLAN_BYTES = 1 << 30


@dataclass(frozen=True)
class Entry:
    request: tuple[dict, list[bytes]]
    reference: tuple[dict, list[bytes]]


def default_directory() -> Path:
    if os.environ.get("GRADER_CACHE_DIR"):
        return Path(os.environ["GRADER_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "grader" / "plans"


_PACKAGE = Path(__file__).resolve().parent.parent
# What draws the inputs and what observes the reference's answers: a change to either changes a plan.
_DRAWING = (
    "authoring/strategies.py",
    "child/functions.py",
    "child/probe.py",
    "judging/search.py",
    "observe/case.py",
)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


class PlanStore:
    """Plans in ``directory`` (the cache, written as items are graded), else in ``shipped`` (read only:
    the plans a bundle brought, ``grade bundle --plans``)."""

    def __init__(self, directory: Path, rubric: Rubric, *, shipped: Path | None = None) -> None:
        self.directory = directory
        self.shipped = shipped
        material = "\n".join(
            [
                f"format {FORMAT}",
                f"grader {__version__}",
                f"python {platform.python_version()}",
                *(f"{p} {_version(p)}" for p in ("hypothesis", "numpy", "torch")),
                f"rubric {rubric.sha256}",
                f"reference {tree_digest(rubric.reference)}",
                # the drawing's building blocks, the catalogue of functions an input may name, the probe
                *(hashlib.sha256((_PACKAGE / part).read_bytes()).hexdigest() for part in _DRAWING),
            ]
        )
        self._base = hashlib.sha256(material.encode()).hexdigest()

    def key(self, item: Item, *, seed: int, examples: int) -> str:
        return hashlib.sha256(f"{self._base}|{item.id}|{item.target}|{seed}|{examples}".encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.plan"

    def _found(self, key: str) -> tuple[Path, bool] | None:
        """Where the plan is, the cache first, and whether it is a shipped (read-only) one."""
        path = self._path(key)
        if path.is_file():
            return path, False
        if self.shipped is not None and (shipped := self.shipped / key[:2] / f"{key}.plan").is_file():
            return shipped, True
        return None

    def has(self, key: str) -> bool:
        return self._found(key) is not None

    def load(self, key: str) -> list[Entry] | None:
        found = self._found(key)
        if found is None:
            return None
        path, shipped = found
        try:
            data = path.read_bytes()
        except OSError:
            return None
        try:
            return _parse(data, key)
        except (WireError, KeyError, TypeError, ValueError):
            if not shipped:
                path.unlink(missing_ok=True)  # damaged: it will be made again
            return None

    def save(self, key: str, entries: list[Entry]) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            chunks = [pack({"plan": FORMAT, "key": key, "examples": len(entries)})]
            for entry in entries:
                chunks.append(pack(*entry.request))
                chunks.append(pack(*entry.reference))
            with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".plan.", delete=False) as handle:
                handle.write(b"".join(chunks))
            os.replace(handle.name, path)
        except OSError:
            return  # a cache that cannot be written only costs time


def _parse(data: bytes, key: str) -> list[Entry]:
    reader = FrameReader(max_frame_bytes=_MAX_PLAN_BYTES)
    reader.feed(data)
    head = reader.next_frame()
    if head is None or head[0].get("plan") != FORMAT or head[0].get("key") != key:
        raise ValueError("not this plan")
    entries = []
    for _ in range(int(head[0]["examples"])):
        request, reference = reader.next_frame(), reader.next_frame()
        if request is None or reference is None:
            raise ValueError("truncated plan")
        entries.append(Entry(request=request, reference=reference))
    if reader.pending():
        raise ValueError("trailing bytes")
    return entries
