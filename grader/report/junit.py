"""JUnit XML, the report CI systems (GitLab, Jenkins, test-reporter actions) already display.

One testsuite per grading, one testcase per rubric item. A lost item is a
``<failure>`` when the student's function answered wrongly and an
``<error>`` when it never answered (it raised, timed out, crashed).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ..escape import clean
from ..result import ItemResult, Report
from .text import points, snippet_lead, snippet_of

_FAILURE = frozenset({"failed", "missing"})
_ERROR = frozenset({"error", "timeout", "crashed"})

# clean() already turns C0 controls into visible escapes, but XML 1.0 also
# forbids surrogates and U+FFFE/U+FFFF, and ElementTree writes whatever it is
# given: one stray character would make the whole file unparseable.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", clean(text))


def render_junit(report: Report) -> str:
    suite = ET.Element(
        "testsuite",
        {
            "name": _xml(report.assignment),
            "tests": str(len(report.items)),
            "failures": str(sum(item.status in _FAILURE for item in report.items)),
            "errors": str(sum(item.status in _ERROR for item in report.items)),
            "skipped": "0",
        },
    )
    properties = ET.SubElement(suite, "properties")
    _property(properties, "title", report.title)
    _property(properties, "submission", report.submission)
    _property(properties, "sha256", report.notebook.sha256)
    _property(properties, "score", points(report.score))
    _property(properties, "max_score", points(report.max_score))
    for item in report.items:
        suite.append(_testcase(report.assignment, item))
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def _testcase(assignment: str, item: ItemResult) -> ET.Element:
    case = ET.Element("testcase", {"classname": _xml(assignment), "name": _xml(f"{item.id}: {item.title}")})
    properties = ET.SubElement(case, "properties")
    _property(properties, "score", points(item.score))
    _property(properties, "max_score", points(item.max_score))
    _property(properties, "status", item.status)
    if item.status in _FAILURE or item.status in _ERROR:
        tag = "failure" if item.status in _FAILURE else "error"
        first_line = item.feedback.strip().splitlines()[0] if item.feedback.strip() else item.status
        outcome = ET.SubElement(case, tag, {"message": _xml(first_line[:300]), "type": item.status})
        code = snippet_of(item)
        outcome.text = _xml(item.feedback if code is None else f"{item.feedback}\n\n{snippet_lead()}\n\n{code}")
    return case


def _property(parent: ET.Element, name: str, value: str) -> None:
    ET.SubElement(parent, "property", {"name": name, "value": _xml(value)})
