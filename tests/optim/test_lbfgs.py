"""L-BFGS against torch.optim.LBFGS on a quadratic and on the Rosenbrock function."""

import numpy as np
import pytest
from helpers import torch_or_skip

import visiongrad as vg
from visiongrad import optim

A = np.array([[3.0, 0.5, 0.0], [0.5, 2.0, 0.3], [0.0, 0.3, 1.0]])
B = np.array([1.0, -2.0, 0.5])


def quadratic(x, a, b):
    """f(x) = 1/2 x^T A x - b^T x, minimised at A^-1 b."""
    return 0.5 * (x * (a @ x)).sum() - (x * b).sum()


def rosenbrock(x):
    """f(x, y) = (1 - x)^2 + 100 (y - x^2)^2, minimised at (1, 1)."""
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def problem(name, framework):
    if name == "quadratic":
        wrap = torch_or_skip().tensor if framework == "torch" else vg.tensor
        return (lambda x: quadratic(x, wrap(A), wrap(B))), np.zeros(3)
    return rosenbrock, np.array([-1.2, 1.0])


def run_visiongrad(name, steps, **options):
    f, start = problem(name, "visiongrad")
    x = vg.Tensor(start.copy(), requires_grad=True)
    opt = optim.LBFGS([x], **options)

    def closure():
        opt.zero_grad()
        loss = f(x)
        loss.backward()
        return loss

    iterates = []
    for _ in range(steps):
        opt.step(closure)
        iterates.append(x.data.copy())
    return iterates, opt


def run_torch(name, steps, **options):
    torch = torch_or_skip()
    f, start = problem(name, "torch")
    x = torch.tensor(start.copy(), requires_grad=True)
    opt = torch.optim.LBFGS([x], **options)

    def closure():
        opt.zero_grad()
        loss = f(x)
        loss.backward()
        return loss

    iterates = []
    for _ in range(steps):
        opt.step(closure)
        iterates.append(x.detach().numpy().copy())
    return iterates


@pytest.mark.parametrize(("name", "options"), [
    ("quadratic", {"lr": 1.0, "max_iter": 2}),
    ("quadratic", {"lr": 0.5, "max_iter": 3, "history_size": 2}),
    ("rosenbrock", {"lr": 1.0, "max_iter": 4, "line_search_fn": "strong_wolfe"}),
    ("rosenbrock", {"lr": 1.0, "max_iter": 3, "history_size": 3,
                    "line_search_fn": "strong_wolfe"}),
])
def test_matches_pytorch_over_ten_steps(name, options):
    ours, _ = run_visiongrad(name, 10, **options)
    theirs = run_torch(name, 10, **options)
    for step, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6, err_msg=f"step {step + 1}")


@pytest.mark.parametrize("search", ["strong_wolfe", "backtracking"])
def test_reaches_the_rosenbrock_minimum(search):
    iterates, opt = run_visiongrad("rosenbrock", 10, lr=1.0, max_iter=20,
                                   line_search_fn=search)
    np.testing.assert_allclose(iterates[-1], [1.0, 1.0], atol=1e-4)
    assert opt.state_dict()["state"][0]["func_evals"] > 1


def test_reaches_the_quadratic_minimum():
    iterates, _ = run_visiongrad("quadratic", 3, lr=1.0, max_iter=20, tolerance_change=1e-14,
                                 tolerance_grad=1e-12)
    np.testing.assert_allclose(iterates[-1], np.linalg.solve(A, B), atol=1e-6)


def test_backtracking_steps_satisfy_armijo():
    """Each accepted step decreases f by at least c1 * t * g.d (so f never goes up)."""
    f, start = problem("rosenbrock", "visiongrad")
    x = vg.Tensor(start.copy(), requires_grad=True)
    opt = optim.LBFGS([x], lr=1.0, max_iter=1, max_eval=25, line_search_fn="backtracking")
    values = []

    def closure():
        opt.zero_grad()
        loss = f(x)
        loss.backward()
        return loss

    for _ in range(30):
        values.append(opt.step(closure).item())
    assert all(b <= a for a, b in zip(values, values[1:], strict=False))


def test_needs_a_closure_and_one_group():
    x = vg.Tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(ValueError, match="closure"):
        optim.LBFGS([x]).step(None)
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [x]}, {"params": [vg.Tensor(np.zeros(1), requires_grad=True)]}])
