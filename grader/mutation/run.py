"""``grade mutate``: how strong is a rubric? Grade mutants of the solution.

Each mutant is the instructor's solution notebook with one function replaced
by a mutated copy (see ``grader.mutation``), graded through the normal
grading path, in parallel, on the items that cover that function (its own
item, and the items of functions that call it). A mutant is killed when
one of those items loses points. Mutants a person has reviewed as
equivalent, with a reason, are listed in ``rubrics/<id>.equivalent.yaml``
beside the rubric; nothing is declared equivalent automatically.
"""

from __future__ import annotations

import ast
import json
import multiprocessing
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from ..authoring.api import Check
from ..course.rubric import Rubric
from ..errors import GraderError, RubricError
from ..result import Mutant, MutantVerdict, MutationReport
from ..sandbox.launch import BUBBLEWRAP, DEVICES
from .operators import OPERATORS, OPTIONAL, caller_objects, callers, functions_of, mutants, operators_for

if TYPE_CHECKING:
    from ..course.assignment import Assignment


def equivalents_path(rubric: Rubric) -> Path:
    return rubric.path.with_name(f"{rubric.path.stem}.equivalent.yaml")


def load_equivalents(rubric: Rubric) -> dict[str, dict[str, str]]:
    path = equivalents_path(rubric)
    if not path.exists():
        return {}
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except yaml.YAMLError as exc:
        raise RubricError(f"{path}: not valid YAML: {exc}") from None
    found = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) != {"id", "source_sha", "reason"}:
            raise RubricError(f"{path}: [{i}]: expected the keys id, source_sha and reason")
        if not str(entry["reason"]).strip():
            raise RubricError(f"{path}: [{i}].reason: an equivalent mutant needs a reason")
        found[str(entry["id"])] = {"source_sha": str(entry["source_sha"]), "reason": str(entry["reason"])}
    return found


# notebook, rubric, items (None: all), device, sandbox, the fewest examples an item may draw
_Task = tuple[str, str, tuple[str, ...] | None, str, str, int]


def _grade(args: _Task) -> dict[str, tuple[float, float, tuple[str, ...]]]:
    """Grades one notebook on some items (in a worker process).

    For each item: its score, its maximum, and the unscored parts that failed.
    """
    from ..grading import Options, grade_notebook
    from ..judging.plans import default_directory

    notebook, assignment, items, device, sandbox, at_least = args
    report = grade_notebook(
        notebook,
        Options(
            assignment=assignment,
            device=device,
            sandbox=sandbox,
            items=items,
            unscored_parts=True,
            plan_cache=default_directory(),
            examples_at_least=at_least,
        ),
    )
    return {
        item.id: (item.score, item.max_score, tuple(p.name for p in item.parts if p.max_score == 0 and not p.passed))
        for item in report.items
    }


def run(
    assignment: str | None,
    *,
    jobs: int = 2,
    functions: tuple[str, ...] = (),
    operators: tuple[str, ...] = (),
    device: str = DEVICES[0],
    sandbox: str = BUBBLEWRAP,
    progress: Callable[[int, int], None] | None = None,
) -> MutationReport:
    from ..course.assignment import resolve, with_reference
    from ..course.rubric import load_rubric

    started = time.monotonic()
    rubric_path = resolve(assignment)
    rubric = load_rubric(rubric_path)
    course = with_reference(rubric)
    solution, defined = _solution(rubric)
    made = _mutants(rubric, defined, functions, operators, checks=[course.check_for(i) for i in rubric.items])
    reached = callers(defined)
    covering = {
        item.target: tuple(i.id for i in rubric.items if i.target in reached.get(item.target, {item.target}))
        for item in rubric.items
    }
    with tempfile.TemporaryDirectory(prefix="grader-mutants-") as scratch:
        baseline_notebook = _write_notebook(Path(scratch), "solution", solution, None)
        tasks: list[_Task] = [(baseline_notebook, str(rubric_path), None, device, sandbox, 0)]
        for number, mutant in enumerate(made):
            path = _write_notebook(Path(scratch), f"mutant-{number}", solution, mutant.source)
            tasks.append((path, str(rubric_path), covering[mutant.function], device, sandbox, 0))
        results = _grade_all(tasks, rubric, jobs=jobs, progress=progress)
        verdicts, warnings = _verdicts(made, results, covering, load_equivalents(rubric), functions, operators)
        warnings += _budget_escapes(rubric, course, verdicts, tasks, jobs=jobs)
    return MutationReport(
        assignment=rubric.assignment,
        verdicts=tuple(verdicts),
        items=tuple(item.id for item in rubric.items),
        time_s=time.monotonic() - started,
        warnings=tuple(warnings),
    )


