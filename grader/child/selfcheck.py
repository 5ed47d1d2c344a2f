"""Public self-checks: an assignment's reference-free checks, run on a student's functions.

They run wherever the functions are: in the student's live kernel
(``grader.check("e1")``) or in the sandboxed child (``grade check``). A check
module (``assignments/<id>/public_checks.py``) imports only torch. It defines
``EXERCISES`` (``{"e1": ["e1.value", …]}``) and one function per rubric item,
named after it (``e1_value``), whose first parameter is a ``Checker`` and whose
other parameters name the student's functions it needs::

    def e1_autograd(check, grad_f1):
        t, u = …
        gt, gu = check.call(grad_f1, t, u)
        check.close("∂f/∂t = 2t", gt, 2 * t)

A check compares with finite differences of the student's own functions and
with closed forms the exercise states; what it cannot decide it reports with
``check.later()``: "checked only at grading", never "passed".

Every text a student reads is marked for translation, checks included::

    from grader.child.selfcheck import _

    check.close(_("∂loss/∂w matches finite differences of your loss"), dw, expected)
    check.close(_("params[{i}] ← p − lr·p.grad, in place").format(i=i), p, want)

``_``, ``N_`` and ``ngettext`` come from ``grader.child.language``: the student's
language arrives from the trusted side as plain data (``run_item(translations=…)``).
"""

from __future__ import annotations

import html
import inspect
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from .language import ENGLISH, N_, Translations, _, decimal, ngettext, speaking
from .probe import bounded, describe_exception

PASSED, FAILED, LATER = "passed", "failed", "checked only at grading"
_PUBLIC_NAME = "grader.child.selfcheck"  # what the public checks import _ from, wherever they run

# A status as a student reads it (the JSON and the code keep the status itself).
_SHOWN_STATUS = {
    PASSED: N_("passed"),
    FAILED: N_("failed"),
    "error": N_("error"),
    "missing": N_("missing"),
    "unchecked": N_("unchecked"),
    "timeout": N_("timeout"),
    "crashed": N_("crashed"),
    LATER: N_("checked only at grading"),
}


def shown_status(status: str) -> str:
    return _(_SHOWN_STATUS.get(status, status))


