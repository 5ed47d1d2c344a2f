"""Public checks derived from the grading checks: a few fixed inputs and the reference's observations.

An assignment's public checks are either written by hand (``public_checks.py``)
or derived: the rubric's ``public_checks:`` then names a ``.examples`` file
that ``grade assign`` writes. For every rubric item it holds the parts of the
item's check (their descriptions in every language the grader speaks, and
the fact patterns they compare), a handful of inputs drawn from the item's
domain with a seed of their own (never the grading's inputs), and what the
reference made of each. A self-check calls the student's function on those
inputs and compares, part by part, exactly as grading does: what a student
reads is grading's feedback on a small, fixed set of inputs, and the
instructor writes no public check at all.

The file is the grader's frame format (``grader.child.wire``): nothing is
unpickled, and a damaged or foreign file is refused in one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import RubricError
from ..i18n import LANGUAGES, SOURCE_LANGUAGE, _, current_language
from ..result import LATER

FORMAT = 1
SUFFIX = ".examples"
_MAX_FILE_BYTES = 64 << 20


def is_derived(path: Path | None) -> bool:
    """Whether the rubric's ``public_checks:`` names derived examples (else hand-written checks)."""
    return path is not None and path.suffix == SUFFIX


@dataclass(frozen=True)
class PublicPart:
    name: str
    description: dict[str, str]  # by language
    facts: tuple[str, ...]  # empty: a part judged by a rule of its own, checked only at grading


@dataclass(frozen=True)
class PublicCase:
    request: tuple[dict, list[bytes]]
    expected: tuple[dict, list[bytes]]
    tolerance: tuple[float, float]  # rtol, atol


@dataclass(frozen=True)
class PublicItem:
    id: str
    target: str
    parts: tuple[PublicPart, ...]
    labels: dict[str, dict[str, str]]  # fact path -> {language: text}
    cases: tuple[PublicCase, ...]

    def labels_in(self, language: str) -> dict[str, str]:
        return {path: _in(texts, language) for path, texts in self.labels.items()}


@dataclass(frozen=True)
class PublicExamples:
    assignment: str
    items: tuple[PublicItem, ...]
    # The assignment's own texts that observations name (a step's label: "after backward(g)"), translated:
    # {language: {msgid: text}}; the reference's catalogue is not at hand where students check.
    messages: dict[str, dict[str, str]] = field(default_factory=dict)

    def item(self, item_id: str) -> PublicItem | None:
        return next((item for item in self.items if item.id == item_id), None)

    def exercises(self) -> dict[str, list[str]]:
        """``{"a1": ["a1.forward", "a1.backward"], ...}``: an exercise is an item id up to its first dot."""
        grouped: dict[str, list[str]] = {}
        for item in self.items:
            grouped.setdefault(item.id.split(".", 1)[0], []).append(item.id)
        return grouped


def _in(texts: dict[str, str], language: str) -> str:
    return texts.get(language) or texts.get(SOURCE_LANGUAGE) or next(iter(texts.values()), "")


# -- the file ------------------------------------------------------------------------


def dumps(examples: PublicExamples) -> bytes:
    from ..child.wire import pack

    head = {
        "public_examples": FORMAT,
        "assignment": examples.assignment,
        "messages": examples.messages,
        "items": [
            {
                "id": item.id,
                "target": item.target,
                "parts": [{"name": p.name, "description": p.description, "facts": list(p.facts)} for p in item.parts],
                "labels": item.labels,
                "cases": [list(case.tolerance) for case in item.cases],
            }
            for item in examples.items
        ],
    }
    chunks = [pack(head)]
    for item in examples.items:
        for case in item.cases:
            chunks.append(pack(*case.request))
            chunks.append(pack(*case.expected))
    return b"".join(chunks)


