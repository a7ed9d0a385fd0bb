"""Activations: float64 gradient checks, PyTorch parity over seeded random shapes, maxout
against its hand formula, numerical stability and argument errors."""

import numpy as np
import pytest
from helpers import assert_gradcheck, assert_matches_torch, kink_free_inputs, torch_or_skip

import visiongrad as vg
from visiongrad import functional as F

shape_rng = np.random.default_rng(2)  # seeded random shapes for parametrize
# batch of 1, odd sizes, and seeded random (N, C, ...) shapes of 2 to 4 axes
SHAPES = [(1, 5), (3, 7), (1, 3, 5, 2)] + [
    tuple(int(s) for s in shape_rng.integers(1, 6, size=shape_rng.integers(2, 5))) for _ in range(3)
]


def away_from_zero(rng, shape):
    """Random values with |x| >= 0.1, so no kink of relu/leaky_relu/prelu/elu is near."""
    z = rng.standard_normal(shape)
    return np.sign(z) * (np.abs(z) + 0.1) + (z == 0) * 0.1


def torch_f():
    return torch_or_skip().nn.functional


# (name, visiongrad function, torch function of torch.nn.functional)
ELEMENTWISE = [
    ("sigmoid", F.sigmoid, lambda T: T.sigmoid),
    ("tanh", F.tanh, lambda T: T.tanh),
    ("relu", F.relu, lambda T: T.relu),
    ("leaky_relu", F.leaky_relu, lambda T: T.leaky_relu),
    ("leaky_relu slope 0.2", lambda x: F.leaky_relu(x, 0.2), lambda T: lambda x: T.leaky_relu(
        x, 0.2)),
    ("elu", F.elu, lambda T: T.elu),
    ("elu alpha 0.5", lambda x: F.elu(x, alpha=0.5), lambda T: lambda x: T.elu(x, alpha=0.5)),
]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name, vg_fn, torch_fn", ELEMENTWISE, ids=[c[0] for c in ELEMENTWISE])
def test_elementwise_gradcheck(name, vg_fn, torch_fn, shape):
    assert_gradcheck(vg_fn, [away_from_zero(np.random.default_rng(1), shape)])


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name, vg_fn, torch_fn", ELEMENTWISE, ids=[c[0] for c in ELEMENTWISE])
def test_elementwise_matches_torch(name, vg_fn, torch_fn, shape):
    x = away_from_zero(np.random.default_rng(1), shape)
    for dtype in (np.float32, np.float64):
        assert_matches_torch(vg_fn, torch_fn(torch_f()), [x], dtype=dtype)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("per_channel", [True, False])
def test_prelu_gradcheck(shape, per_channel):
    assert_gradcheck(F.prelu, prelu_inputs(shape, per_channel))


