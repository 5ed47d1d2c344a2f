"""The students' side: public self-checks, in-notebook checks, authoring, bundles."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile

import pytest
import yaml

from conftest import KERNEL_PRELUDE, ROOT, SAMPLES, TEMPLATE, code_cells

EXPECTED_CHECK = yaml.safe_load((SAMPLES / "expected_check.yaml").read_text(encoding="utf-8"))
EXPECTED_GRADES = yaml.safe_load((SAMPLES / "expected.yaml").read_text(encoding="utf-8"))
SOLUTION = ROOT / "reference" / "autograd_basics" / "solution.ipynb"


# -- grade check ---------------------------------------------------------------------


# Through `grade check` (the sandbox, as a student on Linux runs it): a correct sample, a wrong one and a
# hostile one; every sample through grader.check_all() in a kernel of its own (below).
CHECKED_BY_GRADE_CHECK = ("correct.ipynb", "wrong_accuracy_threshold_half.ipynb", "kills-every-process")


def _check_statuses_are_expected(name: str, statuses: dict[str, str]) -> None:
    spec = EXPECTED_CHECK[name] or {}
    wanted = {item_id: spec.get("items", {}).get(item_id, "passed") for item_id in statuses}
    assert statuses == wanted, name


@pytest.mark.parametrize("name", CHECKED_BY_GRADE_CHECK)
def test_public_checks_flag_what_they_can_see(name, grade):
    spec = EXPECTED_CHECK[name] or {}
    notebook = ROOT / spec["notebook"] if "notebook" in spec else SAMPLES / name
    done = grade("check", "-f", "json", notebook, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout)
    _check_statuses_are_expected(name, {item["id"]: item["status"] for item in report["items"]})
    assert done.returncode == (0 if not spec.get("items") else 1)
    assert report["kind"] == "public self-check (not a grade)"
    later = [f for item in report["items"] for f in item["findings"] if f["status"] == "checked only at grading"]
    if not spec.get("items"):
        assert later, "what the public checks cannot decide is said so, never passed"


# Each sample's cells in a fork of one interpreter (torch imported once), then grader.check_all(), as in a
# student's Jupyter kernel: one JSON line per sample. The samples are ours; the hostile one is left to the
# sandbox above.
CHECK_EACH_IN_A_KERNEL = (
    KERNEL_PRELUDE
    + """
