"""The programmatic entry point: grade one notebook, get a Report.

The pipeline, in order:

1. read the submission once (size cap, hash, notebook checks);
2. load the rubric and start the untrusted child, so that its start-up
   overlaps the trusted side's;
3. import the reference, convert the cells, execute the notebook in the child;
4. grade each rubric item in a fresh worker;
5. assemble the report.
"""

from __future__ import annotations

import difflib
import os
import platform
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from ._version import __version__
from .i18n import _, language
from .sandbox.execution import NotebookRun
from .sandbox.launch import BUBBLEWRAP, DEVICES
from .sandbox.launch import require as require_sandbox
from .sandbox.packages import require_packages
from .sandbox.session import Session

if TYPE_CHECKING:
    from .course.assignment import Assignment
    from .course.rubric import Item, Rubric
    from .judging.engine import ItemGrader
    from .judging.plans import PlanStore
    from .notebook import Notebook
    from .observe.reference import ReferenceRunner
    from .result import CellReport, Environment, ItemResult, NotebookReport, Report


@dataclass(frozen=True)
class Options:
    assignment: str | None = None  # the TA's --assignment: an id, a rubric file or a bundle; wins over the notebook
    guess_assignment: bool = True  # no --assignment, none in the notebook: the course's only one (batch: refuse)
    device: str = DEVICES[0]
    seed: int | None = None
    examples: int | None = None  # grade --examples: every item draws this many; None: as the rubric says
    examples_at_least: int = 0  # no item draws fewer (grade mutate, checking what the checks' budgets let through)
    plan_cache: Path | None = None  # where stored plans live; None: draw everything afresh
    sandbox: str = BUBBLEWRAP  # or "none": no isolation, only when asked
    items: tuple[str, ...] | None = None  # grade only these rubric items (mutation testing); None: all
    unscored_parts: bool = False  # also judge the check's parts the rubric gives no points (mutation testing)
    warm_children: bool = False  # fork each child from this process's warm zygote (batch workers; grader.zygote)
    # Refuse (exit 3) when a package of the rubric's packages: is not importable where the notebook runs;
    # a local grade batch checks once, before grading, and its workers do not.
    check_packages: bool = True
    language: str | None = None  # what the student reads (grade --lang); None: the rubric's language:


def grade_notebook(
    path: str | os.PathLike[str],
    options: Options = Options(),
    *,
    progress: Callable[[ItemResult], None] | None = None,
) -> Report:
    started = time.monotonic()
    if options.device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}")
    notebook, rubric = read_with_rubric(path, assignment=options.assignment, guess=options.guess_assignment)
    shown_in = options.language or rubric.language
    with language(shown_in, (rubric.locale,)):
        return _grade(path, notebook, rubric, options, started, progress, shown_in)


def _grade(
    path: str | os.PathLike[str],
    notebook: Notebook,
    rubric: Rubric,
    options: Options,
    started: float,
    progress: Callable[[ItemResult], None] | None,
    shown_in: str,
) -> Report:
    # The child starts now: importing torch there overlaps the rest of the work here.
    session = start_session(
        rubric,
        device=options.device,
        sandbox=options.sandbox,
        warm=options.warm_children,
        started=started,
        check_packages=options.check_packages,
    )
    from .course.assignment import with_reference
    from .course.bundle import shipped_plans
    from .judging.plans import PlanStore
    from .judging.search import item_seed
    from .notebook import to_python
    from .observe.reference import ReferenceRunner
    from .result import Report

    importing: threading.Thread | None = None
    try:
        notebook.warnings  # noqa: B018  - the schema check, while the child starts up
        assignment = with_reference(rubric)
        base_seed = rubric.seed if options.seed is None else options.seed
        cells = to_python(notebook.cells)
        plans = (
            PlanStore(options.plan_cache, rubric, shipped=shipped_plans(rubric))
            if options.plan_cache is not None
            else None
        )
        graded = [item for item in rubric.items if options.items is None or item.id in options.items]
        seeds = {item.id: item_seed(base_seed, item.id) for item in graded}
        if plans is None or not all(
            plans.has(plans.key(item, seed=seeds[item.id], examples=_examples(assignment, item, options)))
            for item in graded
        ):
            import torch  # noqa: F401  - the reference will run: import while the child starts up
        else:
            importing = _import_torch_meanwhile()  # the reference runs only where an item fails (to shrink)
        run = session.start(cells)
        reference = ReferenceRunner(lambda: assignment.solution, device_as=run.device, rubric=rubric.path)
        graders = _item_graders(graded, assignment, options, seeds, session, reference, notebook, run, plans)
        timings = {"notebook": round(run.time_s, 3)}
        items = _grade_items(graders, ahead=1 if run.forked_workers else 0, timings=timings, progress=progress)
    finally:
        session.close()
        if importing is not None:
            importing.join()
    output_text, output_total, truncated = session.output
    timings["total"] = round(time.monotonic() - started, 3)
    return Report(
        assignment=rubric.assignment,
        title=rubric.title,
        submission=str(path),
        items=tuple(items),
        notebook=_notebook_report(notebook, run, output_total, truncated, session, rubric.assignment),
        environment=_environment(assignment, run, base_seed, options, graders),
        timings=timings,
        language=shown_in,
    )