class StudentRaised(Exception):
    """The student's function raised; carries what it raised."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(str(exc))
        self.error = describe_exception(exc)


@dataclass
class Finding:
    check: str
    status: str
    message: str = ""


@dataclass
class Checker:
    findings: list[Finding] = field(default_factory=list)
    # The default dtype the notebook set (torch.set_default_dtype(torch.float64), say): the student's
    # functions run with it, while the checks build their own inputs in torch's float32 default.
    students_dtype: torch.dtype = torch.float32

    # -- recording -------------------------------------------------------------
    def ok(self, name: str) -> None:
        self.findings.append(Finding(name, PASSED))

    def fail(self, name: str, message: str) -> None:
        self.findings.append(Finding(name, FAILED, bounded(message, 600)))

    def later(self, name: str, why: str = "") -> None:
        self.findings.append(Finding(name, LATER, bounded(why, 300)))

    def expect(self, condition: bool, name: str, message: str) -> bool:
        if condition:
            self.ok(name)
        else:
            self.fail(name, message)
        return bool(condition)

    # -- calling ---------------------------------------------------------------
    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Calls a student's function from clean state; what it raises ends the item."""
        torch.set_grad_enabled(True)
        checks_dtype = torch.get_default_dtype()
        torch.set_default_dtype(self.students_dtype)
        try:
            return fn(*args, **kwargs)
        except BaseException as exc:  # SystemExit too: it is the student's outcome
            raise StudentRaised(exc) from None
        finally:
            torch.set_default_dtype(checks_dtype)

    # -- comparing -------------------------------------------------------------
    def close(self, name: str, got: Any, want: torch.Tensor | float, *, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
        problem = difference(got, want, rtol=rtol, atol=atol)
        return self.expect(problem is None, name, problem or "")

    def detached(self, name: str, *values: Any) -> bool:
        attached = [i for i, v in enumerate(values) if isinstance(v, torch.Tensor) and v.requires_grad]
        return self.expect(
            not attached,
            name,
            _("returned tensor(s) still require grad (they are part of a graph): return .detach()-ed tensors"),
        )

    def snapshot(self, *tensors: torch.Tensor) -> list[tuple]:
        return [
            (t.detach().clone(), t.requires_grad, None if t.grad is None else t.grad.detach().clone()) for t in tensors
        ]

    def untouched(self, name: str, snapshot: list[tuple], tensors: tuple[torch.Tensor, ...], names: str) -> bool:
        changed = []
        for label, (values, requires_grad, grad), t in zip(names.split(), snapshot, tensors, strict=True):
            if t.requires_grad != requires_grad:
                changed.append(_("{name}.requires_grad became {value}").format(name=label, value=t.requires_grad))
            now = t.grad
            if (now is None) != (grad is None) or (now is not None and grad is not None and not torch.equal(now, grad)):
                changed.append(_("{name}.grad changed").format(name=label))
            if t.shape != values.shape or not torch.equal(t.detach(), values):
                changed.append(_("the values of {name} changed").format(name=label))
        return self.expect(
            not changed,
            name,
            _("{changes}: work on copies (t.detach().clone()), never on the caller's tensors").format(
                changes="; ".join(changed)
            ),
        )

    def call_keeping(self, fn: Callable[..., Any], *args: Any, keep: dict[str, torch.Tensor]) -> Any:
        """``call``, then the rules for every function: the tensors in ``keep`` untouched, grad mode restored."""
        before = self.snapshot(*keep.values())
        out = self.call(fn, *args)
        name = _("the caller's {names} untouched").format(names=", ".join(keep))
        self.untouched(name, before, tuple(keep.values()), " ".join(keep))
        self.grad_mode_restored()
        return out

    def requires_grad(self, value: Any, what: str, hint: str) -> bool:
        """``value`` is a tensor in a graph (a result that must stay differentiable); ``what`` names it."""
        name = _("{what} requires grad").format(what=what)
        return self.expect(getattr(value, "requires_grad", False) is True, name, hint)

    def grads_none(self, params: list[torch.Tensor], owner: str, hint: str) -> bool:
        """The call left every ``.grad`` of ``params`` None."""
        name = _("the call leaves {owner}'s .grad None").format(owner=owner)
        return self.expect(all(p.grad is None for p in params), name, hint)

    def close_grads(self, name: str, params: list[torch.Tensor], wanted: Any) -> bool:
        """Each ``.grad`` equals its wanted gradient; a wanted None (no dependence) accepts None or zeros."""
        ok = True
        for p, want in zip(params, wanted, strict=True):
            got = p.grad if want is not None or p.grad is not None else torch.zeros_like(p)
            ok &= self.close(name, got, torch.zeros_like(p) if want is None else want, rtol=1e-4, atol=1e-5)
        return ok

    def no_hooks_left(self, tensors: dict[str, torch.Tensor]) -> bool:
        """A later backward() reaching these tensors by another path adds exactly its own gradient to .grad."""
        generator = torch.Generator().manual_seed(len(tensors))
        before = [torch.zeros_like(t) if t.grad is None else t.grad.clone() for t in tensors.values()]
        weights = [torch.rand(t.shape, generator=generator, dtype=torch.float64).to(t.dtype) for t in tensors.values()]
        torch.autograd.backward([(t * w).sum() for t, w in zip(tensors.values(), weights, strict=True)])
        return all(
            [
                self.close(
                    _("no hook left on {name}: a later backward() adds exactly its gradient").format(name=name),
                    t.grad,
                    b + w,
                )
                for (name, t), b, w in zip(tensors.items(), before, weights, strict=True)
            ]
        )

    def finite_difference(self, value: Callable[[torch.Tensor], float], at: torch.Tensor) -> torch.Tensor:
        return central_difference(value, at)

    def grad_mode_restored(self, name: str | None = None) -> bool:
        on = torch.is_grad_enabled()
        torch.set_grad_enabled(True)
        return self.expect(
            on,
            _("grad mode left as found") if name is None else name,
            _("grad mode is off after the call: use `with torch.no_grad():`, which restores it"),
        )


def difference(got: Any, want: Any, *, rtol: float, atol: float) -> str | None:
    """None when ``got`` matches ``want``, else what differs."""
    if isinstance(want, float):
        if type(got) is not float and not isinstance(got, float):
            if isinstance(got, torch.Tensor):
                return _("got {type}, expected a Python float (use .item())").format(type=type(got).__name__)
            return _("got {type}, expected a Python float").format(type=type(got).__name__)
        if not math.isclose(got, want, rel_tol=rtol, abs_tol=atol):
            return _("got {got}, expected {want}").format(got=f"{got:.6g}", want=f"{want:.6g}")
        return None
    if got is None:
        return _("got None, expected a tensor of shape {shape}").format(shape=tuple(want.shape))
    if not isinstance(got, torch.Tensor):
        return _("got {type}, expected a tensor of shape {shape}").format(
            type=type(got).__name__, shape=tuple(want.shape)
        )
    if got.shape != want.shape:
        return _("got shape {got}, expected {want}").format(got=tuple(got.shape), want=tuple(want.shape))
    if got.dtype != want.dtype:
        return _("got dtype {got}, expected {want}").format(got=got.dtype, want=want.dtype)
    g, w = got.detach().to("cpu", torch.float64), want.detach().to("cpu", torch.float64)
    bad = ~torch.isclose(g, w, rtol=rtol, atol=atol, equal_nan=True)
    if not bool(bad.any()):
        return None
    count = int(bad.sum())
    worst = float((g - w).abs()[bad].max())
    # English says "values differ" whatever the count; Polish agrees the verb with it.
    text = ngettext(
        "{count} of {n} values differ (max abs diff {worst}): got {got}, expected {want}",
        "{count} of {n} values differ (max abs diff {worst}): got {got}, expected {want}",
        count,
    )
    return text.format(
        count=count, n=g.numel(), worst=decimal(f"{worst:.3g}"), got=bounded(_show(g), 200), want=bounded(_show(w), 200)
    )


def _show(t: torch.Tensor) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in t.reshape(-1)[:8].tolist()) + (", …]" if t.numel() > 8 else "]")


