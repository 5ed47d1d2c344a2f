"""Public self-checks of the autograd-basics assignment.

Run them with `grade check notebook.ipynb`, or in the notebook with
`import grader; grader.check("e1")`. They use only what the exercises state
(the formulas in the notebook, the rules for every function) and finite
differences of your own functions, on a few fixed inputs. They are not the
grading: grading draws many more inputs, and compares with solutions you do
not have. Whatever these checks cannot decide they say so ("checked only at
grading"): passing them is necessary, not sufficient.

The texts a student reads are marked with `_()` and translated in
locale/<lang>/LC_MESSAGES/public_checks.po beside this file; formulas are not.
"""

import torch
import torch.nn as nn

from grader.child.selfcheck import _

# The course's language: what grader.check() speaks where the course's rubric is not at hand.
LANGUAGE = "pl"

EXERCISES = {
    "e1": ["e1.value", "e1.autograd", "e1.analytic"],
    "e2": ["e2.grads"],
    "e3": ["e3.retain_grad"],
    "e4": ["e4.grads"],
    "e5": ["e5.no_grad", "e5.freeze"],
    "e6": ["e6.sgd_step"],
    "e7": ["e7.train_step", "e7.accuracy", "e7.train_logreg"],
}

_rng = torch.Generator().manual_seed(2024)


def _uniform(shape, low, high, dtype=torch.float32):
    return (low + (high - low) * torch.rand(shape, generator=_rng, dtype=torch.float64)).to(dtype)


def _examples_f():
    yield torch.tensor([1.0, 2.0, 4.0]), torch.tensor([10.0, 20.0])  # the lecture's example
    yield _uniform((5,), -100, 100, torch.float64), _uniform((3,), 0.001, 1000, torch.float64)


def _examples_linear():
    x = torch.ones(5)
    yield x, torch.zeros(3), _uniform((5, 3), -1, 1), _uniform((3,), -1, 1)  # as in the lecture
    yield _uniform((4, 3), -2, 2), _uniform((4, 2), 0, 1), _uniform((3, 2), -2, 2), _uniform((2,), -2, 2)


# -- exercise 1 ----------------------------------------------------------------------


def e1_value(check, f1):
    for t, u in _examples_f():
        before = check.snapshot(t, u)
        value = check.call(f1, t, u)
        check.close("f(t, u) = Σ t² + Σ ln u", value, (t**2).sum() + torch.log(u).sum())
        check.expect(
            isinstance(value, torch.Tensor) and value.dim() == 0,
            _("a 0-dim tensor"),
            _("f1 must return a 0-dim tensor"),
        )
        check.untouched(_("the caller's t and u untouched"), before, (t, u), "t u")
        check.grad_mode_restored()
    t, u = torch.tensor([1.0, -3.0], requires_grad=True), torch.tensor([0.5, 2.0], requires_grad=True)
    value = check.call(f1, t, u)
    if check.expect(
        isinstance(value, torch.Tensor) and value.requires_grad,
        _("differentiable: the result requires grad when t and u do"),
        _("the result does not require grad: build it from t and u with torch operations, without detaching"),
    ):
        value.backward()
        check.close(_("backward() gives ∂f/∂t = 2t"), t.grad, 2 * t.detach())
        check.close(_("backward() gives ∂f/∂u = 1/u"), u.grad, 1 / u.detach())


def _check_gradients(check, grad_fn, *, inside_no_grad=False):
    for t, u in _examples_f():
        before = check.snapshot(t, u)
        if inside_no_grad:
            with torch.no_grad():
                result = check.call(grad_fn, t, u)
        else:
            result = check.call(grad_fn, t, u)
        check.expect(
            isinstance(result, (tuple, list)) and len(result) == 2,
            _("returns two tensors"),
            _("return (∂f/∂t, ∂f/∂u)"),
        )
        gt, gu = result
        check.close(_("∂f/∂t = 2t (the closed form of Przykład 1)"), gt, 2 * t)
        check.close("∂f/∂u = 1/u", gu, 1 / u)
        check.detached(_("returned tensors detached"), gt, gu)
        check.untouched(_("the caller's t and u untouched (no requires_grad, no .grad)"), before, (t, u), "t u")
        if not inside_no_grad:
            check.grad_mode_restored()


