"""What an assignment costs its instructor: reference and public-check lines per rubric item.

Counts the non-blank, non-comment lines of every module of the reference package
except ``solution.py`` (the solution is the exercise itself), plus the public
checks where they are written by hand (``public_checks.py``; derived ones, a
``.examples`` file that ``grade assign`` writes, cost no line), and divides by
the rubric's number of items. Usage:

    python bench/authoring_cost.py [ASSIGNMENT ...]     (default: every rubric in rubrics/)
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def code_lines(path: Path) -> int:
    return sum(
        1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.strip().startswith("#")
    )


def cost(rubric_path: Path) -> tuple[int, int, dict[str, int]]:
    rubric = yaml.safe_load(rubric_path.read_text(encoding="utf-8"))
    reference = (rubric_path.parent / rubric["reference"]).resolve()
    files = [p for p in sorted(reference.glob("*.py")) if p.name != "solution.py"]
    if rubric.get("public_checks", "").endswith(".py"):
        files.append((rubric_path.parent / rubric["public_checks"]).resolve())
    counts = {str(p.relative_to(ROOT)): code_lines(p) for p in files}
    return len(rubric["items"]), sum(counts.values()), counts


def main(ids: list[str]) -> None:
    rubrics = [ROOT / "rubrics" / f"{i}.yaml" for i in ids] or sorted(
        p for p in (ROOT / "rubrics").glob("*.yaml") if not p.name.endswith(".equivalent.yaml")
    )
    for path in rubrics:
        items, total, counts = cost(path)
        print(f"{path.stem}: {total} lines for {items} items = {total / items:.1f} per item")
        for name, n in counts.items():
            print(f"  {n:5d}  {name}")


if __name__ == "__main__":
    main(sys.argv[1:])