def central_difference(value: Callable[[torch.Tensor], float], at: torch.Tensor, h: float = 1e-4) -> torch.Tensor:
    """d value / d at, element by element, in float64: the student's own function, nudged."""
    at = at.detach().to(torch.float64)
    grad = torch.zeros_like(at)
    flat = grad.reshape(-1)
    for i in range(at.numel()):
        plus, minus = at.clone(), at.clone()
        plus.reshape(-1)[i] += h
        minus.reshape(-1)[i] -= h
        flat[i] = (value(plus) - value(minus)) / (2 * h)
    return grad


# -- running -------------------------------------------------------------------------


def load(source: str, filename: str = "public_checks.py") -> dict[str, Any]:
    # The checks import their `_` from grader.child.selfcheck. In the sandbox this module is
    # child.selfcheck (the child package is mounted there alone, without grader around it): that
    # name must be this very module, whose language run_item sets, not a missing or second copy.
    if __name__ != _PUBLIC_NAME:
        sys.modules[_PUBLIC_NAME] = sys.modules[__name__]
    namespace: dict[str, Any] = {"__name__": "public_checks"}
    exec(compile(source, filename, "exec"), namespace)
    return namespace


def run_item(
    checks: dict[str, Any], item: str, functions: dict[str, Any], *, translations: Any = None
) -> dict[str, Any]:
    """One rubric item's public checks on the student's functions; plain data back.

    ``translations``: the student's language, as plain data (``Translations.from_data``); English without.
    """
    with speaking(Translations.from_data(translations)):
        return _run_item(checks, item, functions)