def e1_autograd(check, grad_f1):
    _check_gradients(check, grad_f1)


def e1_analytic(check, grad_f1_analytic):
    _check_gradients(check, grad_f1_analytic)
    _check_gradients(check, grad_f1_analytic, inside_no_grad=True)


# -- exercise 2 ----------------------------------------------------------------------


def e2_grads(check, linear_bce_grads):
    for x, y, w, b in _examples_linear():
        before = check.snapshot(x, y, w, b)
        loss, dw, db = check.call(linear_bce_grads, x, y, w, b)
        stated = nn.functional.binary_cross_entropy_with_logits(x @ w + b, y)  # the loss the exercise states
        check.close("loss = binary_cross_entropy_with_logits(x @ w + b, y)", loss, stated)
        check.detached(_("returned tensors detached"), loss, dw, db)
        check.untouched(_("the caller's x, y, w, b untouched"), before, (x, y, w, b), "x y w b")
        check.grad_mode_restored()
        # Your gradients against central differences of your own loss, in float64.
        x64, y64, w64, b64 = (v.double() for v in (x, y, w, b))

        def loss_at_w(w_, x64=x64, y64=y64, b64=b64):
            return float(check.call(linear_bce_grads, x64, y64, w_, b64)[0])

        def loss_at_b(b_, x64=x64, y64=y64, w64=w64):
            return float(check.call(linear_bce_grads, x64, y64, w64, b_)[0])

        from_differences_w = check.finite_difference(loss_at_w, w64).to(w.dtype)
        from_differences_b = check.finite_difference(loss_at_b, b64).to(b.dtype)
        check.close(_("∂loss/∂w matches finite differences of your loss"), dw, from_differences_w, rtol=1e-3, atol=1e-5)
        check.close(_("∂loss/∂b matches finite differences of your loss"), db, from_differences_b, rtol=1e-3, atol=1e-5)


# -- exercise 3 ----------------------------------------------------------------------


def e3_retain_grad(check, intermediate_grads):
    for x, y, w, b in _examples_linear():
        before = check.snapshot(x, y, w, b)
        dz, dloss = check.call(intermediate_grads, x, y, w, b)
        z_shape = (x @ w + b).shape
        check.expect(
            isinstance(dz, torch.Tensor) and dz.shape == z_shape,
            _("∂loss/∂z is a tensor of the shape of z"),
            _("got None or a wrong shape: z.grad stays None unless z.retain_grad() is called before backward()")
            if dz is None
            else _("expected shape {shape}").format(shape=tuple(z_shape)),
        )
        check.close(_("∂loss/∂loss = 1, a 0-dim tensor"), dloss, torch.tensor(1.0, dtype=x.dtype))
        check.detached(_("returned tensors detached"), dz, dloss)
        check.untouched(_("the caller's x, y, w, b untouched"), before, (x, y, w, b), "x y w b")
        check.grad_mode_restored()
    check.later(_("the values of ∂loss/∂z"), _("compared with the reference at grading"))


# -- exercise 4 ----------------------------------------------------------------------


def e4_grads(check, grad_f3):
    for x0, y0, z0 in ((2.0, -1.0, 2.0), (0.3, 7.5, -4.0)):  # the first from Przykład 3
        x, y, z = (torch.tensor(v) for v in (x0, y0, z0))
        before = check.snapshot(x, y, z)
        L, dx, dy, dz = check.call(grad_f3, x, y, z)
        check.close("L = sqrt(sin(x·y + z) + 4)", L, torch.sqrt(torch.sin(x * y + z) + 4))
        check.detached(_("returned tensors detached"), L, dx, dy, dz)
        check.untouched(_("the caller's x, y, z untouched"), before, (x, y, z), "x y z")
        check.grad_mode_restored()
        x64, y64, z64 = (v.double() for v in (x, y, z))
        for name, got, at in (("x", dx, 0), ("y", dy, 1), ("z", dz, 2)):

            def L_at(v, at=at, point=(x64, y64, z64)):
                args = list(point)
                args[at] = v
                return float(check.call(grad_f3, *args)[0])

            expected = check.finite_difference(L_at, (x64, y64, z64)[at]).to(torch.float32)
            matches = _("∂L/∂{name} matches finite differences of your L").format(name=name)
            check.close(matches, got, expected, rtol=1e-3, atol=1e-5)


