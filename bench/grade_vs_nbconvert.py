"""Wall time of `grade` on a notebook next to `jupyter nbconvert --execute` of it.

    python bench/grade_vs_nbconvert.py [NOTEBOOK] [--runs N]

Prints, from one run of this script: the examples per item, the time of one
grading with no stored plans (every input drawn, the reference run), the
median over N gradings that replay stored plans (how a TA grading a class
works after the first notebook), the median over N executions by nbconvert,
and the ratios. Needs ipykernel (`pip install -e '.[bench]'`).

nbconvert really runs the notebook, shell escapes included, so notebooks
with `!` or `%` lines are refused.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "tests" / "samples" / "autograd-basics" / "correct.ipynb"


def timed(command: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"bench: {' '.join(command[:4])}… failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    import nbformat

    nb = nbformat.read(str(args.notebook), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and any(line.lstrip().startswith(("!", "%")) for line in cell.source.splitlines()):
            sys.exit(f"bench: {args.notebook} has shell escapes or magics; nbconvert would run them for real")

    with tempfile.TemporaryDirectory(prefix="grader-bench-") as scratch:
        plans = Path(scratch) / "plans"
        grade = [sys.executable, "-m", "grader", "-q", "-f", "json", "--cache-dir", str(plans), str(args.notebook)]
        nbconvert = [
            sys.executable,
            "-m",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--output",
            str(Path(scratch) / "executed.ipynb"),
            str(args.notebook),
        ]
        timed(nbconvert)  # warm the page cache for torch on both sides
        cold, done = timed(grade)
        report = json.loads(done.stdout)
        warm, executed = [], []
        for _ in range(args.runs):
            warm.append(timed(grade)[0])
            executed.append(timed(nbconvert)[0])

    examples = [item["examples"] for item in report["items"]]
    w, n = statistics.median(warm), statistics.median(executed)
    print(f"notebook                     {args.notebook}")
    print(f"score                        {report['score']:g}/{report['max_score']:g}")
    rubric = report["environment"]["examples_per_item"]
    print(f"examples per item            min {min(examples)}, max {max(examples)} (rubric: {rubric})")
    print(f"grade, no stored plans       {cold:6.2f} s")
    print(f"grade, stored plans          {w:6.2f} s  (median of {args.runs}: {', '.join(f'{t:.2f}' for t in warm)})")
    print(
        f"nbconvert --execute          {n:6.2f} s  (median of {args.runs}: {', '.join(f'{t:.2f}' for t in executed)})"
    )
    print(f"ratio grade/nbconvert        {w / n:6.2f}  (no stored plans: {cold / n:.2f})")


if __name__ == "__main__":
    main()