def read(path: Path) -> PublicExamples:
    """The examples in ``path``; a ``RubricError`` naming the file where it cannot be read."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        why = "no public checks yet: grade assign writes them (from the solution notebook)"
        raise RubricError(f"{path}: {why}") from None
    except OSError as exc:
        raise RubricError(f"{path}: cannot read the public examples: {exc.strerror or exc}") from None
    try:
        return loads(data)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise RubricError(
            f"{path}: not public examples written by grade assign ({exc}): run grade assign again"
        ) from None


def loads(data: bytes) -> PublicExamples:
    from ..child.wire import FrameReader, WireError

    if len(data) > _MAX_FILE_BYTES:
        raise ValueError(f"{len(data)} bytes, more than {_MAX_FILE_BYTES}")
    reader = FrameReader(max_frame_bytes=_MAX_FILE_BYTES)
    reader.feed(data)
    try:
        frame = reader.next_frame()
        if frame is None or frame[0].get("public_examples") != FORMAT:
            raise ValueError("no header of this format")
        head = frame[0]
        items = []
        for entry in head["items"]:
            cases = []
            for tolerance in entry["cases"]:
                request, expected = reader.next_frame(), reader.next_frame()
                if request is None or expected is None:
                    raise ValueError("truncated")
                rtol, atol = (float(t) for t in tolerance)
                cases.append(PublicCase(_frame(request), _frame(expected), (rtol, atol)))
            parts = tuple(
                PublicPart(str(p["name"]), _texts(p["description"]), tuple(str(f) for f in p["facts"]))
                for p in entry["parts"]
            )
            labels = {str(path): _texts(texts) for path, texts in dict(entry["labels"]).items()}
            items.append(PublicItem(str(entry["id"]), str(entry["target"]), parts, labels, tuple(cases)))
        if reader.pending():
            raise ValueError("trailing bytes")
    except WireError as exc:
        raise ValueError(str(exc)) from None
    messages = {
        str(code): {str(k): str(v) for k, v in dict(texts).items()}
        for code, texts in dict(head.get("messages") or {}).items()
        if code in LANGUAGES
    }
    return PublicExamples(str(head["assignment"]), tuple(items), messages)


def _frame(frame: tuple[dict, list[bytes]]) -> tuple[dict, list[bytes]]:
    header = {k: v for k, v in frame[0].items() if k != "_blobs"}
    return header, list(frame[1])


def _texts(value: Any) -> dict[str, str]:
    texts = {str(k): str(v) for k, v in dict(value).items() if k in LANGUAGES}
    if not texts:
        raise ValueError("a text in no known language")
    return texts


# -- judging a student's answers ---------------------------------------------------------


def judge(
    item: PublicItem,
    replies: list[tuple[dict, list[bytes]]],
    *,
    messages: dict[str, dict[str, str]],
    device_as: str | None = None,
) -> dict[str, Any]:
    """The self-check of one item from the student's observation frames, one per case, in the
    current language: ``{"status", "message", "findings": [{"check", "status", "message"}]}``.

    Each part passes when it matches the reference on every input; a failing part names the first input
    it fails on, with grading's own words for the difference. ``messages``: ``PublicExamples.messages``.
    """
    from ..i18n import also

    with also(messages.get(current_language(), {})):
        return _judge(item, replies, device_as)


def _judge(item: PublicItem, replies: list[tuple[dict, list[bytes]]], device_as: str | None) -> dict[str, Any]:
    from ..judging.feedback import clip, error_text, mismatch_line
    from ..observe.case import Case
    from ..observe.compare import Tolerance, compare
    from ..observe.observation import ObservationError, decode

    language = current_language()
    labels = item.labels_in(language)
    first_wrong: dict[str, str] = {}
    raised: tuple[dict, Case] | None = None
    for case, reply in zip(item.cases, replies, strict=True):
        shown = Case.from_request(*case.request)
        try:
            student = decode(*reply)
        except ObservationError as exc:
            detail = _("the worker sent a malformed answer ({error})").format(error=exc)
            return {"status": "crashed", "message": detail, "findings": []}
        if student.raised:
            raised = raised or (student.error or {}, shown)
            continue
        expected = decode(*case.expected, device_as=device_as)
        tolerance = Tolerance(*case.tolerance)
        for part in item.parts:
            if part.facts and part.name not in first_wrong:
                found = compare(student, expected, part.facts, tolerance, labels)
                if found:
                    first_wrong[part.name] = _("{difference}; input: {shown}").format(
                        difference=mismatch_line(found), shown=clip(shown.describe(), 400)
                    )
    findings = []
    for part in item.parts:
        check = _in(part.description, language)
        if not part.facts:
            findings.append({"check": check, "status": LATER, "message": ""})
        elif part.name in first_wrong:
            findings.append({"check": check, "status": "failed", "message": clip(first_wrong[part.name])})
        elif raised is None:
            findings.append({"check": check, "status": "passed", "message": ""})
    if raised is not None:
        error, shown = raised
        if error.get("not_implemented"):
            message = _("not implemented yet ({error})").format(error=error_text(error))
        else:
            message = _("{error}; input: {shown}").format(error=error_text(error), shown=clip(shown.describe(), 400))
        return {"status": "error", "message": clip(message), "findings": findings}
    status = "failed" if first_wrong else "passed"
    return {"status": status, "message": "", "findings": findings}