# -- exercise 5 ----------------------------------------------------------------------


def e5_no_grad(check, predict_no_grad):
    for x, _y, w, b in _examples_linear():
        w, b = w.clone().requires_grad_(True), b.clone().requires_grad_(True)
        before = check.snapshot(x, w, b)
        z = check.call(predict_no_grad, x, w, b)
        check.close("x @ w + b", z, (x @ w + b).detach())
        check.expect(
            isinstance(z, torch.Tensor) and not z.requires_grad and z.grad_fn is None,
            _("no history: the result does not require grad and has no grad_fn"),
            _("the result is part of a graph: compute it inside `with torch.no_grad():`"),
        )
        check.untouched(_("the caller's x, w, b untouched (w and b still require grad)"), before, (x, w, b), "x w b")
        check.grad_mode_restored()


def e5_freeze(check, freeze_weight_):
    linear = nn.Linear(3, 2)
    weight, bias = linear.weight, linear.bias
    values = weight.detach().clone(), bias.detach().clone()
    check.call(freeze_weight_, linear)
    check.expect(
        linear.weight is weight and linear.bias is bias,
        _("the module keeps its parameter objects"),
        _("freeze the weight in place: weight.requires_grad_(False), not a new nn.Parameter"),
    )
    check.expect(
        not linear.weight.requires_grad, _("weight.requires_grad is False"), _("the weight still requires grad")
    )
    check.expect(linear.bias.requires_grad, _("bias.requires_grad stays True"), _("the bias must stay trainable"))
    check.expect(
        torch.equal(linear.weight.detach(), values[0]) and torch.equal(linear.bias.detach(), values[1]),
        _("the parameters' values unchanged"),
        _("freezing must not change the values"),
    )
    check.grad_mode_restored()
    if linear.bias.requires_grad:
        linear(torch.ones(4, 3)).sum().backward()
        check.expect(
            linear.weight.grad is None, _("after backward() weight.grad stays None"), _("the weight got a gradient")
        )
        check.expect(
            linear.bias.grad is not None, _("after backward() bias.grad is set"), _("the bias got no gradient")
        )


# -- exercise 6 ----------------------------------------------------------------------


def e6_sgd_step(check, sgd_step_):
    shapes = [(), (3,), (2, 2), (4,)]
    params = [_uniform(shape, -2, 2).requires_grad_(True) for shape in shapes]
    for p in params[:3]:
        p.grad = _uniform(p.shape, -1, 1)
    lr = 0.1
    expected = [
        (p - lr * p.grad).detach() if p.grad is not None else p.detach().clone() for p in params
    ]  # the formula of the exercise
    originals = list(params)
    check.call(sgd_step_, params, lr)
    check.expect(
        all(a is b for a, b in zip(params, originals, strict=True)),
        _("the list still holds the caller's tensors"),
        _("a tensor in the list was replaced by a new one: update in place (p -= lr * p.grad under torch.no_grad())"),
    )
    for i, (p, want) in enumerate(zip(originals, expected, strict=True)):
        check.close(_("params[{i}] ← p − lr·p.grad, in place").format(i=i), p.detach(), want, rtol=1e-6, atol=1e-6)
        check.expect(
            p.is_leaf and p.requires_grad and p.grad_fn is None,
            _("params[{i}] is still a leaf that requires grad").format(i=i),
            _("the update was recorded in the graph: do it under torch.no_grad()"),
        )
        check.expect(
            p.grad is None or not bool(p.grad.any()),
            _("params[{i}].grad cleared (None or zeros)").format(i=i),
            _("clear the gradient after the step (p.grad = None or p.grad.zero_())"),
        )
    check.grad_mode_restored()


# -- exercise 7 ----------------------------------------------------------------------


def _data(n=16, d=3):
    X = _uniform((n, d), -1, 1)
    y = (torch.rand(n, generator=_rng) > 0.5).float()
    return X, y


def _loss_of(linear, X, y):
    with torch.no_grad():
        return float(nn.functional.binary_cross_entropy_with_logits(linear(X).squeeze(1), y))


