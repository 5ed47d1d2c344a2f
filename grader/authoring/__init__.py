"""The one public surface for an assignment's reference package: ``from grader.authoring import …``.

A reference package (``reference/<assignment>/``, named by the rubric's
``reference:``) is imported on the trusted side only and exports:

- ``SOLUTION``: a module with the reference implementation of each rubric
  target (it may be imported lazily, through a module ``__getattr__``);
- ``CHECKS``: ``{check name: Check}``: per check, the function it tests, a
  hypothesis strategy of ``Case``s (its inputs), fixed edge cases, and the
  ``Part``s of the behaviour that earn points, each a set of observed facts
  (paths such as ``return``, ``t.grad``, ``params[0].same_object``) or a judge;
- ``MISCONCEPTIONS``: ``{id: Misconception}``: known mistakes, each with a
  detector that looks at the ``Evidence`` of the smallest failing input (and may
  run a typical buggy variant through ``Evidence.run_alternative``);
- for the public self-checks, nothing: where the rubric's ``public_checks:``
  names a ``.examples`` file, ``grade assign`` derives them from ``CHECKS``
  (``grader.selfcheck.derive``). Hand-written ones are a ``public_checks.py``
  with ``EXERCISES`` (``{exercise: [item ids]}``) and one check function per
  item (see ``grader.child.selfcheck``).

What every autograd assignment checks is written once, in ``grader.authoring.autograd``
and re-exported here: ``side_effects`` (and ``unchanged``), ``edge_arrays`` and
``edge_labels``, and ``AUTOGRAD_MISCONCEPTIONS`` (the caller's tensors changed, grad
mode left off, results not detached, ``retain_grad()`` missing, an update recorded in
the graph, rebinding), to merge into a package's own ``MISCONCEPTIONS``. The mistakes of
extending autograd (a custom Function whose result or backward is wrong, a hook on the
caller's tensor or one writing in place, ``create_graph=True`` missing, a result that keeps
its graph, a transposed Jacobian) are in
``grader.authoring.extending``, re-exported here, some filled in with the exercise's code.

Every text a student reads (a part's description, a label, a misconception's
name and fix, a judge's sentence) is written in English and marked for
translation with the gettext functions re-exported here (see ``grader.i18n``):
``N_("...")`` for module-level constants, which the grader translates where it
shows them, and ``_("... {got} ...").format(got=...)`` or ``ngettext`` for
sentences built while grading. The Polish texts go to the package's
``locale/pl/LC_MESSAGES/messages.po``.

The rubric (``rubrics/<assignment>.yaml``) then names, per item, the check, the
points of each part and the misconceptions to look for. Everything a reference
package needs is re-exported here, and nothing else: the grader's internals may
move without breaking an assignment.
"""

from __future__ import annotations

from ..i18n import N_, _, decimal, ngettext
from ..observe.compare import kind_of
from ..observe.observation import Fact, Kind, Observation, TensorFact
from .api import (
    Backward,
    Case,
    Check,
    Evidence,
    ForwardBackward,
    FunctionArg,
    GradCheck,
    LinearArg,
    Misconception,
    Part,
    PathBackward,
    SequentialArg,
    TensorArg,
    like,
)
from .autograd import MISCONCEPTIONS as AUTOGRAD_MISCONCEPTIONS
from .autograd import edge_arrays, edge_labels, side_effects, unchanged
from .extending import (
    CREATE_GRAPH_MISSING,
    GRAPH_KEPT_ON_RESULT,
    HOOK_ON_CALLER_TENSOR,
    JACOBIAN_TRANSPOSED,
    backward_ignores_grad_out,
    backward_wrong_grad_count,
    custom_function_not_used,
    hook_writes_in_place,
)
from .steps import backward_reaches, parameters_kept, step
from .strategies import arrays, float_dtypes, functions, labels, linear_layers, shapes, sizes

__all__ = [
    "AUTOGRAD_MISCONCEPTIONS",
    "CREATE_GRAPH_MISSING",
    "GRAPH_KEPT_ON_RESULT",
    "HOOK_ON_CALLER_TENSOR",
    "JACOBIAN_TRANSPOSED",
    "Backward",
    "Case",
    "Check",
    "Evidence",
    "Fact",
    "ForwardBackward",
    "FunctionArg",
    "GradCheck",
    "Kind",
    "LinearArg",
    "Misconception",
    "N_",
    "Observation",
    "Part",
    "PathBackward",
    "SequentialArg",
    "TensorArg",
    "TensorFact",
    "_",
    "arrays",
    "backward_ignores_grad_out",
    "backward_reaches",
    "backward_wrong_grad_count",
    "custom_function_not_used",
    "decimal",
    "edge_arrays",
    "edge_labels",
    "float_dtypes",
    "functions",
    "hook_writes_in_place",
    "kind_of",
    "labels",
    "like",
    "linear_layers",
    "ngettext",
    "parameters_kept",
    "shapes",
    "side_effects",
    "sizes",
    "step",
    "unchanged",
]