def prelu_inputs(shape, per_channel):
    rng = np.random.default_rng(2)
    x = away_from_zero(rng, shape)
    return [x, rng.uniform(0.05, 0.5, size=shape[1] if per_channel else 1)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("per_channel", [True, False])
def test_prelu_matches_torch(shape, per_channel):
    x, weight = prelu_inputs(shape, per_channel)
    for dtype in (np.float32, np.float64):
        assert_matches_torch(F.prelu, torch_f().prelu, [x, weight], dtype=dtype)


def maxout_by_hand(x, pieces):
    """y[n, c, ...] = max_j x[n, c * pieces + j, ...], one unit at a time."""
    out = np.empty((x.shape[0], x.shape[1] // pieces) + x.shape[2:])
    for c in range(out.shape[1]):
        out[:, c] = np.max([x[:, c * pieces + j] for j in range(pieces)], axis=0)
    return out


MAXOUT_CASES = [((1, 6), 2), ((4, 9), 3), ((2, 4, 3, 5), 4), ((3, 5, 2), 1)]


@pytest.mark.parametrize("shape, pieces", MAXOUT_CASES)
def test_maxout_formula_and_gradcheck(shape, pieces):
    x = np.random.default_rng(3).standard_normal(shape)
    np.testing.assert_allclose(F.maxout(x, pieces).data, maxout_by_hand(x, pieces), rtol=0)
    assert_gradcheck(lambda a: F.maxout(a, pieces), [x])


@pytest.mark.parametrize("shape, pieces", MAXOUT_CASES)
def test_maxout_matches_torch(shape, pieces):
    torch = torch_or_skip()
    x = np.random.default_rng(3).standard_normal(shape)
    grouped = (shape[0], shape[1] // pieces, pieces) + shape[2:]  # torch has no maxout op
    for dtype in (np.float32, np.float64):
        assert_matches_torch(lambda a: F.maxout(a, pieces),
                             lambda a: torch.amax(a.reshape(grouped), dim=2), [x], dtype=dtype)


def test_maxout_routes_a_tie_to_the_first_piece():
    t = vg.tensor(np.array([[2.0, 2.0, 1.0, 3.0]]), requires_grad=True)
    F.maxout(t, 2).sum().backward()
    np.testing.assert_array_equal(t.grad, [[1.0, 0.0, 0.0, 1.0]])


SOFTMAX_CASES = [((1, 10), 1), ((4, 7), 0), ((2, 3, 5), -1), ((2, 3, 4, 5), 1)]


@pytest.mark.parametrize("shape, dim", SOFTMAX_CASES)
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_softmax_gradcheck(shape, dim, log):
    vg_fn = F.log_softmax if log else F.softmax
    x = np.random.default_rng(5).standard_normal(shape)
    assert_gradcheck(lambda a: vg_fn(a, dim), [x])


@pytest.mark.parametrize("shape, dim", SOFTMAX_CASES)
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_softmax_matches_torch(shape, dim, log):
    vg_fn = F.log_softmax if log else F.softmax
    x = np.random.default_rng(5).standard_normal(shape)
    torch_fn = torch_f().log_softmax if log else torch_f().softmax
    for dtype in (np.float32, np.float64):
        assert_matches_torch(lambda a: vg_fn(a, dim), lambda a: torch_fn(a, dim), [x],
                             dtype=dtype)


def test_softmax_is_stable_for_huge_logits():
    x = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4]])
    probs = F.softmax(x, 1).data
    np.testing.assert_allclose(probs, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-15)
    log_probs = F.log_softmax(x, 1).data
    np.testing.assert_allclose(log_probs, [[0, -1e4, -2e4], [-np.log(3)] * 3], rtol=1e-12)


def test_log_softmax_of_huge_logits_matches_torch():
    x = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4]])
    for dtype in (np.float32, np.float64):
        assert_matches_torch(lambda a: F.log_softmax(a, 1),
                             lambda a: torch_f().log_softmax(a, 1), [x], dtype=dtype)


def test_sigmoid_saturates_without_overflow():
    x = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    with np.errstate(over="raise"):
        y = F.sigmoid(x).data
    np.testing.assert_allclose(y, [0.0, np.exp(-30) / (1 + np.exp(-30)), 0.5,
                                   1 / (1 + np.exp(-30)), 1.0], rtol=1e-15)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"shape \(2, 5\) must split into groups of 2"):
        F.maxout(np.ones((2, 5)), 2)
    with pytest.raises(ValueError, match=r"weight of shape \(3,\) must have 1 or 4 elements"):
        F.prelu(np.ones((2, 4)), np.ones(3))


@pytest.mark.parametrize("op", [F.softmax, F.log_softmax, lambda x, dim: x.softmax(dim)])
def test_softmax_over_a_dim_out_of_range_is_our_clear_error(op):
    with pytest.raises(ValueError, match="dim 5 is out of range for a tensor with 2 dim"):
        op(vg.tensor(np.ones((2, 3))), 5)


# ----- PyTorch's smooth and piecewise-linear activations ------------------------------------------


def tF():
    return torch_or_skip().nn.functional