def _run_item(checks: dict[str, Any], item: str, functions: dict[str, Any]) -> dict[str, Any]:
    check_fn = checks.get(item.replace(".", "_"))
    if check_fn is None:
        return {"status": "unchecked", "findings": [vars(Finding(item, LATER, _("no public check for this item")))]}
    wanted = list(inspect.signature(check_fn).parameters)[1:]
    missing = [name for name in wanted if not callable(functions.get(name))]
    if missing:
        names = ", ".join(n + "()" for n in missing)
        return {"status": "missing", "message": _("the notebook does not define {names}").format(names=names)}
    checker = Checker(students_dtype=torch.get_default_dtype())
    torch.set_grad_enabled(True)
    torch.set_default_dtype(torch.float32)  # the checks' own tensors and modules: float32, as written
    try:
        check_fn(checker, **{name: functions[name] for name in wanted})
    except StudentRaised as raised:
        error = raised.error
        text = f"{error['type']}: {error['message']}"
        status = "error"
        if error.get("not_implemented"):
            text = _("not implemented yet ({error})").format(error=text)
        return {"status": status, "message": bounded(text, 600), "findings": [vars(f) for f in checker.findings]}
    except Exception as exc:  # what came back did not even have the expected structure
        checker.fail(
            _("results can be checked"),
            _("the returned values could not be checked: {error}").format(error=f"{type(exc).__name__}: {exc}"),
        )
    finally:
        torch.set_grad_enabled(True)
        torch.set_default_dtype(checker.students_dtype)
    statuses = {f.status for f in checker.findings}
    status = FAILED if FAILED in statuses else (PASSED if PASSED in statuses else "unchecked")
    return {"status": status, "findings": [vars(f) for f in checker.findings]}


@dataclass
class ItemCheck:
    id: str
    status: str  # passed, failed, error, missing, unchecked (and timeout, crashed from `grade check`)
    message: str = ""
    findings: list[dict] = field(default_factory=list)


@dataclass
class CheckResults:
    """What ``grader.check`` returns: shown as HTML in Jupyter, as text elsewhere, in the student's language."""

    items: list[ItemCheck]
    translations: Translations = ENGLISH

    @property
    def all_passed(self) -> bool:
        return all(item.status in (PASSED, "unchecked") for item in self.items)

    def __str__(self) -> str:
        with speaking(self.translations):
            lines = []
            for item in self.items:
                lines.append(
                    f"{item.id:<16} {shown_status(item.status)}" + (f": {item.message}" if item.message else "")
                )
                for finding in item.findings:
                    if finding["status"] != PASSED:
                        text = f"  {shown_status(finding['status'])}: {finding['check']}"
                        lines.append(text + (f" ({finding['message']})" if finding["message"] else ""))
            return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colours = {PASSED: "#1a7f37", FAILED: "#cf222e", "error": "#cf222e", "missing": "#9a6700"}
        with speaking(self.translations):
            rows = []
            for item in self.items:
                colour = colours.get(item.status, "#57606a")
                detail = [html.escape(item.message)] if item.message else []
                for finding in item.findings:
                    if finding["status"] != PASSED:
                        note = f"{html.escape(shown_status(finding['status']))}: {html.escape(finding['check'])}"
                        if finding["message"]:
                            note += f" ({html.escape(finding['message'])})"
                        detail.append(note)
                rows.append(
                    f"<tr><td><code>{html.escape(item.id)}</code></td>"
                    f"<td style='color:{colour};font-weight:bold'>{html.escape(shown_status(item.status))}</td>"
                    f"<td>{'<br>'.join(detail)}</td></tr>"
                )
            heads = html.escape(_("item")), html.escape(_("public checks"))
            return "<table><tr><th>{}</th><th>{}</th><th></th></tr>".format(*heads) + "".join(rows) + "</table>"
