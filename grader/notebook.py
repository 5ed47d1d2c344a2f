"""Read a submission once, check that it is a notebook, convert its code cells.

The bytes are read once and hashed; everything after works on that copy, so a
file swapped during grading changes nothing. Stored outputs are dropped before
anything looks at the cells: the grader never renders or trusts them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .child.magics import BODY_RUNS, LINE_RUNS
from .errors import NotebookError
from .i18n import N_

MAX_NOTEBOOK_BYTES = 64 << 20
_MAGIC_LINE = re.compile(r"^\s*(?:[A-Za-z_][\w.]*\s*=\s*)?(!|%%?)(.*)$")


@dataclass(frozen=True)
class Magic:
    """A line of IPython syntax that the grader records and never runs."""

    cell: int
    line: int
    kind: str  # "shell", "line_magic" or "cell_magic"
    text: str


@dataclass(frozen=True)
class CodeCell:
    index: int  # 1-based position among all of the notebook's cells
    source: str


@dataclass(frozen=True)
class Notebook:
    path: str
    sha256: str
    size: int
    nbformat: str
    # metadata.grader.assignment as the submission declares it: untrusted, only ever checked
    # against the course's ids (grader.assignment.for_notebook). A value that is not a string
    # is kept as its JSON text, which no id matches; None when there is none.
    assignment: str | None
    cells: tuple[CodeCell, ...]
    magics: tuple[Magic, ...]
    # The parsed document (outputs dropped), kept for the schema check, which takes a while (nbformat,
    # jsonschema) and so runs once the child is starting (``warnings``).
    document: dict = field(repr=False, compare=False)

    @functools.cached_property
    def warnings(self) -> tuple[tuple[str, dict[str, str]], ...]:
        """Where the notebook does not follow the nbformat schema. Each a message (English, marked for
        translation) and its fields: shown in the run's language, which is known only once the rubric
        is (grading.py formats them)."""
        return _schema_warnings(self.document)


def read_notebook(path: str | os.PathLike[str], *, max_bytes: int = MAX_NOTEBOOK_BYTES) -> Notebook:
    shown = str(path)
    data = _read_bytes(Path(path), shown, max_bytes)
    doc = parse(data, shown)
    if not isinstance(doc, dict) or "nbformat" not in doc:
        raise NotebookError(f"{shown}: not a Jupyter notebook: no 'nbformat' field at the top level")
    major, minor = doc.get("nbformat"), doc.get("nbformat_minor", 0)
    if type(major) is not int or type(minor) is not int:
        raise NotebookError(f"{shown}: not a Jupyter notebook: 'nbformat' is not an integer")
    if major < 4:
        raise NotebookError(
            f"{shown}: notebook format {major} is too old; open and save it in Jupyter "
            f"(or run `jupyter nbconvert --to notebook --nbformat 4`) to upgrade it to format 4"
        )
    if major > 4:
        raise NotebookError(f"{shown}: notebook format {major} is newer than this grader reads (4)")
    cells = doc.get("cells")
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise NotebookError(f"{shown}: not a Jupyter notebook: 'cells' is not a list of cells")

    code_cells = []
    for i, cell in enumerate(cells, start=1):
        if "outputs" in cell:
            cell["outputs"] = []
        if "execution_count" in cell:
            cell["execution_count"] = None
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise NotebookError(f"{shown}: not a Jupyter notebook: cell {i} has a source that is not text")
        code_cells.append(CodeCell(index=i, source=source))

    assignment = grader_metadata(doc).get("assignment")
    if assignment is not None and not isinstance(assignment, str):
        assignment = json.dumps(assignment, ensure_ascii=False)[:200]
    return Notebook(
        path=shown,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        nbformat=f"{major}.{minor}",
        assignment=assignment,
        cells=tuple(code_cells),
        magics=tuple(m for c in code_cells for m in _magics(c)),
        document=doc,
    )


def grader_metadata(doc: object) -> dict:
    """The notebook's ``metadata.grader`` (untrusted: what it holds is checked where it is used), or {}."""
    metadata = doc.get("metadata") if isinstance(doc, dict) else None
    grader = metadata.get("grader") if isinstance(metadata, dict) else None
    return grader if isinstance(grader, dict) else {}


def parse(data: bytes, shown: str) -> object:
    """A notebook file's JSON, or one clear line saying why it is not JSON.

    Nesting deeper than Python's recursion allows (``[[[[…`` a hundred thousand
    deep) is malformed input like any other, not a crash of the grader.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotebookError(f"{shown}: not a notebook: the file is not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(
            f"{shown}: not a notebook: malformed JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})"
        ) from None
    except RecursionError:
        raise NotebookError(f"{shown}: not a notebook: its JSON is nested too deeply to read") from None


def _read_bytes(path: Path, shown: str, max_bytes: int) -> bytes:
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise NotebookError(f"{shown}: is a directory, not a notebook")
            if not stat.S_ISREG(info.st_mode):
                raise NotebookError(f"{shown}: not a regular file")
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise NotebookError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise NotebookError(f"{shown}: is a directory, not a notebook") from None
    except PermissionError:
        raise NotebookError(f"{shown}: permission denied") from None
    if len(data) > max_bytes:
        raise NotebookError(f"{shown}: the file is larger than the {max_bytes >> 20} MiB a notebook may have")
    if not data.strip():
        raise NotebookError(f"{shown}: not a notebook: the file is empty")
    return data


def _magics(cell: CodeCell) -> list[Magic]:
    found = []
    for number, line in enumerate(cell.source.splitlines(), start=1):
        match = _MAGIC_LINE.match(line)
        if not match:
            continue
        sigil, rest = match.groups()
        if sigil == "%%" and number != 1:
            continue
        name, _sep, statement = rest.strip().partition(" ")
        if (sigil == "%%" and name in BODY_RUNS) or (sigil == "%" and name in LINE_RUNS and statement.strip()):
            continue  # its Python runs (a %%time cell that defines the functions): not a magic left unrun
        kind = {"!": "shell", "%": "line_magic", "%%": "cell_magic"}[sigil]
        text = (sigil + rest).strip()
        found.append(Magic(cell=cell.index, line=number, kind=kind, text=text[:300]))
    return found


def _schema_warnings(doc: dict) -> tuple[tuple[str, dict[str, str]], ...]:
    import nbformat

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            node = nbformat.from_dict(doc)
            nbformat.validate(node, relax_add_props=True)
    except nbformat.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        message = str(exc.message)[:200]
        text = N_("the notebook does not fully follow the nbformat schema at {where}: {message}; graded anyway")
        return ((text, {"where": where, "message": message}),)
    except Exception as exc:  # nbformat can choke on odd documents; grading can still go on
        text = N_("the notebook could not be validated against the nbformat schema ({error}); graded anyway")
        return ((text, {"error": type(exc).__name__}),)
    return ()


def to_python(cells: tuple[CodeCell, ...]) -> list[tuple[int, str]]:
    """IPython syntax to plain Python, the way ``jupyter nbconvert --to python`` does it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from nbconvert.filters.strings import ipython2python

        converted = []
        for cell in cells:
            try:
                converted.append((cell.index, ipython2python(cell.source)))
            except Exception:
                # Left as it is, the cell fails to compile in the child and is recorded there.
                converted.append((cell.index, cell.source))
    return converted
