"""Mutants of a solution: small, plausible changes to one function at a time.

Each operator finds the places in a function's AST where it applies; a
mutant is one change at one place. The general operators are the classic
ones (arithmetic, constants, reductions, logarithms, dropped statements,
negated comparisons); the autograd operators are the mistakes students make
(no ``torch.no_grad()``, gradients not cleared, ``retain_grad()`` missing,
rebinding instead of updating in place, ``.detach()``/``.clone()`` dropped,
grad mode left off, the caller's tensors changed), and, where an assignment's
rubric asks for them, mistakes of its exercises (logits thresholded at 0.5,
``cross_entropy`` for a binary target). Mutants with the same source are kept
once. Nothing is declared equivalent here: that is a person's call.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Iterator

from ..result import Mutant

SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
COMPARISONS = {
    ast.GtE: ast.Lt, ast.Lt: ast.GtE, ast.Gt: ast.LtE, ast.LtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In,
}  # fmt: skip
CONSTANTS = {0: 0.5, 0.5: 0, 1: 2, 2: 1, 4: 3}
RENAMES = {
    "mean": "sum", "sum": "mean", "log": "log10",
    "binary_cross_entropy_with_logits": "cross_entropy", "BCEWithLogitsLoss": "CrossEntropyLoss",
}  # fmt: skip
GENERAL = ("arithmetic", "constant", "mean_sum", "log_log10", "drop_statement", "negate_comparison")
AUTOGRAD = (
    "remove_no_grad", "drop_grad_clearing", "drop_retain_grad", "rebind_update", "drop_detach_clone",
    "grad_mode_off", "threshold_half", "cross_entropy", "mutate_caller",
)  # fmt: skip
OPERATORS = AUTOGRAD + GENERAL  # a mutant both make is named by the more specific, autograd operator
# Mistakes of particular exercises, made only for an assignment whose rubric asks for them
# (`mutation_operators:`): logits thresholded at 0.5, cross_entropy for a binary target.
OPTIONAL = ("threshold_half", "cross_entropy")


def operators_for(chosen: tuple[str, ...]) -> tuple[str, ...]:
    """Every operator but the optional ones not chosen, in the order that names shared mutants."""
    return tuple(op for op in OPERATORS if op not in OPTIONAL or op in chosen)


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _call_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


class _Expressions(ast.NodeTransformer):
    """Changes the ``target``-th expression the operator applies to (target -1: only counts them)."""

    def __init__(self, operator: str, target: int) -> None:
        self.operator = operator
        self.target = target
        self.count = 0

    def _here(self) -> bool:
        hit = self.count == self.target
        self.count += 1
        return hit

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if self.operator == "arithmetic" and type(node.op) in SWAPS and self._here():
            node.op = SWAPS[type(node.op)]()
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        if self.operator == "arithmetic" and type(node.op) in SWAPS and self._here():
            node.op = SWAPS[type(node.op)]()
        if self.operator == "rebind_update" and isinstance(node.op, ast.Sub) and self._here():
            load = copy.deepcopy(node.target)
            load.ctx = ast.Load()
            update = ast.Assign(targets=[node.target], value=ast.BinOp(load, ast.Sub(), node.value))
            return ast.copy_location(update, node)
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if self.operator == "negate_comparison" and type(node.ops[0]) in COMPARISONS and self._here():
            node.ops = [COMPARISONS[type(node.ops[0])](), *node.ops[1:]]
        first = node.comparators[0]
        if self.operator == "threshold_half" and isinstance(first, ast.Constant) and first.value == 0:
            if self._here():
                node.comparators = [ast.Constant(0.5), *node.comparators[1:]]
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        value = node.value
        if self.operator != "constant" or isinstance(value, bool) or not isinstance(value, (int, float)):
            return node
        if value in CONSTANTS and self._here():
            return ast.copy_location(ast.Constant(CONSTANTS[value]), node)
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        renamed = {
            "mean_sum": ("mean", "sum"),
            "log_log10": ("log",),
            "cross_entropy": ("binary_cross_entropy_with_logits", "BCEWithLogitsLoss"),
        }.get(self.operator, ())
        if node.attr in renamed and self._here():
            node.attr = RENAMES[node.attr]
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if self.operator == "drop_detach_clone" and _call_name(node) in ("detach", "clone") and not node.args:
            if self._here():
                assert isinstance(node.func, ast.Attribute)
                return node.func.value
        return node


def _clears_grad(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Expr) and _call_name(stmt.value) in ("zero_grad", "zero_"):
        return True
    return (
        isinstance(stmt, ast.Assign)
        and any(isinstance(t, ast.Attribute) and t.attr == "grad" for t in stmt.targets)
        and isinstance(stmt.value, ast.Constant)
        and stmt.value.value is None
    )


def _is_no_grad(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.With) and len(stmt.items) == 1 and _call_name(stmt.items[0].context_expr) == "no_grad"


_STATEMENT_OPERATORS: dict[str, Callable[[ast.stmt], bool]] = {
    "drop_statement": lambda stmt: True,
    "drop_grad_clearing": _clears_grad,
    "drop_retain_grad": lambda stmt: isinstance(stmt, ast.Expr) and _call_name(stmt.value) == "retain_grad",
    "remove_no_grad": _is_no_grad,
}


def _statement_sites(function: ast.FunctionDef, wanted: Callable[[ast.stmt], bool]) -> list[tuple[list, int]]:
    """(containing block, index) of every statement the operator applies to, in a fixed order."""
    sites = []
    for node in ast.walk(function):
        for field_name in ("body", "orelse", "finalbody"):
            block = getattr(node, field_name, None)
            if not isinstance(block, list):
                continue
            for i, stmt in enumerate(block):
                if node is function and i == 0 and _is_docstring(stmt):
                    continue
                if isinstance(stmt, ast.stmt) and wanted(stmt):
                    sites.append((block, i))
    return sites


def _change_statement(operator: str, block: list, index: int) -> None:
    if operator == "remove_no_grad":
        block[index : index + 1] = block[index].body
    else:
        del block[index]
    if not block:
        block.append(ast.Pass())


def _parse(source: str) -> ast.stmt:
    return ast.parse(source).body[0]


def _insertions(function: ast.FunctionDef, operator: str) -> list[ast.stmt]:
    if operator == "grad_mode_off":
        return [_parse("torch.set_grad_enabled(False)")]
    if operator == "mutate_caller":
        return [
            _parse(
                f"if isinstance({a.arg}, torch.Tensor) and {a.arg}.is_floating_point() and {a.arg}.is_leaf:\n"
                f"    {a.arg}.requires_grad_(True)"
            )
            for a in function.args.args
        ]
    return []


def _variants(function: ast.FunctionDef, operator: str) -> Iterator[tuple[int, ast.FunctionDef]]:
    if operator in _STATEMENT_OPERATORS:
        wanted = _STATEMENT_OPERATORS[operator]
        for site in range(len(_statement_sites(function, wanted))):
            tree = copy.deepcopy(function)
            block, index = _statement_sites(tree, wanted)[site]
            _change_statement(operator, block, index)
            yield site, ast.fix_missing_locations(tree)
        return
    insertions = _insertions(function, operator)
    if insertions:
        start = 1 if _is_docstring(function.body[0]) else 0
        for site, statement in enumerate(insertions):
            tree = copy.deepcopy(function)
            tree.body.insert(start, statement)
            yield site, ast.fix_missing_locations(tree)
        return
    counter = _Expressions(operator, -1)
    counter.visit(copy.deepcopy(function))
    for site in range(counter.count):
        tree = copy.deepcopy(function)
        _Expressions(operator, site).visit(tree)
        yield site, ast.fix_missing_locations(tree)


def functions_of(sources: list[str]) -> dict[str, ast.FunctionDef]:
    """The top-level functions defined in some code cells; later definitions win."""
    found = {}
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                found[node.name] = node
    return found


def mutants(
    functions: dict[str, ast.FunctionDef],
    targets: list[str],
    *,
    operators: tuple[str, ...] = OPERATORS,
) -> list[Mutant]:
    made: list[Mutant] = []
    seen: set[str] = set()
    for name in targets:
        function = functions[name]
        original = ast.unparse(function)
        seen.add(original)
        for operator in operators:
            for site, tree in _variants(function, operator):
                source = ast.unparse(tree)
                if source in seen:
                    continue
                seen.add(source)
                made.append(Mutant(name, operator, site, source + "\n", original + "\n"))
    return made


def callers(functions: dict[str, ast.FunctionDef]) -> dict[str, set[str]]:
    """For each function, the functions that call it, directly or not (itself included)."""
    calls = {
        name: {n.func.id for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        for name, node in functions.items()
    }
    reach: dict[str, set[str]] = {name: {name} for name in functions}
    changed = True
    while changed:
        changed = False
        for caller, called in calls.items():
            for callee in called:
                for name, reached_by in reach.items():
                    if callee in reached_by or callee == name:
                        if caller not in reached_by:
                            reached_by.add(caller)
                            changed = True
    return reach