# (name, visiongrad fn, torch fn, input kwargs for ``kink_free_inputs``). Each op on every seed.
SMOOTH = [
    ("softplus", F.softplus, lambda t: tF().softplus(t), {}),
    ("softplus beta", lambda x: F.softplus(x, beta=2.0, threshold=3.0),
     lambda t: tF().softplus(t, beta=2.0, threshold=3.0), dict(kinks=(1.5,))),
    ("silu", F.silu, lambda t: tF().silu(t), dict(kinks=(-1.278,))),
    ("gelu", F.gelu, lambda t: tF().gelu(t), dict(kinks=(-0.752,), scale=1.5)),
    ("gelu tanh", lambda x: F.gelu(x, approximate="tanh"),
     lambda t: tF().gelu(t, approximate="tanh"), dict(kinks=(-0.752,), scale=1.5)),
    ("selu", F.selu, lambda t: tF().selu(t), dict(kinks=(0,))),
    ("celu", lambda x: F.celu(x, alpha=0.7), lambda t: tF().celu(t, alpha=0.7),
     dict(kinks=(0,))),
    ("hardtanh", lambda x: F.hardtanh(x, -2.0, 1.5), lambda t: tF().hardtanh(t, -2.0, 1.5),
     dict(kinks=(-2.0, 1.5))),
    ("relu6", F.relu6, lambda t: tF().relu6(t), dict(kinks=(0, 6), scale=5.0)),
    ("hardsigmoid", F.hardsigmoid, lambda t: tF().hardsigmoid(t), dict(kinks=(-3, 3))),
    ("hardswish", F.hardswish, lambda t: tF().hardswish(t), dict(kinks=(-3, 3))),
    ("mish", F.mish, lambda t: tF().mish(t), dict(kinks=(-1.192,))),
    ("logsigmoid", F.logsigmoid, lambda t: tF().logsigmoid(t), dict(scale=10.0)),
]
SMOOTH_IDS = [c[0] for c in SMOOTH]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name, vg_fn, torch_fn, kwargs", SMOOTH, ids=SMOOTH_IDS)
def test_smooth_activation_gradcheck(name, vg_fn, torch_fn, kwargs, seed):
    assert_gradcheck(vg_fn, [kink_free_inputs(seed, **kwargs)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name, vg_fn, torch_fn, kwargs", SMOOTH, ids=SMOOTH_IDS)
def test_smooth_activation_matches_torch(name, vg_fn, torch_fn, kwargs, seed, dtype):
    shape = tuple(np.random.default_rng(seed).integers(1, 5, size=seed + 1))
    tolerance = 3e-5 if dtype == np.float32 else None
    if dtype == np.float64 and name in ("celu", "hardsigmoid"):
        tolerance = 1e-8  # PyTorch's kernels use float32 constants (1/6, 1/alpha) here
    assert_matches_torch(vg_fn, torch_fn, [kink_free_inputs(seed, shape, **kwargs)],
                         dtype=dtype, tolerance=tolerance)


def test_activations_at_extremes_are_finite_like_torch():
    torch = torch_or_skip()
    x = np.array([-1e4, -50.0, -20.0, 0.0, 20.0, 50.0, 1e4])
    for name in ("softplus", "silu", "mish", "logsigmoid", "gelu", "selu", "celu"):
        assert_matches_torch(getattr(F, name), getattr(torch.nn.functional, name), [x],
                             dtype=np.float64)


def test_gelu_formulas_by_hand():
    """The docstring's formulas, computed independently at a few points."""
    from math import erf, sqrt, tanh
    for v in (-2.0, -0.3, 0.0, 1.1):
        exact = F.gelu(vg.tensor(np.float64(v))).item()
        assert exact == pytest.approx(v * 0.5 * (1 + erf(v / sqrt(2))), rel=1e-12)
        approx = F.gelu(vg.tensor(np.float64(v)), approximate="tanh").item()
        inner = sqrt(2 / np.pi) * (v + 0.044715 * v**3)
        assert approx == pytest.approx(0.5 * v * (1 + tanh(inner)), rel=1e-12)


def test_bad_arguments_are_refused():
    x = vg.tensor([1.0])
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(x, approximate="fast")
    with pytest.raises(ValueError, match="min_val"):
        F.hardtanh(x, 2.0, 1.0)
    with pytest.raises(ValueError, match="alpha"):
        F.celu(x, alpha=0.0)


def test_activation_methods_as_in_pytorch():
    x = np.array([[-1.0, 0.5, 2.0]])
    t = vg.tensor(x)
    np.testing.assert_allclose(t.relu().data, np.maximum(x, 0))
    np.testing.assert_allclose(t.sigmoid().data, 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(t.tanh().data, np.tanh(x))
    np.testing.assert_allclose(t.softmax(1).data.sum(1), [1.0])
    np.testing.assert_allclose(np.exp(t.log_softmax(dim=1).data), t.softmax(dim=1).data)
