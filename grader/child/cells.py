"""Run a notebook's code cells top to bottom inside the child.

Like Jupyter's "Restart & Run All", with two differences that keep one broken
exploration cell from zeroing an assignment: a cell that raises is recorded
and the next cell still runs, and a top-level import of a module this machine
lacks (``sklearn``, ``torchviz``) is recorded and skipped while the rest of
its cell runs.

IPython syntax arrives already converted by nbconvert into calls on
``get_ipython()``; the shell object here records those calls and never hands
anything to a real shell: ``!pip install`` must not run, ever.
"""

from __future__ import annotations
import __future__ as future_flags

import ast
import linecache
import types
from collections.abc import Callable
from typing import Any

from .magics import BODY_RUNS, LINE_RUNS
from .probe import bounded, describe_exception


class Shell:
    """Stands in for ``get_ipython()``: records magics and shell escapes."""

    def __init__(self, ns: dict, record: Callable[[dict], None]) -> None:
        self.user_ns = ns
        self._record = record
        self.cell = 0
        self.kernel = None

    def _note(self, kind: str, text: str) -> None:
        self._record({"cell": self.cell, "kind": kind, "text": bounded(text, 300)})

    def system(self, cmd: str, *args: Any, **kwargs: Any) -> None:
        self._note("shell", f"!{cmd}")

    def getoutput(self, cmd: str, *args: Any, **kwargs: Any) -> list:
        self._note("shell", f"!{cmd}")
        return []

    def run_line_magic(self, name: str, line: str, *args: Any, **kwargs: Any) -> None:
        self._note("line_magic", f"%{name} {line}".rstrip())
        if name in LINE_RUNS and line.strip():
            exec(compile(line, f"<cell {self.cell}>", "exec"), self.user_ns)

    def run_cell_magic(self, name: str, line: str, cell: str, *args: Any, **kwargs: Any) -> None:
        self._note("cell_magic", f"%%{name} {line}".rstrip())
        if name in BODY_RUNS:
            run_source(cell, f"<cell {self.cell}>", self.user_ns)

    def magic(self, text: str) -> None:
        self._note("line_magic", f"%{text}")

    def __getattr__(self, name: str) -> Callable[..., None]:
        # Anything else a notebook asks of IPython is a no-op here.
        def _ignored(*args: Any, **kwargs: Any) -> None:
            return None

        return _ignored


def make_namespace(record: Callable[[dict], None]) -> tuple[dict, Shell]:
    module = types.ModuleType("__main__")
    ns = module.__dict__
    shell = Shell(ns, record)
    ns["get_ipython"] = lambda: shell
    ns["display"] = lambda *args, **kwargs: None
    import sys

    sys.modules["__main__"] = module
    return ns, shell


def run_source(source: str, filename: str, ns: dict, skipped: list[dict] | None = None) -> None:
    """Runs top-level statements one by one, noting the imports it skipped.

    Raises whatever a statement raises, except ImportError from an import.
    """
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    tree = ast.parse(source, filename)
    flags = 0
    if skipped is None:
        skipped = []
    for stmt in tree.body:
        code = compile(ast.Module([stmt], type_ignores=[]), filename, "exec", flags=flags, dont_inherit=True)
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
            for alias in stmt.names:
                flags |= getattr(getattr(future_flags, alias.name, None), "compiler_flag", 0)
        try:
            exec(code, ns)
        except ImportError as exc:
            if not isinstance(stmt, (ast.Import, ast.ImportFrom)):
                raise
            skipped.append({"line": stmt.lineno, "error": bounded(f"{type(exc).__name__}: {exc}", 300)})


def run_cell(index: int, source: str, ns: dict, shell: Shell) -> dict:
    shell.cell = index
    skipped: list[dict] = []
    try:
        run_source(source, f"<cell {index}>", ns, skipped)
    except BaseException as exc:  # SystemExit and KeyboardInterrupt included: a cell's fate
        return {"ok": False, "error": describe_exception(exc), "skipped_imports": skipped}
    return {"ok": True, "skipped_imports": skipped}


def defined_callables(ns: dict, limit: int = 1000) -> list[str]:
    names = []
    for name, value in list(ns.items()):
        if not name.startswith("__") and callable(value) and isinstance(name, str):
            names.append(bounded(name, 100))
            if len(names) >= limit:
                break
    return sorted(names)
