"""`grade check --lang` and `grader.check(lang=…)`: the public self-checks in Polish and English (issue 12)."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import KERNEL_PRELUDE, ROOT, SAMPLES, code_cells

ADVANCED = ROOT / "tests" / "samples" / "autograd-advanced"
# What no Polish `grade check` may still say in English.
ENGLISH = (
    "Public self-check",
    "Public checks",
    "checked only at grading",
    "These are the public checks only",
    ": failed",
    "failed:",
    "the step does not depend",
    "returned tensors detached",
)


def _flat(text: str) -> str:
    """The text with each run of whitespace as one space: the terminal report wraps its long lines."""
    return " ".join(text.split())


def test_grade_check_in_polish(grade):
    # Into a stream whose code page has neither "ł" nor "∂", as Windows' redirected output would be:
    # written in UTF-8 instead of failing.
    env = {"PYTHONIOENCODING": "cp1252"}
    done = grade("check", "--lang", "pl", SAMPLES / "wrong_grad_not_cleared.ipynb", timeout=300, env=env)
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("Samodzielne sprawdzenie · autograd-basics · ")
    assert "\ne7.train_step: niezaliczone\n" in done.stdout
    out = _flat(done.stdout)
    assert "Punkt" in out and "Tytuł" in out and "Publiczne testy" in out
    assert (
        "niezaliczone: krok nie zależy od starego .grad (ze starym gradientem w .grad krok wychodzi inny: "
        "wyzeruj gradienty (linear.zero_grad()) przed backward())"
    ) in out
    assert "sprawdzane dopiero przy ocenianiu: wartości ∂loss/∂z (porównywane z rozwiązaniem wzorcowym" in out
    assert "To tylko publiczne testy: przy ocenianiu Twoje funkcje są wywoływane" in out
    assert [phrase for phrase in ENGLISH if phrase in out] == []


def test_grade_check_in_english_is_todays_text(grade):
    done = grade("check", "--lang", "en", SAMPLES / "wrong_grad_not_cleared.ipynb", timeout=300)
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("Public self-check · autograd-basics · ")
    assert "\ne7.train_step: failed\n" in done.stdout
    out = _flat(done.stdout)
    assert (
        "failed: the step does not depend on a stale .grad (with an old gradient in .grad the step differs: "
        "clear gradients (linear.zero_grad()) before backward())"
    ) in out
    assert "checked only at grading: the values of ∂loss/∂z (compared with the reference at grading)" in out
    assert "These are the public checks only: grading draws many more inputs" in out
    assert "niezaliczone" not in out and "Samodzielne" not in out


def test_grade_check_in_polish_as_json_keeps_the_statuses(grade):
    done = grade("check", "--lang", "pl", "-f", "json", ADVANCED / "wrong_hook_on_caller_tensor.ipynb", timeout=300)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["language"] == "pl"
    assert report["kind"] == "public self-check (not a grade)"
    item = next(item for item in report["items"] if item["id"] == "a2.reverse")
    assert item["status"] == "failed"
    failed = {f["check"]: f["message"] for f in item["findings"] if f["status"] == "failed"}
    # The checks derived from grading's: its parts' descriptions, its words for a difference and an input.
    assert set(failed) == {
        "do x.grad dodaje się −lam·g dla gradientu z góry g",
        "późniejsze przejście w tył przez samo x",
    }
    message = failed["późniejsze przejście w tył przez samo x"]
    assert message.startswith("`x.grad` po kolejnym backward() przez x się różni"), message
    assert "; dane wejściowe: x = tensor(" in message, message
    checks = {f["check"] for item in report["items"] for f in item["findings"]}
    assert "krytyk i x bez zmian" in checks and "grad_fn wyniku to węzeł SoftClip" in checks
    assert not any("the caller" in check or "detached" in check for check in checks)


RUN_IN_KERNEL = (
    KERNEL_PRELUDE
    + """
run_cells(json.loads(sys.argv[1]))
import grader
print("PL", json.dumps(str(grader.check("e7", lang="pl"))))
print("HTML", grader.check_all(lang="pl")._repr_html_()[:80])
print("EN", json.dumps(str(grader.check("e7", lang="en"))))
try:
    grader.check("e9", lang="pl")
except ValueError as exc:
    print("NONE", exc)
"""
)


def test_grader_check_in_polish_in_the_live_kernel():
    cells = [c for c in code_cells(SAMPLES / "wrong_grad_not_cleared.ipynb") if not c.lstrip().startswith(("!", "%"))]
    done = subprocess.run(
        [sys.executable, "-c", RUN_IN_KERNEL, json.dumps(cells)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT / "assignments" / "autograd-basics",
    )
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if line[:3] in ("PL ", "EN ", "HTM", "NON"))
    assert json.loads(lines["PL"]).splitlines()[:2] == [
        "e7.train_step    niezaliczone",
        "  niezaliczone: krok nie zależy od starego .grad (ze starym gradientem w .grad krok wychodzi inny: "
        "wyzeruj gradienty (linear.zero_grad()) przed backward())",
    ]
    polish = json.loads(lines["PL"])
    assert "sprawdzane dopiero przy ocenianiu: końcowa strata w porównaniu z rozwiązaniem wzorcowym" in polish
    assert lines["HTML"].startswith("<table><tr><th>punkt</th><th>publiczne testy</th>")
    assert json.loads(lines["EN"]).splitlines()[:2] == [
        "e7.train_step    failed",
        "  failed: the step does not depend on a stale .grad (with an old gradient in .grad the step differs: "
        "clear gradients (linear.zero_grad()) before backward())",
    ]
    assert lines["NONE"] == "nie ma ćwiczenia 'e9': ćwiczenia to e1, e2, e3, e4, e5, e6, e7"