def _budget_escapes(
    rubric: Rubric, course: Assignment, verdicts: list[MutantVerdict], tasks: list[_Task], *, jobs: int
) -> list[str]:
    """Survivors that an item drawing fewer inputs than the rubric's ``examples:`` (its check's budget,
    or its own number) let through: each is graded once more with at least the rubric's number, and
    every one that is then killed is named. ``tasks``: the solution's, then each mutant's."""
    drawn = {item.id: course.examples_for(item) for item in rubric.items}
    budgets = {item: count for item, count in drawn.items() if count < rubric.examples}
    baseline, mutant_tasks = tasks[0], tasks[1:]
    again = [
        (verdict, task[:5] + (rubric.examples,))
        for verdict, task in zip(verdicts, mutant_tasks, strict=True)
        if verdict.status == "survived" and budgets.keys() & set(verdict.covered)
    ]
    if not again:
        return []
    results = _grade_all(
        [baseline[:5] + (rubric.examples,)] + [task for _, task in again], rubric, jobs=jobs, progress=None
    )
    escapes = []
    for (verdict, _task), result in zip(again, results[1:], strict=True):
        killed_by = [item for item, (score, top, _) in result.items() if score < top - 1e-9]
        if killed_by:
            shown = ", ".join(f"{item} ({budgets[item]} examples)" for item in killed_by if item in budgets)
            escapes.append(
                f"{verdict.mutant.id} survives only through the example budget of {shown or ', '.join(killed_by)}: "
                f"with {rubric.examples} examples {', '.join(killed_by)} kills it"
            )
    return escapes


def _solution(rubric: Rubric) -> tuple[dict, dict[str, ast.FunctionDef]]:
    """The instructor's solution notebook and its top-level functions, every rubric target among them."""
    if rubric.solution_notebook is None:
        raise RubricError(f"{rubric.path}: solution_notebook: needed to make mutants of the solution")
    solution = json.loads(rubric.solution_notebook.read_text(encoding="utf-8"))
    sources = [
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in solution["cells"]
        if c.get("cell_type") == "code"
    ]
    defined = functions_of(sources)
    missing = [item.target for item in rubric.items if item.target not in defined]
    if missing:
        raise RubricError(f"{rubric.solution_notebook}: does not define {', '.join(missing)}")
    return solution, defined


def _mutants(
    rubric: Rubric,
    defined: dict[str, ast.FunctionDef],
    functions: tuple[str, ...],
    operators: tuple[str, ...],
    *,
    checks: list[Check],
) -> list[Mutant]:
    """The mutants of the chosen functions (all targets by default), by the chosen operators; what the
    caller passes (for ``mutate_caller``) is read from the items' ``checks``."""
    targets = [item.target for item in rubric.items]
    unknown = [name for name in functions if name not in targets]
    if unknown:
        raise GraderError(
            f"--function {unknown[0]}: not a function of the rubric (its functions: {', '.join(targets)})"
        )
    bad = [name for name in operators if name not in OPERATORS]
    if bad:
        raise GraderError(f"--operator {bad[0]}: unknown (the operators: {', '.join(OPERATORS)})")
    unknown_optional = [name for name in rubric.mutation_operators if name not in OPTIONAL]
    if unknown_optional:
        raise RubricError(
            f"{rubric.path}: mutation_operators: unknown operator '{unknown_optional[0]}' "
            f"(the exercise-specific ones: {', '.join(OPTIONAL)})"
        )
    chosen = tuple(operators) or operators_for(rubric.mutation_operators)
    known = caller_objects({id(c): c for c in checks}.values()) if "mutate_caller" in chosen else None
    return mutants(defined, list(functions) or targets, operators=chosen, callers=known)


