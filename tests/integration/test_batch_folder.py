"""A TA's batch output folder over several runs: what is kept, what is read back, what is left behind.

Real ``grade batch`` runs (the sandbox, the plan cache) on two small notebooks: a
resumed batch that asks for a new format writes it for every student; a folder
graded again without a notebook no longer exports or diffs it; a batch graded
with a bundle leaves no unpacked bundle behind; a write that fails after
grading loses no report.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from conftest import SAMPLES, run_grader

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)")


def _class(folder: Path) -> list[Path]:
    folder.mkdir()
    notebooks = [folder / "ala.ipynb", folder / "Śliwa.ipynb"]
    shutil.copyfile(SAMPLES / "correct.ipynb", notebooks[0])
    shutil.copyfile(SAMPLES / "wrong_grad_not_cleared.ipynb", notebooks[1])
    return notebooks


def _batch(plan_cache: Path, *args: object):
    done = run_grader("batch", "-q", "-j", 2, *args, env={"GRADER_CACHE_DIR": str(plan_cache)}, timeout=900)
    assert done.returncode == 0, done.stderr
    return done


def test_resume_writes_a_format_asked_for_only_now(plan_cache, tmp_path):
    notebooks, out = _class(tmp_path / "class"), tmp_path / "out"
    _batch(plan_cache, *notebooks, "-o", out)
    assert not list((out / "reports").glob("*.html"))
    again = _batch(plan_cache, *notebooks, "-o", out, "--resume", "-f", "html")
    assert "kept from an earlier run" not in again.stderr  # no page to keep them with: graded again
    assert sorted(p.name for p in (out / "reports").glob("*.html")) == ["ala.html", "Śliwa.html"]
    third = _batch(plan_cache, *notebooks, "-o", out, "--resume", "-f", "html")
    assert "2 kept from an earlier run (--resume)" in third.stderr


def test_a_notebook_gone_from_the_class_is_not_exported_or_diffed(plan_cache, tmp_path):
    notebooks, out = _class(tmp_path / "class"), tmp_path / "out"
    _batch(plan_cache, *notebooks, "-o", out)
    old = tmp_path / "old"
    shutil.copytree(out, old)
    _batch(plan_cache, notebooks[0], "-o", out)  # Śliwa's notebook withdrawn; its record stays in reports/
    assert (out / "reports" / "Śliwa.json").is_file()
    diffed = json.loads(run_grader("diff", old, out, "-f", "json").stdout)
    assert diffed["only_old"] == ["Śliwa"] and diffed["summary"]["compared"] == 1
    roster = tmp_path / "roster.csv"
    roster.write_text("student,email\nala,ala@uni.pl\nŚliwa,sliwa@uni.pl\n", encoding="utf-8")
    exported = run_grader("export", out, "--to", "moodle", "--roster", roster, "-o", tmp_path / "m.csv")
    assert exported.returncode == 0, exported.stderr
    assert "no graded notebook" in exported.stderr and "Śliwa" in exported.stderr
    assert (tmp_path / "m.csv").read_text(encoding="utf-8").splitlines()[1:] == ["ala@uni.pl,100"]


def test_a_batch_graded_with_a_bundle_leaves_no_unpacked_bundle(plan_cache, tmp_path):
    bundle = tmp_path / "basics.zip"
    assert run_grader("bundle", "autograd-basics", "-o", bundle).returncode == 0
    before = set(Path(tempfile.gettempdir()).glob("grader-bundle-*"))
    notebooks = _class(tmp_path / "class")
    shutil.copyfile(SAMPLES.parent / "autograd-advanced" / "correct.ipynb", notebooks[0].parent / "adv.ipynb")
    done = _batch(plan_cache, *notebooks, notebooks[0].parent / "adv.ipynb", "-o", tmp_path / "out", "-a", bundle)
    assert set(Path(tempfile.gettempdir()).glob("grader-bundle-*")) - before == set()
    # --assignment wins for every notebook; the one that names another assignment is said to have been.
    assert (
        "grade batch: notebooks that name another assignment (1 autograd-advanced) were graded as autograd-basics, "
        "as --assignment says; grade them without it, or with their own"
    ) in done.stderr.splitlines()


def test_a_report_that_cannot_be_written_goes_to_standard_output(plan_cache, tmp_path):
    done = run_grader(
        "-f", "json", "-o", "/dev/full", SAMPLES / "correct.ipynb", env={"GRADER_CACHE_DIR": str(plan_cache)}
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "grade: error: --output /dev/full: cannot write it (No space left on device): written to standard output "
        "instead"
    ]
    assert json.loads(done.stdout)["score"] == 100


def test_an_output_folder_nothing_can_be_written_in_is_refused_before_grading(tmp_path):
    done = run_grader("-o", "/proc/report.json", SAMPLES / "correct.ipynb", timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("grade: error: --output /proc/report.json: the folder /proc is not writable (")
    batch = run_grader("batch", SAMPLES / "correct.ipynb", "-o", "/proc/out", timeout=60)
    assert batch.returncode == 2 and batch.stderr.startswith("grade: error: --out /proc/out: cannot ")
