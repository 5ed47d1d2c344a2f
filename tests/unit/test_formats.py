"""The CI and LMS report formats, on a hand-built Report with hostile student text."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import xml.etree.ElementTree as ET

import pytest

from grader.report import FORMATS, renderer
from grader.report.classroom import classroom_payload, render_classroom
from grader.report.github import annotations, write_step_summary
from grader.report.gradescope import render_gradescope
from grader.report.html import render_html
from grader.report.junit import render_junit
from grader.report.markdown import LIMIT, render_markdown
from grader.report.text import render_text
from grader.result import (
    CellReport,
    Environment,
    ItemResult,
    MisconceptionHit,
    NotebookReport,
    PartResult,
    Report,
)

HOSTILE = (
    "loss_fn() raised <script>alert(1)</script>\x1b[2J\x1b[31m red \u202eevil | pipe\n"
    "```\nnot a fence\n```\nSmallest input that raises: x=tensor([1.0])"
)
CELL_ERROR = "ValueError: <img src=x onerror=alert(1)>"
SNIPPET = (
    "import torch\n\n"
    "w = torch.tensor([1.0], dtype=torch.float32, requires_grad=True)\n"
    "lr = 0.1\n"
    "torch.manual_seed(5)\n"
    "result = sgd_step(w, lr)\n"
    "print(w.grad)\n"
)


def make_report(*, items: tuple[ItemResult, ...] | None = None) -> Report:
    passed = ItemResult(
        id="A1",
        title="Gradient of a square",
        target="square_grad",
        score=30,
        max_score=30,
        status="passed",
        feedback="Correct on all 50 generated inputs.",
        parts=(PartResult("value", "the returned value", 30, 30, True),),
        examples=50,
    )
    failed = ItemResult(
        id="A2",
        title="SGD step",
        target="sgd_step",
        score=10,
        max_score=40,
        status="failed",
        feedback=(
            "Wrong: grad (the gradient)\n  1 of 3 elements differ\nSmallest failing input: lr=0.1, w=tensor([1.])\n"
            "Likely cause: gradient accumulates. call .grad.zero_() first"
        ),
        parts=(
            PartResult("value", "the returned value", 10, 10, True),
            PartResult("grad", "the gradient", 0, 30, False, "1 of 3 elements differ"),
        ),
        counterexample={
            "input": {"lr": 0.1, "w": "tensor([1.])"},
            "problems": [{"part": "grad", "message": "differ"}],
            "snippet": SNIPPET,
        },
        misconceptions=(MisconceptionHit("no-zero-grad", "gradient accumulates", "call .grad.zero_() first"),),
        examples=12,
    )
    error = ItemResult(
        id="A3",
        title="Custom loss",
        target="loss_fn",
        score=0,
        max_score=30,
        status="error",
        feedback=HOSTILE,
        counterexample={"input": {"x": "tensor([1.0])"}, "problems": [{"part": "call", "message": "<script>"}]},
    )
    notebook = NotebookReport(
        path="sub/../student<b>.ipynb",
        sha256="ab" * 32,
        size=1234,
        nbformat="4.5",
        code_cells=3,
        cells=(CellReport(0, "ok"), CellReport(1, "error", CELL_ERROR)),
        magics=({"cell": 2, "line": 1, "kind": "shell", "text": "!rm -rf / <img src=y>"},),
        output_bytes=10,
        output_truncated=False,
        starts=1,
        stopped=None,
        warnings=(),
        limits_hit=("time limit",),
    )
    environment = Environment(
        grader_version="0.1",
        python="3.11",
        torch="2.3",
        hypothesis="6.100",
        platform="linux-x86_64",
        device="cpu",
        device_name="",
        seed=1234,
        examples_per_item=50,
        sandbox="bubblewrap",
    )
    return Report(
        assignment="autograd-basics",
        title="Autograd basics",
        submission="student|<i>\x1b[31m.ipynb",
        items=items if items is not None else (passed, failed, error),
        notebook=notebook,
        environment=environment,
    )


def test_every_format_has_a_renderer():
    report = make_report()
    for name in FORMATS:
        assert renderer(name)(report)
    with pytest.raises(ValueError, match="unknown format 'pdf'"):
        renderer("pdf")


def test_junit_is_valid_xml_with_one_testcase_per_item():
    suite = ET.fromstring(render_junit(make_report()))
    assert suite.tag == "testsuite"
    assert suite.attrib["name"] == "autograd-basics"
    assert (suite.attrib["tests"], suite.attrib["failures"], suite.attrib["errors"]) == ("3", "1", "1")
    suite_properties = {p.attrib["name"]: p.attrib["value"] for p in suite.findall("properties/property")}
    assert (suite_properties["score"], suite_properties["max_score"]) == ("40", "100")

    cases = suite.findall("testcase")
    assert [c.attrib["name"] for c in cases] == ["A1: Gradient of a square", "A2: SGD step", "A3: Custom loss"]
    assert {c.attrib["classname"] for c in cases} == {"autograd-basics"}
    assert list(cases[0]) == [cases[0].find("properties")]
    assert cases[1].find("failure").attrib["type"] == "failed"
    assert "Smallest failing input" in cases[1].find("failure").text
    assert cases[1].find("failure").text.endswith("result = sgd_step(w, lr)\nprint(w.grad)\n")
    error = cases[2].find("error")
    assert error.attrib["type"] == "error"
    assert "<script>alert(1)</script>" in error.text  # escaped by the XML writer, read back as text
    assert "\x1b" not in error.text and "\u202e" not in error.text
    scores = [{p.attrib["name"]: p.attrib["value"] for p in c.findall("properties/property")} for c in cases]
    assert [(s["score"], s["max_score"]) for s in scores] == [("30", "30"), ("10", "40"), ("0", "30")]


def test_junit_stays_valid_xml_with_characters_xml_forbids():
    (_, _, error) = make_report().items
    nasty = ItemResult(**{**error.__dict__, "feedback": "a\x00b\ufffe\ud800c", "title": "t\x0c"})
    suite = ET.fromstring(render_junit(make_report(items=(nasty,))))
    assert suite.find("testcase/error") is not None


def test_markdown_escapes_student_text_and_keeps_the_table():
    text = render_markdown(make_report())
    assert "<script" not in text and "<img" not in text and "<i>" not in text
    assert "\x1b" not in text and "\u202e" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert text.startswith("### Autograd basics — 40/100\n")
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(rows) == 2 + 3  # the heading and delimiter rows, then one row per item
    assert all(line.count(" | ") == 2 for line in rows)  # a student's `|` never adds a column
    assert "student\\|" in text
    # Sections only for the items that lost points, with the snippet that reproduces it where there is one.
    assert "#### A1" not in text and "#### A2" in text and "#### A3" in text
    lead = "To see it yourself, paste this into a new cell after your notebook's cells and run it:"
    assert f"{lead}\n\n```python\n{SNIPPET.rstrip()}\n```" in text
    assert text.count(lead) == 1  # A3's counterexample has no snippet
    assert "&quot;" not in text and '"problems"' not in text  # no dump of the counterexample's data
    assert "\\x1b[31m" in text  # shown, not obeyed (inside <pre>)


def test_markdown_truncates_long_feedback_and_fits_a_comment():
    (_, _, error) = make_report().items
    long_item = ItemResult(**{**error.__dict__, "feedback": "x" * 5000})
    text = render_markdown(make_report(items=(long_item,)))
    assert "x" * 599 + "…" in text and "x" * 601 not in text

    many = tuple(
        ItemResult(
            **{**error.__dict__, "id": f"B{i}", "feedback": "<>" * 300, "counterexample": {"snippet": "x = 1\n" * 250}}
        )
        for i in range(60)
    )
    text = render_markdown(make_report(items=many))
    assert len(text) < LIMIT
    assert "left out to fit a comment" in text
    assert len([line for line in text.splitlines() if line.startswith("| B")]) == 60


def test_html_page_is_self_contained_and_escaped():
    page = render_html(make_report())
    assert not re.search("<script", page, re.IGNORECASE)
    assert "\x1b" not in page and "\u202e" not in page
    assert "<img" not in page and "<i>" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert '<meta charset="utf-8">' in page
    assert (
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        in page
    )
    assert not re.search(r"(src|href)=\"(?!#)", page)  # nothing loaded from outside the page
    assert '<html lang="en">' in page
    for expected in ("Score: 40/100", "gradient accumulates", "call .grad.zero_() first", "1 of 3 elements differ"):
        assert page.count(expected) == 1  # each failure once: no feedback text beside its parts and causes
    assert "rm -rf" in page and "time limit" in page  # the notebook section


def test_html_page_puts_what_lost_points_first_and_folds_the_passed_items():
    page = render_html(make_report())
    lost, a2, a3, notebook, passed = (
        page.index("<h2>What lost points</h2>"),
        page.index('id="item-1"'),
        page.index('id="item-2"'),
        page.index('<section id="notebook">'),
        page.index('<details class="passed-items">'),
    )
    assert lost < a2 < a3 < notebook < passed
    assert page.index('id="item-0"') > passed  # A1 passed: a row in the fold, after everything that lost points
    assert "<summary>Passed items: 1 · 30/30</summary>" in page
    assert "Items that lost points: 2 of 3; they come first." in page
    # A2 failed with its parts known: what is wrong, the likely cause and the snippet, each once.
    section = page[a2:a3]
    assert "<h4>What is wrong</h4>" in section and "<h4>Likely cause</h4>" in section
    assert "<strong>grad</strong> (the gradient) · 0/30" in section
    assert "<strong>value</strong>" not in section  # a part that kept its points is not a problem
    assert "Smallest failing input" not in section  # the snippet shows the input
    assert '<pre class="code"><code>import torch\n\nw = torch.tensor([1.0]' in section
    assert "result = sgd_step(w, lr)" in section
    # A3 raised: its feedback text says what happened; there is no snippet in its counterexample.
    assert "Smallest input that raises" in page[a3:notebook] and "Reproduce it" not in page[a3:notebook]
    assert '"problems"' not in page and "&quot;problems&quot;" not in page  # no JSON dump of the wire form


def test_html_page_when_everything_passed():
    (passed, _, _) = make_report().items
    page = render_html(make_report(items=(passed,)))
    assert "All items passed." in page and "What lost points" not in page


def test_gradescope_results_json():
    results = json.loads(render_gradescope(make_report()))
    assert results["score"] == 40
    assert results["stdout_visibility"] == "hidden"
    tests = results["tests"]
    assert [(t["number"], t["score"], t["max_score"], t["status"]) for t in tests] == [
        ("A1", 30, 30, "passed"),
        ("A2", 10, 40, "failed"),
        ("A3", 0, 30, "failed"),
    ]
    assert {t["visibility"] for t in tests} == {"visible"}
    assert "\x1b" not in tests[2]["output"] and "\\x1b[2J" in tests[2]["output"]
    assert tests[1]["output"].endswith(
        "To see it yourself, paste this into a new cell after your notebook's cells and run it:\n\n" + SNIPPET
    )
    assert "To see it yourself" not in tests[2]["output"]


def test_classroom_result_is_base64_json():
    encoded = render_classroom(make_report())
    assert "\n" not in encoded.rstrip("\n")
    payload = json.loads(base64.b64decode(encoded))
    assert payload == classroom_payload(make_report())
    assert (payload["version"], payload["status"], payload["max_score"]) == (1, "fail", 100)
    assert [(t["name"], t["status"], t["score"]) for t in payload["tests"]] == [
        ("A1: Gradient of a square", "pass", 30),
        ("A2: SGD step", "fail", 10),
        ("A3: Custom loss", "error", 0),
    ]
    assert "\x1b" not in payload["tests"][2]["message"]

    (passed, _, _) = make_report().items
    assert classroom_payload(make_report(items=(passed,)))["status"] == "pass"


def test_annotations_escape_workflow_commands():
    lines = annotations(make_report(), "notebooks/a,b:c.ipynb")
    assert len(lines) == 2  # only the items that lost points
    assert lines[0].startswith("::error file=notebooks/a%2Cb%3Ac.ipynb,title=A2 (10/40)::Wrong: grad")
    assert all("\n" not in line and "\r" not in line for line in lines)
    assert "%0A" in lines[0]
    assert "\x1b" not in lines[1] and "\u202e" not in lines[1]

    (_, _, error) = make_report().items
    odd = ItemResult(**{**error.__dict__, "id": "C,1:x", "feedback": "100% wrong\r\n::add-mask::x"})
    (line,) = annotations(make_report(items=(odd,)), "nb.ipynb")
    assert line == "::error file=nb.ipynb,title=C%2C1%3Ax (0/30)::100%25 wrong\\x0d%0A::add-mask::x"


def test_step_summary_appends(tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    write_step_summary(make_report(), summary)
    write_step_summary(make_report(), summary)
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n")
    assert text.count("### Autograd basics — 40/100") == 2


def test_text_report_shows_the_snippet_under_the_feedback():
    text = render_text(make_report())
    lead = "  To see it yourself, paste this into a new cell after your notebook's cells and run it:\n"
    assert lead + "    import torch\n\n    w = torch.tensor([1.0], dtype=torch.float32, requires_grad=True)\n" in text
    assert text.count(lead) == 1
    assert "Score: 40/100" in text and "50 examples per item ·" in text


def test_text_report_wraps_prose_at_its_own_indentation_and_pads_no_line():
    long = "Wrong: grad (the gradient of the loss with respect to every parameter of the model, " * 3
    failed = dataclasses.replace(make_report().items[1], feedback=long.strip() + "\n  1 of 3 elements differ")
    report = dataclasses.replace(make_report(items=(failed,)), title=("An assignment title " * 4).strip())
    lines = render_text(report, width=80).splitlines()
    assert all(line == line.rstrip() for line in lines)
    assert lines[0] == report.title and lines[1] == "student|<i>\\x1b[31m.ipynb"  # no dangling " · "
    start = lines.index("  Wrong: grad (the gradient of the loss with respect to every parameter of the")
    assert all(line.startswith("  ") and not line.startswith("   ") for line in lines[start + 1 : start + 3])
    assert "    1 of 3 elements differ" in lines


def test_the_settings_line_names_the_items_that_drew_another_number_of_examples():
    report = make_report()
    environment = dataclasses.replace(report.environment, examples_by_item=(("e7.train_logreg", 20),))
    budgeted = dataclasses.replace(report, environment=environment)
    assert "50 examples per item (e7.train_logreg: 20) ·" in " ".join(render_text(budgeted).split())
    assert "50 examples per item (e7.train_logreg: 20)" in render_html(budgeted)
    assert budgeted.to_dict()["environment"]["examples_by_item"] == {"e7.train_logreg": 20}
    assert report.to_dict()["environment"]["examples_by_item"] == {}


def test_every_format_a_student_reads_is_polish_in_a_polish_report():
    report = dataclasses.replace(make_report(), language="pl")
    shown = {name: renderer(name)(report) for name in FORMATS}

    text = shown["text"]
    for polish in ("Wynik: 40/100", "Uwagi", "Notatnik", "Punkt", "Tytuł", "Pkt", "niezaliczone", "zaliczone"):
        assert polish in text
    footer = " ".join(" ".join(text.splitlines()[-2:]).split())  # the console wraps it at 100 columns
    assert "urządzenie cpu · ziarno 1234 · 50 przykładów na punkt · piaskownica bubblewrap" in footer
    assert "w komórce 1 wystąpił wyjątek ValueError" in text  # the exception itself stays as Python wrote it
    lead = "Wklej ten kod do nowej komórki na końcu swojego notatnika i ją uruchom:"
    assert lead in text
    for english in ("Score:", "Feedback", "examples per item", "Item", "Points", "the cells after it", "To see it"):
        assert english not in text, english  # the hand-made feedback is English data, the labels are not

    markdown = shown["markdown"]
    assert "| Punkt | Pkt | Status |" in markdown and "❌ niezaliczone" in markdown and "💥 błąd" in markdown
    assert "#### Notatnik" in markdown and lead in markdown and "Submission" not in markdown

    page = shown["html"]
    assert '<html lang="pl">' in page
    for polish in ("Gdzie tracisz punkty", "Co jest źle", "Prawdopodobna przyczyna", "Odtwórz to u siebie", lead):
        assert polish in page
    assert "Zaliczone punkty oceny: 1" in page and "Punkty oceny, w których tracisz pkt: 2 z 3" in page
    for english in ("What lost points", "What is wrong", "Likely cause", "Reproduce it", "Passed items", "Score:"):
        assert english not in page

    assert lead in json.loads(shown["gradescope"])["tests"][1]["output"]
    assert lead in ET.fromstring(shown["junit"]).findall("testcase")[1].find("failure").text
    # Machine fields stay as they are.
    assert json.loads(shown["json"])["items"][1]["status"] == "failed"
    assert json.loads(shown["gradescope"])["tests"][1]["status"] == "failed"


def test_plural_forms_of_the_labels_in_polish():
    from grader.i18n import language, ngettext

    with language("pl"):
        shown = [ngettext("{n} example per item", "{n} examples per item", n).format(n=n) for n in (1, 2, 5, 22)]
    assert shown == ["1 przykład na punkt", "2 przykłady na punkt", "5 przykładów na punkt", "22 przykłady na punkt"]
