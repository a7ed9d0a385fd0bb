"""Optimizers against PyTorch (same hyperparameters, same gradients) and against the
course's update rules computed by hand."""

import numpy as np
import pytest
from helpers import counted, torch_or_skip

import visiongrad as vg
from visiongrad import nn, optim
from visiongrad.accel import fast

SHAPES = [(3, 4), (5,)]


def gradient(x):
    """A fixed, nonlinear gradient field g(x), the same for both libraries."""
    return x**3 - 0.5 * x + np.sin(3 * x) + 0.1


def starting_points(dtype):
    rng = np.random.default_rng(1)
    return [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]


def groups_of(params, options):
    """Two groups; the second overrides the learning rate (per-group hyperparameters)."""
    return [{"params": [params[0]]}, {"params": [params[1]], "lr": options["lr"] / 2}]


def run_visiongrad(cls, options, dtype, steps=10):
    params = [vg.Tensor(x, requires_grad=True) for x in starting_points(dtype)]
    optimizer = cls(groups_of(params, options), **options)
    trajectory = []
    for _ in range(steps):
        for p in params:
            p.grad = gradient(p.data)
        optimizer.step()
        trajectory.append([p.data.copy() for p in params])
    return trajectory, params


def run_torch(name, options, dtype, steps=10):
    torch = torch_or_skip()
    params = [torch.tensor(x, requires_grad=True) for x in starting_points(dtype)]
    optimizer = getattr(torch.optim, name)(groups_of(params, options), **options)
    trajectory = []
    for _ in range(steps):
        for p in params:
            p.grad = torch.tensor(gradient(p.detach().numpy()))
        optimizer.step()
        trajectory.append([p.detach().numpy().copy() for p in params])
    return trajectory


PYTORCH_CASES = [
    (optim.SGD, "SGD", {"lr": 0.05}),
    (optim.SGD, "SGD", {"lr": 0.05, "momentum": 0.9}),
    (optim.SGD, "SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01}),
    (optim.SGD, "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    (optim.AdaGrad, "Adagrad", {"lr": 0.1}),
    (optim.AdaGrad, "Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.01,
                                "initial_accumulator_value": 0.2}),
    (optim.RMSProp, "RMSprop", {"lr": 0.01}),
    (optim.RMSProp, "RMSprop", {"lr": 0.01, "alpha": 0.9, "weight_decay": 0.01,
                                "momentum": 0.5, "centered": True}),
    (optim.RMSProp, "RMSprop", {"lr": 0.01, "centered": True}),
    (optim.Adam, "Adam", {"lr": 0.01}),
    (optim.Adam, "Adam", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.05,
                          "amsgrad": True}),
    (optim.AdamW, "AdamW", {"lr": 0.01}),
    (optim.AdamW, "AdamW", {"lr": 0.01, "weight_decay": 0.2, "amsgrad": True}),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("cls", "torch_name", "options"), PYTORCH_CASES,
                         ids=[f"{c[1]}-{i}" for i, c in enumerate(PYTORCH_CASES)])
def test_matches_pytorch_over_ten_steps(cls, torch_name, options, dtype):
    ours, params = run_visiongrad(cls, options, dtype)
    reference = run_torch(torch_name, options, dtype)
    for step, (mine, theirs) in enumerate(zip(ours, reference, strict=True)):
        for a, b in zip(mine, theirs, strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-6,
                                       err_msg=f"{torch_name} {options} step {step + 1}")
    assert all(p.data.dtype == dtype for p in params), "the update changed the dtype"
    assert not np.allclose(ours[-1][0], starting_points(dtype)[0]), "nothing moved"


