"""Which language grader.check() speaks in a student's kernel."""

from __future__ import annotations

import shutil

import pytest

import grader.course.assignment
from conftest import ROOT
from grader.selfcheck import inline


@pytest.fixture
def students_folder(tmp_path, monkeypatch):
    """What a student has without the course: the assignment's folder, the notebook beside the checks."""
    shutil.copytree(ROOT / "assignments" / "autograd-basics", tmp_path / "autograd-basics")
    monkeypatch.chdir(tmp_path / "autograd-basics")
    monkeypatch.setattr(grader.course.assignment, "course_dir", lambda: None)
    monkeypatch.delenv("GRADER_LANG", raising=False)
    monkeypatch.delenv("GRADER_PUBLIC_CHECKS", raising=False)
    return tmp_path / "autograd-basics"


def test_without_the_course_the_public_checks_name_the_language(students_folder):
    assert inline._language(None, None) == "pl"
    results = inline.check("e1", namespace={})
    assert str(results).splitlines()[0].split(maxsplit=1) == ["e1.value", "brak funkcji: notatnik nie definiuje f1()"]


def test_lang_and_grader_lang_win_over_the_checks(students_folder, monkeypatch):
    assert inline._language("en", None) == "en"
    monkeypatch.setenv("GRADER_LANG", "en")
    assert inline._language(None, None) == "en"
    assert "missing" in str(inline.check("e1", namespace={})).splitlines()[0]


def test_checks_without_a_language_speak_english(students_folder):
    checks = students_folder / "public_checks.py"
    checks.write_text(checks.read_text(encoding="utf-8").replace('LANGUAGE = "pl"', ""), encoding="utf-8")
    assert inline._language(None, None) == "en"
    assert "missing" in str(inline.check("e1", namespace={})).splitlines()[0]