def _grade_all(
    tasks: list[_Task], rubric: Rubric, *, jobs: int, progress: Callable[[int, int], None] | None
) -> list[dict[str, tuple[float, float, tuple[str, ...]]]]:
    """Grades the solution (first: it must score full marks) and every mutant, in parallel."""
    context = multiprocessing.get_context("spawn")  # the grading workers start clean: no inherited threads or CUDA
    with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=context) as pool:
        futures = [pool.submit(_grade, task) for task in tasks]
        results = []
        try:
            for done, future in enumerate(futures, start=1):
                results.append(future.result())
                if done == 1:
                    _require_full_marks(results[0], rubric)
                if progress is not None:
                    progress(done, len(tasks))
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return results


def _verdicts(
    made: list[Mutant],
    results: list[dict[str, tuple[float, float, tuple[str, ...]]]],
    covering: dict[str, tuple[str, ...]],
    equivalents: dict[str, dict[str, str]],
    functions: tuple[str, ...],
    operators: tuple[str, ...],
) -> tuple[list[MutantVerdict], list[str]]:
    """Killed, survived or (as a person reviewed it) equivalent, per mutant; and what looks stale."""
    warnings = [
        f"the solution fails {item}: {part}, a part the rubric gives no points"
        for item, (_, _, unscored) in results[0].items()
        for part in unscored
    ]
    verdicts = []
    seen_equivalent = set()
    for mutant, result in zip(made, results[1:], strict=True):
        killed_by = tuple(item for item, (score, top, _) in result.items() if score < top - 1e-9)
        listed = equivalents.get(mutant.id)
        if listed is not None and listed["source_sha"] == mutant.digest:
            seen_equivalent.add(mutant.id)
            if killed_by:
                warnings.append(f"{mutant.id} is listed as equivalent but {', '.join(killed_by)} kills it")
            else:
                verdicts.append(MutantVerdict(mutant, "equivalent", covering[mutant.function], reason=listed["reason"]))
                continue
        status = "killed" if killed_by else "survived"
        noticed = tuple(f"{item}: {part}" for item, (_, _, unscored) in result.items() for part in unscored)
        verdicts.append(MutantVerdict(mutant, status, covering[mutant.function], killed_by, noticed_by=noticed))
    for stale in sorted(set(equivalents) - seen_equivalent):
        function, operator = (stale.split("/") + ["", ""])[:2]
        if (not functions or function in functions) and (not operators or operator in operators):
            warnings.append(f"{stale} is listed as equivalent but no such mutant is made now (source changed?)")
    return verdicts, warnings


def _require_full_marks(baseline: dict[str, tuple[float, float, tuple[str, ...]]], rubric: Rubric) -> None:
    short = [item for item, (score, top, _) in baseline.items() if score < top - 1e-9]
    if short:
        raise GraderError(
            f"{rubric.solution_notebook}: the solution itself loses points on {', '.join(short)}: fix it first"
        )


def _write_notebook(folder: Path, name: str, solution: dict, replacement: str | None) -> str:
    notebook = json.loads(json.dumps(solution))
    if replacement is not None:
        notebook["cells"].append(
            {
                "cell_type": "code",
                "id": "mutant",
                "metadata": {},
                "execution_count": None,
                "outputs": [],
                "source": replacement,
            }
        )
    path = folder / f"{name}.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    return str(path)