def _import_torch_meanwhile() -> threading.Thread | None:
    """Imports torch on a thread of its own, while this side mostly waits for the child.

    With every plan stored, the reference runs only where an item fails, to shrink; it then needs torch,
    whose import (seconds) would otherwise wait until that item's turn. An error here is left for the
    import that needs it to raise, on the grading's own thread. The grading joins the thread before it
    returns: an interpreter must not exit under an import half done.
    """
    if "torch" in sys.modules:
        return None

    def importing() -> None:
        try:
            import torch  # noqa: F401
        except BaseException:
            pass

    thread = threading.Thread(target=importing, name="grader-import-torch", daemon=True)
    thread.start()
    return thread


def _item_graders(
    graded: list[Item],
    assignment: Assignment,
    options: Options,
    seeds: dict[str, int],
    session: Session,
    reference: ReferenceRunner,
    notebook: Notebook,
    run: NotebookRun,
    plans: PlanStore | None,
) -> list[ItemGrader]:
    from .judging.engine import ItemGrader
    from .judging.model import ItemSetup

    targets = tuple(item.target for item in assignment.rubric.items)
    return [
        ItemGrader(
            ItemSetup(
                item=item,
                check=assignment.check_for(item),
                parts=tuple(assignment.parts_of(item, unscored=options.unscored_parts)),
                misconceptions=tuple(assignment.misconceptions[m] for m in item.misconceptions),
                seed=seeds[item.id],
                examples=_examples(assignment, item, options),
            ),
            session=session,
            reference=reference,
            defined=run.defined,
            missing_hint=lambda target: missing_hint(target, notebook, run, targets),
            plans=plans,
        )
        for item in graded
    ]


def _examples(assignment: Assignment, item: Item, options: Options) -> int:
    return assignment.examples_for(item, given=options.examples, at_least=options.examples_at_least)


def _grade_items(
    graders: list[ItemGrader],
    *,
    ahead: int,
    timings: dict[str, float],
    progress: Callable[[ItemResult], None] | None,
) -> list[ItemResult]:
    """Each item in rubric order; with ``ahead``, the next item's calls run in the child while
    this side judges (and, where it failed, shrinks) the current one. Inline workers (CUDA) are
    served one at a time (``ahead`` 0)."""
    items = []
    for index, grader in enumerate(graders):
        if index == 0 or not ahead:
            grader.begin()
        if ahead and index + 1 < len(graders):
            graders[index + 1].begin()
        result = grader.finish()
        timings[result.id] = round(result.time_s, 3)
        items.append(result)
        if progress is not None:
            progress(result)
    return items


def read_with_rubric(
    path: str | os.PathLike[str], *, assignment: str | None, guess: bool = True
) -> tuple[Notebook, Rubric]:
    """The submission, read once, and the rubric it is graded with (``grade`` and ``grade check`` alike)."""
    from .course.assignment import for_notebook
    from .course.rubric import load_rubric
    from .notebook import read_notebook

    notebook = read_notebook(path)
    return notebook, load_rubric(for_notebook(assignment, notebook.assignment, notebook.path, guess=guess))


def start_session(
    rubric: Rubric,
    *,
    device: str,
    sandbox: str,
    warm: bool = False,
    plain: bool = False,
    started: float,
    check_packages: bool = True,
) -> Session:
    """The notebook's sandboxed child, starting now, under the rubric's limits and its total time budget.

    Refused first where the child cannot run: no sandbox, or (``check_packages``) a package of the
    rubric's ``packages:`` that the child's interpreter cannot import (``grade`` and ``grade check``).
    ``plain``: without a sandbox, a plain process of any OS (``grade check``; ``grader.sandbox.plain``).
    """
    require_sandbox(sandbox)
    if check_packages:
        require_packages(rubric.packages, sandbox=sandbox)
    session = Session(device=device, limits=rubric.limits, sandbox=sandbox, warm=warm, plain=plain)
    session.stop_at = started + rubric.limits.total_s  # nothing the notebook does holds a worker longer
    session.launch()
    return session


