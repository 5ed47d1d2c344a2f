"""The course's language by default, and the GitHub Actions outputs in it too."""

from __future__ import annotations

import json
from urllib.parse import unquote

from conftest import SAMPLES, english_left, student_text


def test_grade_speaks_the_rubrics_language_and_annotates_in_it_under_github_actions(grade, tmp_path):
    summary = tmp_path / "summary.md"
    env = {"GRADER_LANG": "", "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    done = grade("-f", "json", SAMPLES / "wrong_grad_not_cleared.ipynb", env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["language"] == "pl"  # no --lang, no $GRADER_LANG: the rubric's language: pl
    snippets = [i["counterexample"]["snippet"] for i in report["items"] if i.get("counterexample")]
    annotations = [line for line in done.stderr.splitlines() if line.startswith("::error ")]
    assert len(annotations) == 2  # e7.train_step and e7.train_logreg lost points
    for line in annotations:
        message = unquote(line.split("::", 2)[2])  # the runner's %0A and %25 escapes
        assert message.startswith("Błąd w części")
        assert english_left(message, snippets) == [], message
    markdown = summary.read_text(encoding="utf-8")
    assert markdown.startswith("### Podstawy autograd: gradienty, retain\\_grad, no\\_grad i krok uczenia")
    assert "| ✅ zaliczone |" in markdown and "niezaliczone" in markdown
    assert english_left(student_text(markdown, "markdown"), snippets) == []


def test_lang_en_keeps_the_english_wording(grade):
    done = grade("-f", "json", "--lang", "en", SAMPLES / "wrong_grad_not_cleared.ipynb", env={"GRADER_LANG": ""})
    report = json.loads(done.stdout)
    assert report["language"] == "en"
    feedback = {item["id"]: item["feedback"] for item in report["items"]}["e7.train_step"]
    assert feedback.startswith("Wrong: update (")
    assert "Likely cause: gradient not cleared before backward()." in feedback