def test_parameters_without_gradient_are_left_alone():
    a, b = vg.Tensor(np.ones(3), requires_grad=True), vg.Tensor(np.ones(3), requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = np.ones(3)
    opt.step()
    assert not np.allclose(a.data, 1) and np.array_equal(b.data, np.ones(3))


@pytest.mark.parametrize("cls", [optim.Adam, optim.AdamW])
def test_adam_updates_a_zero_dimensional_parameter_and_leaves_its_gradient(cls):
    x = vg.Tensor(np.array(1.0, np.float32), requires_grad=True)
    grad = np.array(2.0, np.float32)
    x.grad = grad
    cls([x], lr=0.1).step()
    assert x.data.shape == () and np.isclose(x.data, 0.9, atol=1e-3)
    assert grad == 2.0


ADAM_CASES = [(optim.Adam, False, 0.0), (optim.Adam, True, 0.1), (optim.AdamW, True, 0.1)]


def adam_steps(cls, start, steps, patch, turned_off=(), nan_at=None, **options):
    """The parameter and its moments after ``steps`` steps of ``cls`` from ``start`` on
    ``gradient``, with the ``accel`` functions in ``turned_off`` answering None or False
    (``patch``: a monkeypatch) and a NaN gradient at (0, 0) on step ``nan_at``."""
    x = vg.Tensor(start.copy(), requires_grad=True)
    opt = cls([x], lr=0.01, **options)
    with patch.context() as turn_off:
        for name in turned_off:
            turn_off.setattr(optim.adaptive.accel, name, lambda *args: None)
        for index in range(steps):
            grad = gradient(x.data).astype(np.float32)
            if index == nan_at:
                grad[0, 0] = np.nan
            x.grad = grad
            opt.step()
    return [x.data] + [v for v in opt.state[id(x)].values() if isinstance(v, np.ndarray)]


@pytest.mark.parametrize("cls, amsgrad, weight_decay", ADAM_CASES)
def test_adam_over_parts_of_the_values_gives_the_same_bits(cls, amsgrad, weight_decay,
                                                           monkeypatch):
    """Adam's NumPy lines (the compiled step turned off) run on one part of a parameter's
    values per core (three uneven parts here) and on the whole arrays
    (``accel.flat_views`` declining): identical parameters and moments after three steps;
    a transposed gradient takes the whole arrays."""
    from visiongrad.accel import threads

    monkeypatch.setattr(optim.adaptive.accel, "adam_step", lambda *args: False)
    monkeypatch.setattr(threads, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(threads, "available_cores", lambda: 3)
    rng = np.random.default_rng(5)
    start = rng.standard_normal((7, 5)).astype(np.float32)

    lines, calls = optim.adaptive.adam_lines, []
    monkeypatch.setattr(optim.adaptive, "adam_lines",
                        lambda x, *rest: calls.append(x.size) or lines(x, *rest))

    options = dict(amsgrad=amsgrad, weight_decay=weight_decay)
    in_parts = adam_steps(cls, start, 3, monkeypatch, **options)
    whole = adam_steps(cls, start, 3, monkeypatch, turned_off=["flat_views"], **options)
    for a, b in zip(in_parts, whole, strict=True):
        np.testing.assert_array_equal(a, b)
    assert sorted(calls) == sorted([11, 12, 12] * 3 + [35] * 3)  # 3 parts, then whole
    assert threads.flat_views(start, start.T.copy().T) is None


@pytest.mark.parametrize("cls, amsgrad, weight_decay", ADAM_CASES)
@pytest.mark.parametrize("cores", [1, 3, 64])
def test_compiled_adam_step_gives_the_numpy_lines_bits(cls, amsgrad, weight_decay, cores,
                                                       monkeypatch):
    """The one-pass compiled update (``accel.adam_step``, in 1, 3 or more parts than
    values on C's threads) against the NumPy lines it replaces: the same bits after five
    steps, moments too; amsgrad's running maximum keeps a NaN as NumPy's maximum does."""
    from visiongrad.accel import fast, threads

    if fast.ADAM_STEP_PARTS is None:
        pytest.skip("the compiled kernels are not built here (see tests/accel/test_native.py)")
    monkeypatch.setattr(threads, "C_PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(threads, "available_cores", lambda: cores)
    rng = np.random.default_rng(6)
    start = rng.standard_normal((7, 5)).astype(np.float32)
    compiled_calls = []
    step = optim.adaptive.accel.adam_step
    monkeypatch.setattr(optim.adaptive.accel, "adam_step",
                        lambda *args: compiled_calls.append(1) or step(*args))

    options = dict(amsgrad=amsgrad, weight_decay=weight_decay, nan_at=3 if amsgrad else None)
    compiled = adam_steps(cls, start, 5, monkeypatch, **options)
    lines = adam_steps(cls, start, 5, monkeypatch, turned_off=["adam_step"], **options)
    for ours, reference in zip(compiled, lines, strict=True):
        np.testing.assert_array_equal(ours, reference)
    assert len(compiled_calls) == 5



def test_gradient_array_is_not_modified():
    x = vg.Tensor(np.ones(3), requires_grad=True)
    opt = optim.SGD([x], lr=0.1, momentum=0.9, weight_decay=0.5, nesterov=True)
    grad = np.array([1.0, 2.0, 3.0])
    x.grad = grad
    opt.step()
    opt.step()
    np.testing.assert_array_equal(grad, [1.0, 2.0, 3.0])


# ----- the course's momentum forms --------------------------------------------------------


def scalar_run(cls, steps, **options):
    """Minimise f(x) = x^2 from x = 1 (gradient 2x); the iterates."""
    x = vg.Tensor(np.array([1.0]), requires_grad=True)
    opt = cls([x], **options)
    out = []
    for _ in range(steps):
        x.grad = 2 * x.data
        opt.step()
        out.append(float(x.data[0]))
    return out


def test_momentum_course_form_by_hand():
    # v1 = -0.1*2 = -0.2, x1 = 0.8; v2 = 0.9*(-0.2) - 0.1*1.6 = -0.34, x2 = 0.46
    np.testing.assert_allclose(scalar_run(optim.Momentum, 2, lr=0.1, momentum=0.9),
                               [0.8, 0.46], atol=1e-12)


def test_nesterov_course_form_by_hand():
    # v1 = -0.2, x1 = 1 - 0.9*0 + 1.9*(-0.2) = 0.62
    # v2 = 0.9*(-0.2) - 0.1*1.24 = -0.304, x2 = 0.62 + 0.9*0.2 + 1.9*(-0.304) = 0.2224
    np.testing.assert_allclose(scalar_run(optim.Nesterov, 2, lr=0.1, momentum=0.9),
                               [0.62, 0.2224], atol=1e-12)


def test_momentum_weight_decay_by_hand():
    # g = 2x + 0.5x = 2.5 at x = 1: v1 = -0.25, x1 = 0.75
    np.testing.assert_allclose(scalar_run(optim.Momentum, 1, lr=0.1, momentum=0.9,
                                          weight_decay=0.5), [0.75], atol=1e-12)


@pytest.mark.parametrize(("course", "nesterov"), [(optim.Momentum, False),
                                                  (optim.Nesterov, True)])
def test_course_forms_equal_pytorch_sgd_at_constant_lr(course, nesterov):
    """v = -lr * b turns the course's forms into PyTorch's (dampening 0, constant lr)."""
    ours, _ = run_visiongrad(course, {"lr": 0.05, "momentum": 0.9}, np.float64)
    theirs, _ = run_visiongrad(optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": nesterov},
                               np.float64)
    for mine, reference in zip(ours, theirs, strict=True):
        for a, b in zip(mine, reference, strict=True):
            np.testing.assert_allclose(a, b, atol=1e-10)


# ----- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(("build", "message"), [
    (lambda p: optim.SGD(p, lr=-0.1), "lr must be non-negative, got -0.1"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-1), "momentum must be non-negative, got -1"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires momentum > 0"),
    (lambda p: optim.Momentum(p, lr=0.1, momentum=1.0), r"momentum must be in \[0.0, 1.0\)"),
    (lambda p: optim.Adam(p, betas=(0.9, 1.0)), r"beta2 must be in \[0.0, 1.0\), got 1.0"),
    (lambda p: optim.Adam(p, betas=(0.9,)), "betas must be a pair"),
    (lambda p: optim.RMSProp(p, alpha=1.5), "alpha must be in"),
    (lambda p: optim.AdaGrad(p, eps=-1), "eps must be non-negative"),
    (lambda p: optim.LBFGS(p, line_search_fn="armijo"), "line_search_fn must be one of"),
    (lambda p: optim.SGD([{"params": p, "lr": -1.0}], lr=0.1), "lr must be non-negative"),
])
def test_bad_hyperparameters_raise_clear_errors(build, message):
    with pytest.raises(ValueError, match=message):
        build([vg.Tensor(np.zeros(2), requires_grad=True)])


def test_bad_parameter_lists():
    x = vg.Tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([{"params": [x]}, {"params": [x]}], lr=0.1)
    with pytest.raises(TypeError, match="only optimize Tensors"):
        optim.SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="leaf tensors"):
        optim.SGD([x * 2], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(x, lr=0.1)


def test_caller_group_dict_is_not_modified():
    x = vg.Tensor(np.zeros(2), requires_grad=True)
    group = {"params": [x]}
    optim.Adam([group], lr=0.1)
    assert group == {"params": [x]}


def test_frozen_parameters_are_not_updated():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    model[0].requires_grad_(False)
    frozen = model[0].weight.data.copy()
    head = model[2].weight.data.copy()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(3):
        opt.zero_grad()
        model(vg.tensor(np.ones((2, 3)))).sum().backward()
        opt.step()
    assert model[0].weight.grad is None
    np.testing.assert_array_equal(model[0].weight.data, frozen)
    assert not np.allclose(model[2].weight.data, head)


def test_zero_grad_clears_gradients():
    x = vg.Tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([x], lr=0.1)
    (x * x).sum().backward()
    opt.zero_grad()
    assert x.grad is None


def test_repr_lists_groups():
    text = repr(optim.SGD([vg.Tensor(np.ones(2), requires_grad=True)], lr=0.5))
    assert "SGD" in text and "lr: 0.5" in text


SGD_OPTIONS = [case[2] for case in PYTORCH_CASES if case[0] is optim.SGD and "momentum" in case[2]]


@pytest.mark.parametrize("options", SGD_OPTIONS)
def test_fused_sgd_step_matches_the_numpy_lines(monkeypatch, options):
    """The compiled one-pass update (float32, after the first step) against the NumPy
    lines it replaces, the same bits over ten steps; and it is the one that ran."""
    if fast.SGD_MOMENTUM_STEP is None:
        pytest.skip("the compiled kernels are not built here (see tests/accel/test_native.py)")
    calls = []
    for name in ("SGD_MOMENTUM_STEP", "SGD_MOMENTUM_STEP_PARTS"):  # whole, or in parts
        if getattr(fast, name) is not None:
            monkeypatch.setattr(fast, name, counted(getattr(fast, name), calls))
    ours, _ = run_visiongrad(optim.SGD, options, np.float32)
    assert len(calls) == 9 * len(SHAPES), "the fused step did not run after the first step"
    monkeypatch.setattr(fast, "SGD_MOMENTUM_STEP", None)
    reference, _ = run_visiongrad(optim.SGD, options, np.float32)
    for mine, theirs in zip(ours, reference, strict=True):
        for a, b in zip(mine, theirs, strict=True):
            np.testing.assert_array_equal(a, b)
