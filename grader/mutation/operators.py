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

``mutate_caller`` changes only what the caller passes as a tensor, a list of
tensors or a module, as the item's check draws it (``caller_objects`` reads
the checks' inputs): it flips ``requires_grad`` the way the drawn inputs never
have it (on, off, or each to the other where both are drawn). A number or a
function argument has no ``requires_grad`` to change, and a flag set to what
it already is changes nothing: such mutants would only be no-ops to review.
"""

from __future__ import annotations

import ast
import copy
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from ..authoring.api import Check, LinearArg, SequentialArg, TensorArg
from ..judging.search import run_examples
from ..observe.case import Arg, Case
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


# -- what the caller passes: read from the checks' drawn inputs ---------------------------------

DOMAIN_EXAMPLES = 20  # inputs drawn per check to see what each argument is


@dataclass(frozen=True)
class Caller:
    """What a check's inputs pass for one argument: ``tensor``, ``tensors`` (a list of them) or ``module``;
    ``requires_grad``: True or False where every drawn one has it so, None where both are drawn."""

    kind: str
    requires_grad: bool | None


def _floating(arg: Arg) -> bool:
    return isinstance(arg, TensorArg) and arg.data.dtype.kind == "f"


def _flags(arg: Arg) -> tuple[str, list[bool]] | None:
    """The argument's kind and the requires_grad of the tensors it holds; None: nothing to change."""
    if isinstance(arg, TensorArg):
        return ("tensor", [arg.requires_grad]) if _floating(arg) else None
    layers = arg.layers if isinstance(arg, SequentialArg) else (arg,)
    linear = [layer for layer in layers if isinstance(layer, LinearArg)]
    if linear:
        weights = [layer.weight_requires_grad for layer in linear]
        return "module", weights + [layer.bias_requires_grad for layer in linear if layer.bias is not None]
    if isinstance(arg, list) and arg and all(_floating(a) for a in arg):
        return "tensors", [a.requires_grad for a in arg if isinstance(a, TensorArg)]
    return None


def caller_objects(checks: Iterable[Check], *, examples: int = DOMAIN_EXAMPLES) -> dict[str, dict[str, Caller]]:
    """Per function, the arguments its checks' inputs pass as tensors, lists of tensors or modules.

    An argument drawn as one of these in some inputs and as something else (a number, None) in others
    is still changed (the inserted statement checks what it gets); one drawn as two of them is not.
    """
    kinds: dict[tuple[str, str], set[str]] = {}
    flags: dict[tuple[str, str], set[bool]] = {}

    def note(target: str, case: Case) -> None:
        for name, arg in case.args:
            found = _flags(arg)
            if found is not None:
                kinds.setdefault((target, name), set()).add(found[0])
                flags.setdefault((target, name), set()).update(found[1])

    for check in checks:
        error = run_examples(check.cases, functools.partial(note, check.target), max_examples=examples, seed=0)
        if error is not None:
            raise error
        for case in check.edges:
            note(check.target, case)
    found: dict[str, dict[str, Caller]] = {}
    for (target, name), kind in kinds.items():
        seen = flags[(target, name)]
        if len(kind) == 1 and seen:
            found.setdefault(target, {})[name] = Caller(next(iter(kind)), next(iter(seen)) if len(seen) == 1 else None)
    return found


def _flipped(name: str, was: bool | None) -> str:
    return "True" if was is False else "False" if was is True else f"not {name}.requires_grad"


def _change_caller(name: str, caller: Caller) -> str:
    """A statement that flips ``requires_grad`` of what the caller passed as ``name``."""
    if caller.kind == "module":
        if caller.requires_grad is None:
            return (
                f"if isinstance({name}, torch.nn.Module):\n    for _p in {name}.parameters():\n"
                f"        _p.requires_grad_(not _p.requires_grad)"
            )
        flipped = _flipped(name, caller.requires_grad)
        return f"if isinstance({name}, torch.nn.Module):\n    {name}.requires_grad_({flipped})"
    guard = "isinstance({0}, torch.Tensor) and {0}.is_floating_point() and {0}.is_leaf"
    if caller.kind == "tensors":
        flipped = _flipped("_t", caller.requires_grad)
        return f"for _t in {name}:\n    if {guard.format('_t')}:\n        _t.requires_grad_({flipped})"
    return f"if {guard.format(name)}:\n    {name}.requires_grad_({_flipped(name, caller.requires_grad)})"


def _insertions(
    function: ast.FunctionDef, operator: str, callers: Mapping[str, Caller] | None
) -> list[tuple[int, ast.stmt]]:
    """(site, statement) to insert at the top of the function; a caller's argument's site is its position."""
    if operator == "grad_mode_off":
        return [(0, _parse("torch.set_grad_enabled(False)"))]
    if operator != "mutate_caller":
        return []
    names = [a.arg for a in function.args.args]
    if callers is None:  # no check's inputs to read: every argument, changed only if it is a floating leaf tensor
        callers = dict.fromkeys(names, Caller("tensor", False))
    return [(site, _parse(_change_caller(name, callers[name]))) for site, name in enumerate(names) if name in callers]


def _variants(
    function: ast.FunctionDef, operator: str, callers: Mapping[str, Caller] | None = None
) -> Iterator[tuple[int, ast.FunctionDef]]:
    if operator in _STATEMENT_OPERATORS:
        wanted = _STATEMENT_OPERATORS[operator]
        for site in range(len(_statement_sites(function, wanted))):
            tree = copy.deepcopy(function)
            block, index = _statement_sites(tree, wanted)[site]
            _change_statement(operator, block, index)
            yield site, ast.fix_missing_locations(tree)
        return
    if operator in ("grad_mode_off", "mutate_caller"):
        start = 1 if _is_docstring(function.body[0]) else 0
        for site, statement in _insertions(function, operator, callers):
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
    callers: Mapping[str, Mapping[str, Caller]] | None = None,
) -> list[Mutant]:
    """The mutants of ``targets``; ``callers`` (``caller_objects``): what each function's checks pass it,
    which ``mutate_caller`` changes (None: every argument, as a tensor where it is one)."""
    made: list[Mutant] = []
    seen: set[str] = set()
    for name in targets:
        function = functions[name]
        original = ast.unparse(function)
        seen.add(original)
        for operator in operators:
            known = None if callers is None else callers.get(name, {})
            for site, tree in _variants(function, operator, known):
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
