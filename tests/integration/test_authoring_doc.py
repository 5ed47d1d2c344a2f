"""docs/authoring.md, followed as written: its marked console blocks, run in order in a fresh folder.

A block preceded by the line ``<!-- followed-by-test -->`` is a ```console (or ```sh)
block of a shell session: ``$ `` starts a command, ``> `` continues it (a here-document),
and every other non-empty line is output the command must print (on standard output or
standard error, in this order; whitespace runs count as one space; ``…`` stands for
anything). A command ends with exit status 0 unless its line ends with
``# exit status N``. All marked blocks run in one bash process (so ``cd`` and ``export``
carry over), each command's output captured on its own, in a fresh temporary folder,
with this interpreter's ``bin/`` first on ``PATH`` and no ``GRADER_COURSE``: the
walkthrough makes its own course.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "authoring.md"
MARK = "<!-- followed-by-test -->"
FENCES = ("```console", "```sh")
EXIT_STATUS = re.compile(r"#\s*exit status (\d+)\s*$")
# What the walkthrough must take an instructor through, whatever else it shows.
REQUIRED = {
    "grade new": r"^grade new \S+",
    "grade assign": r"^grade assign \S+solution\.ipynb",
    "grade check on the solution": r"^grade check \S+solution\.ipynb",
    "grade on the solution": r"^grade \S+solution\.ipynb\s*$",
    "grade on the template": r"^grade assignments/(\S+)/\1\.ipynb\s*$",
    "grade mutate": r"^grade mutate \S+ --min-kill-rate",
    "grade bundle": r"^grade bundle \S+",
}


@dataclass
class Step:
    line: int  # where the command is in the doc, for messages
    command: str
    status: int = 0
    expected: list[str] = field(default_factory=list)


def followed_steps(text: str) -> list[Step]:
    """The commands of the marked blocks, in order, with their expected output and exit status."""
    lines = text.splitlines()
    steps: list[Step] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() != MARK:
            i += 1
            continue
        assert i + 1 < len(lines) and lines[i + 1].strip() in FENCES, f"{DOC}:{i + 1}: {MARK} must precede {FENCES}"
        i += 2
        current: Step | None = None
        output_began = False
        while lines[i].strip() != "```":
            line = lines[i]
            if line.startswith("$ "):
                current = Step(i + 1, line[2:])
                match = EXIT_STATUS.search(line)
                if match:
                    current.status = int(match.group(1))
                steps.append(current)
                output_began = False
            elif current is not None and not output_began and (line == ">" or line.startswith("> ")):
                current.command += "\n" + line[2:]
            elif line.strip():
                assert current is not None, f"{DOC}:{i + 1}: output before any command"
                current.expected.append(line)
                output_began = True
            i += 1
    return steps


def _normal(line: str) -> str:
    return " ".join(line.split())


def _pattern(expected: str) -> re.Pattern[str]:
    pieces = _normal(expected).split("…")  # `…` takes the spaces around it along
    return re.compile(r"\s?.*\s?".join(re.escape(piece.strip()) for piece in pieces))


def missing_output(expected: list[str], printed: str) -> str | None:
    """The first expected line not printed (in order), or None."""
    actual = [_normal(line) for line in printed.splitlines()]
    at = 0
    for want in expected:
        pattern = _pattern(want)
        while at < len(actual) and not pattern.fullmatch(actual[at]):
            at += 1
        if at == len(actual):
            return want
        at += 1
    return None


def script(steps: list[Step], out: Path) -> str:
    """One bash script: each command in the current shell, its output and exit status in files."""
    parts = ["set +e"]
    for number, step in enumerate(steps):
        base = out / str(number)
        parts.append(
            f"date +%s.%N > '{base}.start'\n"
            f"{{ {step.command}\n}} > '{base}.out' 2> '{base}.err' < /dev/null\n"
            f"echo $? > '{base}.rc'\n"
            f"date +%s.%N > '{base}.end'"
        )
    return "\n".join(parts) + "\n"


def test_the_walkthrough_takes_an_instructor_through_every_step():
    steps = followed_steps(DOC.read_text(encoding="utf-8"))
    commands = [step.command.splitlines()[0] for step in steps]
    for what, pattern in REQUIRED.items():
        assert any(re.search(pattern, c) for c in commands), f"no followed command does {what}: {commands}"
    assert commands[0].startswith("mkdir "), "the walkthrough starts from an empty folder"


def test_the_walkthrough_runs_as_written(tmp_path):
    steps = followed_steps(DOC.read_text(encoding="utf-8"))
    out = tmp_path / "out"
    out.mkdir()
    env = {key: value for key, value in os.environ.items() if key != "GRADER_COURSE"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["GRADER_CACHE_DIR"] = str(tmp_path / "plans")
    work = tmp_path / "work"
    work.mkdir()
    started = time.monotonic()
    subprocess.run(
        ["bash", "-c", script(steps, out)], cwd=work, env=env, timeout=1800, check=False, stdin=subprocess.DEVNULL
    )
    took = time.monotonic() - started

    timings = []
    for number, step in enumerate(steps):
        base = out / str(number)
        where = f"docs/authoring.md:{step.line}: $ {step.command.splitlines()[0]}"
        if not base.with_suffix(".rc").exists():
            pytest.fail(f"{where}: did not run")
        printed = base.with_suffix(".out").read_text(encoding="utf-8", errors="replace")
        printed += base.with_suffix(".err").read_text(encoding="utf-8", errors="replace")
        status = int(base.with_suffix(".rc").read_text().strip())
        seconds = float(base.with_suffix(".end").read_text()) - float(base.with_suffix(".start").read_text())
        timings.append(f"{seconds:6.1f} s  {step.command.splitlines()[0]}")
        assert status == step.status, f"{where}: exit status {status}, the doc says {step.status}\n{printed}"
        missing = missing_output(step.expected, printed)
        assert missing is None, f"{where}: the doc shows {missing!r}, which it did not print (in order):\n{printed}"
    print(f"the walkthrough took {took:.0f} s:\n" + "\n".join(timings))


@pytest.mark.parametrize(
    ("expected", "printed", "found"),
    [
        (["Score: 10/10"], "a\nScore:  10/10\n", True),
        (["created … in . (…/course):"], "created the assignment 'x' in . (/tmp/p/course):\n", True),
        (["b", "a"], "a\nb\n", False),
        (["x … y"], "x y\n", True),
        (["Score: 3/10"], "Score: 13/10\n", False),
    ],
)
def test_output_lines_match_in_order_with_ellipses(expected, printed, found):
    assert (missing_output(expected, printed) is None) is found