import torch
samples = json.loads(sys.stdin.read())
for name, cells in samples.items():
    pid = os.fork()
    if pid == 0:
        run_cells(cells)
        import grader
        results = grader.check_all(lang="en")
        later = [f for item in results.items for f in item.findings if f.get("status") == "checked only at grading"]
        statuses = {item.id: item.status for item in results.items}
        print("RESULT", json.dumps({"name": name, "statuses": statuses, "later": len(later)}), flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
"""
)


@pytest.fixture(scope="module")
def checked_in_kernels(tmp_path_factory) -> dict[str, dict]:
    samples = {
        name: [c for c in code_cells(ROOT / spec["notebook"] if spec and "notebook" in spec else SAMPLES / name)
               if not c.lstrip().startswith(("!", "%"))]
        for name, spec in EXPECTED_CHECK.items()
        if not (spec and "notebook" in spec and spec["notebook"].startswith("tests/adversarial"))
    }  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", CHECK_EACH_IN_A_KERNEL],
        input=json.dumps(samples),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path_factory.mktemp("kernel"),  # what the notebooks write (a rendered graph) lands there
        env={
            **os.environ,
            "MPLBACKEND": "Agg",
            "GRADER_PUBLIC_CHECKS": str(ROOT / "assignments" / "autograd-basics" / "public_checks.py"),
        },
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = [json.loads(line.split(" ", 1)[1]) for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    by_name = {result["name"]: result for result in results}
    assert sorted(by_name) == sorted(samples), done.stderr[-3000:]
    return by_name


@pytest.mark.parametrize(
    "name", sorted(n for n, spec in EXPECTED_CHECK.items() if "adversarial" not in (spec or {}).get("notebook", ""))
)
def test_public_checks_in_a_kernel_flag_what_they_can_see(name, checked_in_kernels):
    result = checked_in_kernels[name]
    _check_statuses_are_expected(name, result["statuses"])
    if not (EXPECTED_CHECK[name] or {}).get("items"):
        assert result["later"], "what the public checks cannot decide is said so, never passed"


def test_the_template_is_reported_as_not_implemented(grade):
    report = json.loads(grade("check", "-f", "json", TEMPLATE, timeout=300).stdout)
    assert all(item["message"].startswith("not implemented yet") for item in report["items"])


def test_public_checks_are_fast(grade):
    import time

    started = time.monotonic()
    done = grade("check", SAMPLES / "correct.ipynb", timeout=300)
    assert done.returncode == 0
    assert time.monotonic() - started < 15


def test_check_text_report(grade):
    done = grade("check", SAMPLES / "wrong_accuracy_threshold_half.ipynb", timeout=300)
    assert done.returncode == 1
    assert "e7.accuracy: failed" in done.stdout
    assert "checked only at grading" in done.stdout


# -- in the notebook -----------------------------------------------------------------

RUN_IN_KERNEL = (
    KERNEL_PRELUDE
    + """
run_cells(json.loads(sys.argv[1]))
import grader
result = grader.check("e1")
print("TEXT", str(result).replace("\\n", " | "))
print("HTML", result._repr_html_())
print("ALL", all(item.status == "passed" for item in grader.check_all().items))
"""
)


@pytest.mark.parametrize("sample, e1_passes", [("correct.ipynb", True), ("wrong_mutates_caller_tensors.ipynb", False)])
def test_grader_check_in_the_live_kernel(sample, e1_passes):
    cells = [c for c in code_cells(SAMPLES / sample) if not c.lstrip().startswith(("!", "%"))]
    done = subprocess.run(
        [sys.executable, "-c", RUN_IN_KERNEL, json.dumps(cells)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT / "assignments" / "autograd-basics",
    )
    assert done.returncode == 0, done.stderr
    lines = {
        line.split(" ", 1)[0]: line.split(" ", 1)[1]
        for line in done.stdout.splitlines()
        if line[:4] in ("TEXT", "HTML", "ALL ")
    }
    assert lines["HTML"].startswith("<table>") and "<code>e1.autograd</code>" in lines["HTML"]
    assert ("e1.autograd      passed" in lines["TEXT"]) == e1_passes
    assert lines["ALL"] == str(e1_passes)


# -- nothing secret ships ------------------------------------------------------------


def _windows(path, size: int = 3) -> set[str]:
    """Every run of `size` consecutive code lines, whitespace squeezed out (lines of closing brackets,
    which any formatted code has, are no secret and are skipped)."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text = re.sub(r"\s+", "", line.split("#", 1)[0])
        if re.search(r"\w", text) and not text.startswith(('"""', "def", "from", "import")):
            lines.append(text)
    return {"".join(lines[i : i + size]) for i in range(len(lines) - size + 1)}


@pytest.mark.parametrize("assignment", ["autograd-basics", "autograd-advanced"])
def test_nothing_secret_ships_to_students(assignment):
    """No three consecutive lines of the reference, its variants or its input domains, and no seed."""
    secret = set()
    for name in ("solution.py", "variants.py", "domains.py", "checks.py", "misconceptions.py"):
        secret |= _windows(ROOT / "reference" / assignment.replace("-", "_") / name)
    rubric = yaml.safe_load((ROOT / "rubrics" / f"{assignment}.yaml").read_text())
    student_files = sorted(p for p in (ROOT / "assignments" / assignment).rglob("*") if p.is_file())
    assert student_files and len(secret) > 100
    for path in student_files:
        # Derived public checks (.examples) are frames of JSON and raw tensor bytes: their text is read.
        text = path.read_bytes().decode("utf-8", "replace")
        squeezed = re.sub(r"\s+", "", text.replace("\\n", "\n"))
        leaked = sorted(window for window in secret if window in squeezed)
        assert leaked == [], (path.name, leaked[:3])
        assert str(rubric["seed"]) not in text, path.name
        assert "BEGIN SOLUTION" not in text, path.name


def test_the_leak_detector_would_see_a_leak(tmp_path):
    leaked = tmp_path / "leak.py"
    leaked.write_text((ROOT / "reference" / "autograd_basics" / "solution.py").read_text())
    secret = _windows(ROOT / "reference" / "autograd_basics" / "solution.py")
    squeezed = re.sub(r"\s+", "", leaked.read_text())
    assert any(window in squeezed for window in secret)


# -- authoring -----------------------------------------------------------------------


def test_assign_reproduces_the_shipped_template_and_verifies_it(grade, tmp_path):
    target = tmp_path / "template.ipynb"
    done = grade("assign", SOLUTION, "-o", target, timeout=600)
    assert done.returncode == 0, done.stderr
    assert target.read_bytes() == TEMPLATE.read_bytes()
    assert done.stdout.splitlines() == [
        f"wrote {target}",
        "solution: 100/100, as it must",
        "template: 0/100, as it must",
    ]


def test_assign_says_when_a_template_still_scores(grade, tmp_path):
    solution = json.loads(SOLUTION.read_text())
    for cell in solution["cells"]:
        source = "".join(cell["source"])
        if "def accuracy(" in source:  # leave accuracy's solution in the template: drop its markers
            head, _, rest = source.partition("def accuracy(")
            body, _, tail = rest.partition("def train_logreg(")
            body = body.replace("    # BEGIN SOLUTION\n", "").replace("    # END SOLUTION\n", "")
            cell["source"] = f"{head}def accuracy({body}def train_logreg({tail}"
    leaky = tmp_path / "leaky_solution.ipynb"
    leaky.write_text(json.dumps(solution))
    done = grade("assign", leaky, "-o", tmp_path / "t.ipynb", timeout=600)
    assert done.returncode == 1
    assert "template: 5/100, but it must score 0" in done.stdout
    assert "e7.accuracy (passed, 5/5)" in done.stdout


def test_assign_refuses_an_unterminated_region(grade, tmp_path):
    solution = json.loads(SOLUTION.read_text())
    for cell in solution["cells"]:
        source = "".join(cell["source"])
        if "def linear_bce_grads(" in source:  # one region in this cell: leave it open
            cell["source"] = source.replace("# END SOLUTION", "# the end", 1)
            break
    broken = tmp_path / "broken_solution.ipynb"
    broken.write_text(json.dumps(solution))
    done = grade("assign", broken, "-o", tmp_path / "t.ipynb", timeout=120)
    assert done.returncode == 2
    assert re.fullmatch(r"grade: error: cell \d+, line \d+: # BEGIN SOLUTION has no # END SOLUTION\n", done.stderr)


# -- bundles -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    target = tmp_path_factory.mktemp("bundle") / "autograd-basics.zip"
    done = subprocess.run(
        [sys.executable, "-m", "grader", "bundle", "autograd-basics", "-o", str(target)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(rf"wrote {re.escape(str(target))} \(\d+ bytes, checksum sha256:[0-9a-f]{{64}}\)\n", done.stdout)
    return target


def test_bundles_are_reproducible(bundle, tmp_path):
    again = tmp_path / "again.zip"
    subprocess.run(
        [sys.executable, "-m", "grader", "bundle", "autograd-basics", "-o", str(again)],
        check=True,
        timeout=300,
        cwd=ROOT,
    )
    assert again.read_bytes() == bundle.read_bytes()


@pytest.mark.parametrize(
    "sample", ["correct.ipynb", "wrong_sgd_step_rebinds.ipynb", "wrong_accuracy_threshold_half.ipynb"]
)
def test_a_bundle_grades_like_the_folders(bundle, sample, grade_json, tmp_path):
    with_folders = grade_json(SAMPLES / sample)
    with_bundle = grade_json(SAMPLES / sample, "-a", bundle, cwd=tmp_path)
    verdicts = lambda r: [(i["id"], i["status"], i["score"], i["feedback"]) for i in r["items"]]  # noqa: E731
    assert verdicts(with_bundle) == verdicts(with_folders)
    assert with_bundle["score"] == EXPECTED_GRADES[sample]["score"]


def test_a_bundle_also_runs_the_public_checks(bundle, grade, tmp_path):
    done = grade("check", "-f", "json", "-a", bundle, SAMPLES / "correct.ipynb", cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr


def _rewritten(bundle, tmp_path, edit) -> str:
    target = tmp_path / "edited.zip"
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(target, "w") as out:
        for info in source.infolist():
            name, data = edit(info.filename, source.read(info.filename))
            if name is not None:
                out.writestr(name, data)
    return str(target)


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda n, d: (n, d.replace(b"return", b"return 0 *", 1) if n.endswith("solution.py") else d),
            "does not match its checksum",
        ),
        (
            lambda n, d: ("../escape.py" if n.endswith("variants.py") else n, d),
            "unsafe path in the archive: '../escape.py'",
        ),
        (
            lambda n, d: ("/etc/evil.py" if n.endswith("variants.py") else n, d),
            "unsafe path in the archive: '/etc/evil.py'",
        ),
        (lambda n, d: (None if n.endswith("variants.py") else n, d), "the archive's files and its manifest disagree"),
        (lambda n, d: (None if n == "MANIFEST.json" else n, d), "not a bundle: no MANIFEST.json"),
    ],
)
def test_tampered_or_unsafe_bundles_are_refused(bundle, grade, tmp_path, edit, message):
    done = grade("-a", _rewritten(bundle, tmp_path, edit), SAMPLES / "correct.ipynb", timeout=120)
    assert done.returncode == 2
    assert message in done.stderr and done.stderr.count("\n") == 1
    assert not (tmp_path.parent / "escape.py").exists()


def test_a_bundle_with_a_link_is_refused(bundle, grade, tmp_path):
    import stat

    target = tmp_path / "link.zip"
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(target, "w") as out:
        for info in source.infolist():
            out.writestr(info, source.read(info.filename))
        link = zipfile.ZipInfo("reference/autograd_basics/link")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        out.writestr(link, "/etc/passwd")
    done = grade("-a", target, SAMPLES / "correct.ipynb", timeout=120)
    assert done.returncode == 2
    assert "is not a regular file (links and folders are refused)" in done.stderr