def e7_train_step(check, train_step):
    X, y = _data()
    linear = nn.Linear(3, 1)
    state = {k: v.clone() for k, v in linear.state_dict().items()}
    weight, bias = linear.weight, linear.bias
    stated = _loss_of(linear, X, y)  # the loss the exercise states, before the update
    lr = 0.5
    loss = check.call(train_step, linear, X, y, lr)
    check.close(_("returns the loss before the update, as a Python float"), loss, stated)
    check.expect(
        linear.weight is weight and linear.bias is bias,
        _("the module keeps its parameter objects"),
        _("update weight and bias in place under torch.no_grad(), not by assigning new parameters"),
    )
    check.expect(
        all(p.is_leaf and p.requires_grad and p.grad_fn is None for p in (linear.weight, linear.bias)),
        _("parameters stay leaves that require grad"),
        _("the update was recorded in the graph: do it under torch.no_grad()"),
    )
    check.grad_mode_restored()

    # The step must not depend on what .grad held before the call.
    fresh, stale = nn.Linear(3, 1), nn.Linear(3, 1)
    fresh.load_state_dict(state)
    stale.load_state_dict(state)
    stale.weight.grad, stale.bias.grad = torch.ones_like(stale.weight), torch.ones_like(stale.bias)
    check.call(train_step, fresh, X, y, lr)
    check.call(train_step, stale, X, y, lr)
    check.expect(
        torch.allclose(fresh.weight, stale.weight) and torch.allclose(fresh.bias, stale.bias),
        _("the step does not depend on a stale .grad"),
        _("with an old gradient in .grad the step differs: clear gradients (linear.zero_grad()) before backward()"),
    )

    # The update against central differences of the loss your train_step returns.
    def loss_at(values, name):
        probe = nn.Linear(3, 1).double()
        probe.load_state_dict({k: v.double() for k, v in state.items()})
        with torch.no_grad():
            getattr(probe, name).copy_(values)
        return float(check.call(train_step, probe, X.double(), y.double(), 0.0))

    for name in ("weight", "bias"):
        gradient = check.finite_difference(lambda v, name=name: loss_at(v, name), state[name])
        expected = (state[name].double() - lr * gradient).to(torch.float32)
        check.close(f"{name} ← {name} − lr·∂loss/∂{name}", getattr(fresh, name).detach(), expected, rtol=1e-3)


def e7_accuracy(check, accuracy):
    logits = torch.tensor([-2.0, -0.25, 0.0, 0.25, 0.75, 3.0, -1.0, 0.4])
    y = torch.tensor([0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    before = check.snapshot(logits, y)
    value = check.call(accuracy, logits, y)
    stated = float(((logits >= 0).float() == y).float().mean())  # class 1 exactly when the logit is >= 0
    check.close(_("fraction correct with class 1 when logit ≥ 0, as a Python float"), value, stated)
    check.untouched(_("the caller's logits and y untouched"), before, (logits, y), "logits y")


def e7_train_logreg(check, train_logreg, train_step):
    X, y = _data(32, 3)
    model = check.call(train_logreg, X, y, 0.5, 20, 7)
    if not check.expect(
        isinstance(model, nn.Linear) and model.in_features == 3 and model.out_features == 1,
        _("returns an nn.Linear(d, 1)"),
        _("got {type}").format(type=type(model).__name__),
    ):
        return
    torch.manual_seed(7)
    initial = check.call(nn.Linear, 3, 1).float()  # drawn as train_logreg draws it, in the notebook's dtype
    check.expect(
        _loss_of(model, X, y) < _loss_of(initial, X, y),
        _("training lowers the loss"),
        _("the trained model is no better than its initial weights"),
    )
    again = check.call(train_logreg, X, y, 0.5, 20, 7)
    check.expect(
        isinstance(again, nn.Linear) and torch.equal(again.weight, model.weight),
        _("the same seed gives the same model"),
        _("seed torch with `seed` (torch.manual_seed(seed)) before building the layer"),
    )
    by_steps = nn.Linear(3, 1)
    by_steps.load_state_dict(initial.state_dict())
    for _step in range(20):
        check.call(train_step, by_steps, X, y, 0.5)
    check.close(
        _("the same as 20 calls of your train_step from the seeded nn.Linear(d, 1)"),
        model.weight.detach(),
        by_steps.weight.detach(),
        rtol=1e-4,
    )
    check.later(_("the final loss against the reference's"), _("compared at grading"))
