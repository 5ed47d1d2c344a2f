"""Deriving an assignment's public checks from its grading checks (``grade assign``).

For each rubric item, hypothesis draws ``EXAMPLES_PER_ITEM`` inputs from the
item's check with a seed of its own (``public <item id>``, never the grading
seed, so the public inputs are not grading's), and the reference answers
them on the CPU. The reference is vouched for as in grading: a fact pattern
that matches nothing, or the reference raising on a drawn input, is the
instructor's error, in one line.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from ..course.rubric import Rubric
from ..i18n import LANGUAGES, _, language
from ..judging.model import ItemSetup
from ..judging.search import item_seed
from .examples import PublicCase, PublicExamples, PublicItem, PublicPart

if TYPE_CHECKING:
    from ..observe.reference import ReferenceRunner

# Enough to show each part on a few shapes and dtypes; few enough that a self-check takes seconds.
EXAMPLES_PER_ITEM = 8


def derive(rubric: Rubric, *, per_item: int = EXAMPLES_PER_ITEM) -> PublicExamples:
    from ..course.assignment import with_reference
    from ..observe.reference import ReferenceRunner

    assignment = with_reference(rubric)
    reference = ReferenceRunner(lambda: assignment.solution, device_as="cpu", rubric=rubric.path)
    items = []
    texts: set[str] = set()
    for item in rubric.items:
        check, scored = assignment.check_for(item), tuple(assignment.parts_of(item))
        parts = tuple(
            PublicPart(
                name,
                _translated(check.part(name).description, rubric),
                () if check.part(name).judge is not None else tuple(check.part(name).facts),
            )
            for name, _points in scored
        )
        labels = {path: _translated(text, rubric) for path, text in check.labels.items()}
        # A seed of the item's own for the public inputs, never the grading's.
        setup = ItemSetup(item, check, scored, (), item_seed(rubric.seed, f"public {item.id}"), per_item)
        cases = _cases(setup, reference)
        items.append(PublicItem(item.id, item.target, parts, labels, cases))
        texts |= _step_texts(cases)
    messages: dict[str, dict[str, str]] = {code: {} for code in LANGUAGES}
    for msgid in sorted(texts):
        for code, text in _translated(msgid, rubric).items():
            if text != msgid:
                messages[code][msgid] = text
    return PublicExamples(rubric.assignment, tuple(items), {code: m for code, m in messages.items() if m})


def _step_texts(cases) -> set[str]:
    """The labels of the cases' follow-up steps, as fact paths name them ("after backward(g)") and as a
    failed step's sentence does ("backward(g) failed with …")."""
    found = set()
    for case in cases:
        for step in case.request[0].get("then") or ():
            label = str(step.get("label") or "")
            if label:
                found |= {label, label.removeprefix("after ")}
    return found


def _translated(text: str, rubric: Rubric) -> dict[str, str]:
    texts = {}
    for code in LANGUAGES:
        with language(code, (rubric.locale,)):
            texts[code] = _(text)
    return texts


def _cases(setup: ItemSetup, reference: ReferenceRunner) -> tuple[PublicCase, ...]:
    """The item's public inputs (``setup.seed``, ``setup.examples`` of them) and the reference's answers."""
    from ..child.wire import pack
    from ..judging.instructor import Audit
    from ..judging.search import reject, run_examples
    from ..observe.observation import decode
    from ..observe.reference import ReferenceFailed

    item, check, per_item = setup.item, setup.check, setup.examples
    call_seed = setup.seed % (1 << 31)
    audit = Audit.of_item(setup, reference, call_seed=call_seed)
    cases: list[PublicCase] = []
    seen: set[str] = set()
    failed: list[ReferenceFailed] = []

    def record(case) -> None:
        header, blobs = case.request(item.target, seed=call_seed)
        key = hashlib.sha256(pack(header, blobs)).hexdigest()
        if key in seen:
            reject()
        seen.add(key)
        if failed:
            return
        try:
            expected = reference.expected(item.target, header, blobs, case)
        except ReferenceFailed as exc:
            failed.append(exc)
            return
        tolerance = item.tolerance(case.dtype)
        cases.append(PublicCase((header, blobs), expected, (tolerance.rtol, tolerance.atol)))

    error = run_examples(check.cases, record, max_examples=per_item, seed=setup.seed)
    if error is not None:
        raise error
    if failed:
        raise audit.failed(failed[0], examples=per_item)
    audit.vouch(decode(*case.expected) for case in cases)
    return tuple(cases)