def missing_hint(target: str, notebook: Notebook, run: NotebookRun, targets: tuple[str, ...] = ()) -> str:
    definition = re.compile(rf"^\s*(?:async\s+)?def\s+{re.escape(target)}\s*\(|^\s*{re.escape(target)}\s*=", re.M)
    statuses = {c.index: c for c in run.cells}
    for cell in notebook.cells:
        if definition.search(cell.source):
            ran = statuses.get(cell.index)
            if ran is not None and ran.status != "ok":
                why = (
                    ran.status
                    if ran.error is None
                    else f"{ran.error.get('type')}: {str(ran.error.get('message'))[:200]}"
                )
                return " " + _("Cell {cell} defines it, but running that cell failed ({why}).").format(
                    cell=cell.index, why=why
                )
    rebound = _rebound_after_definition(target, notebook, statuses)
    if rebound is not None:
        return " " + _(
            "Cell {cell} defines it, but cell {later} then gives the name {target} another value, so no function "
            "of that name is left when the notebook ends."
        ).format(cell=rebound[0], later=rebound[1], target=target)
    candidates = sorted(run.defined - set(targets))  # another graded function is not a typo of this one
    same_but_case = [name for name in candidates if name.lower() == target.lower()]
    hint = same_but_case or difflib.get_close_matches(target, candidates, n=1, cutoff=0.75)
    if hint:
        return " " + _("It defines {name}(): check the name, it must be exactly {target}.").format(
            name=hint[0], target=target
        )
    if run.stopped:
        return " " + _("Execution stopped early: {why}.").format(why=run.stopped)
    return ""


def _rebound_after_definition(target: str, notebook: Notebook, statuses: dict) -> tuple[int, int] | None:
    """(the cell that ran ``def target``, a later cell that binds the name anew), when the source shows one:
    a lecture's plotting cell copied as it is (``f1 = random.randint(…)``) after the student's function."""
    defines = re.compile(rf"^\s*(?:async\s+)?def\s+{re.escape(target)}\s*\(", re.M)
    binds = re.compile(rf"^\s*(?:for\s+)?{re.escape(target)}\s*(?:=(?!=)|,|\bin\b)", re.M)
    defined_in = [
        c.index
        for c in notebook.cells
        if defines.search(c.source) and getattr(statuses.get(c.index), "status", "") == "ok"
    ]
    if not defined_in:
        return None
    later = [c.index for c in notebook.cells if c.index > defined_in[-1] and binds.search(c.source)]
    return (defined_in[-1], later[0]) if later else None


def _notebook_report(
    notebook: Notebook, run: NotebookRun, output_total: int, truncated: bool, session: Session, graded_as: str
) -> NotebookReport:
    from .escape import clean
    from .result import CellReport, NotebookReport

    cells = tuple(
        CellReport(
            index=c.index,
            status=c.status,
            error=clean(_error_line(c.error, c.index)),
            skipped_imports=tuple(clean(str(s.get("error", ""))[:200]) for s in c.skipped_imports),
        )
        for c in run.cells
    )
    return NotebookReport(
        path=notebook.path,
        sha256=notebook.sha256,
        size=notebook.size,
        nbformat=notebook.nbformat,
        code_cells=len(notebook.cells),
        cells=cells,
        magics=tuple({"cell": m.cell, "line": m.line, "kind": m.kind, "text": clean(m.text)} for m in notebook.magics),
        output_bytes=output_total,
        output_truncated=truncated,
        starts=session.starts,
        warm_starts=session.warm_starts,
        limits_hit=_limits_hit(session, cells, truncated),
        stopped=run.stopped,
        warnings=tuple(clean(_(text).format(**fields)) for text, fields in notebook.warnings),
        declared_assignment=None if notebook.assignment is None else clean(notebook.assignment[:100]),
        assignment_mismatch=notebook.assignment is not None and notebook.assignment != graded_as,
    )


def _limits_hit(session: Session, cells: tuple[CellReport, ...], truncated: bool) -> tuple[str, ...]:
    hits = list(session.limits_hit)
    if truncated:
        hits.append("output truncated")
    if any(marker in c.error for c in cells for marker in ("No space left on device", "File too large")):
        hits.append("disk limit")
    return tuple(hits)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def _error_line(error: dict | None, cell: int) -> str:
    """A cell's exception as Python wrote it, and where it was raised: a line of that cell, or of the
    cell that defined the function it called."""
    if not error:
        return ""
    from .judging.feedback import error_place

    message = str(error.get("message", ""))
    text = f"{error.get('type')}: {message if len(message) <= 300 else message[:299] + '…'}"
    where = error.get("where")
    if isinstance(where, dict) and where.get("line"):
        place = {"error": text, **error_place(where)}
        if str(where.get("cell")) != str(cell):
            return _("{error} (cell {cell}, line {line})").format(**place)
        return _("{error} (line {line})").format(**place)
    return text


def _environment(
    assignment: Assignment, run: NotebookRun, seed: int, options: Options, graders: list[ItemGrader]
) -> Environment:
    from .result import Environment

    per_item = options.examples or assignment.rubric.examples
    counts = ((grader.item.id, grader.setup.examples) for grader in graders)
    return Environment(
        grader_version=__version__,
        python=platform.python_version(),
        torch=run.torch_version,
        hypothesis=_version("hypothesis"),
        platform=f"{sys.platform}-{platform.machine()}",
        device=run.device,
        device_name=run.device_name,
        seed=seed,
        examples_per_item=per_item,
        examples_by_item=tuple((item, n) for item, n in counts if n != per_item),
        sandbox=BUBBLEWRAP if options.sandbox == BUBBLEWRAP else "none (no isolation: --sandbox none)",
        rubric_sha256=assignment.rubric.sha256,
    )
