"""What the sandbox adds to one grading: `grade` with bubblewrap next to --sandbox none.

    python bench/sandbox_overhead.py [NOTEBOOK] [--runs N]

Both run with stored plans (after one warm-up each), alternating, and the
medians are compared. The issue's goal: at most 0.2 s added per grading.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "tests" / "samples" / "autograd-basics" / "correct.ipynb"


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"bench: {' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="grader-bench-") as plans:
        base = [sys.executable, "-m", "grader", "-q", "-f", "json", "-o", "/dev/stdout", "--cache-dir", plans]
        commands = {mode: [*base, "--sandbox", mode, str(args.notebook)] for mode in ("bubblewrap", "none")}
        for command in commands.values():
            timed(command)  # stores the plans, warms the page cache
        times: dict[str, list[float]] = {mode: [] for mode in commands}
        for _ in range(args.runs):
            for mode, command in commands.items():
                times[mode].append(timed(command))
    sandboxed, plain = (statistics.median(times[m]) for m in ("bubblewrap", "none"))
    for mode in commands:
        each = ", ".join(f"{t:.2f}" for t in times[mode])
        print(f"--sandbox {mode:<11} {statistics.median(times[mode]):5.2f} s  ({each})")
    print(f"added by the sandbox    {sandboxed - plain:+5.2f} s per grading (median of {args.runs})")


if __name__ == "__main__":
    main()
