"""Elementwise ops of ops/elementwise.py (extrema of two tensors, rounding, NaN/inf tests,
rsqrt, logs, sin/cos, erf, clamp) and PyTorch's type promotion: float64 gradient checks (no
PyTorch needed) and PyTorch parity of values and gradients on seeded random inputs."""

import numpy as np
import pytest
from helpers import assert_gradcheck, assert_matches_torch, kink_free_inputs, torch_or_skip

import visiongrad as vg
from visiongrad import functional as F
from visiongrad.ops import elementwise as E


def torch_module():
    return torch_or_skip()


# (name, visiongrad fn, torch fn, input kwargs for ``inputs``). Each op on every seed.
UNARY = [
    ("rsqrt", F.rsqrt, lambda t: t.rsqrt(), dict(positive=True)),
    ("log2", F.log2, lambda t: t.log2(), dict(positive=True)),
    ("log10", F.log10, lambda t: t.log10(), dict(positive=True)),
    ("sin", F.sin, lambda t: t.sin(), {}),
    ("cos", F.cos, lambda t: t.cos(), {}),
    ("erf", F.erf, lambda t: t.erf(), dict(scale=1.5)),
    ("clamp numbers", lambda x: F.clamp(x, -1.0, 2.0), lambda t: t.clamp(-1.0, 2.0),
     dict(kinks=(-1.0, 2.0))),
    ("clamp min only", lambda x: x.clamp(min=0.5), lambda t: t.clamp(min=0.5),
     dict(kinks=(0.5,))),
]
IDS = [c[0] for c in UNARY]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name, vg_fn, torch_fn, kwargs", UNARY, ids=IDS)
def test_unary_gradcheck(name, vg_fn, torch_fn, kwargs, seed):
    assert_gradcheck(vg_fn, [kink_free_inputs(seed, **kwargs)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name, vg_fn, torch_fn, kwargs", UNARY, ids=IDS)
def test_unary_matches_torch(name, vg_fn, torch_fn, kwargs, seed, dtype):
    shape = tuple(np.random.default_rng(seed).integers(1, 5, size=seed + 1))
    tolerance = 3e-5 if dtype == np.float32 else None
    if dtype == np.float64 and name in ("celu", "hardsigmoid"):
        tolerance = 1e-8  # PyTorch's kernels use float32 constants (1/6, 1/alpha) here
    assert_matches_torch(vg_fn, torch_fn, [kink_free_inputs(seed, shape, **kwargs)], dtype=dtype,
                         tolerance=tolerance)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_maximum_minimum_broadcast(op, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((3, 4))
    b = rng.standard_normal([(1, 4), (3, 1), (4,), (3, 4)][seed])
    assert_gradcheck(getattr(F, op), [a, b])
    assert_matches_torch(getattr(F, op), lambda x, y: getattr(torch_module(), op)(x, y),
                         [a, b], dtype=np.float64)


def test_maximum_ties_share_the_gradient_like_torch():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0])
    x, y = vg.tensor(a, requires_grad=True), vg.tensor(b, requires_grad=True)
    F.maximum(x, y).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.5, 1.0, 0.5])
    np.testing.assert_array_equal(y.grad, [0.5, 0.0, 0.5])
    assert_matches_torch(F.minimum, lambda s, t: torch_module().minimum(s, t), [a, b],
                         dtype=np.float64)


def test_clamp_with_tensor_bounds():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3))
    low, high = rng.standard_normal(3) - 1, rng.standard_normal(3) + 1
    assert_gradcheck(lambda a, lo, hi: F.clamp(a, lo, hi), [x, low, high])
    assert_matches_torch(lambda a, lo, hi: a.clamp(lo, hi), lambda a, lo, hi: a.clamp(lo, hi),
                         [x, low, high], dtype=np.float64)
    with pytest.raises(ValueError, match="min and max"):
        F.clamp(x)


@pytest.mark.parametrize("op", ["sign", "floor", "ceil", "round", "trunc"])
def test_step_functions_have_zero_gradient(op):
    x = np.array([-2.5, -1.5, -0.4, 0.0, 0.5, 1.5, 2.7])
    t = vg.tensor(x, requires_grad=True)
    y = getattr(t, op)()
    y.sum().backward()
    np.testing.assert_array_equal(t.grad, np.zeros_like(x))
    assert_matches_torch(getattr(F, op), lambda s: getattr(s, op)(), [x], dtype=np.float64)


def test_isnan_isinf_isfinite_are_boolean_without_gradient():
    x = vg.tensor([1.0, np.nan, np.inf, -np.inf], requires_grad=True)
    np.testing.assert_array_equal(x.isnan().data, [False, True, False, False])
    np.testing.assert_array_equal(F.isinf(x).data, [False, False, True, True])
    np.testing.assert_array_equal(x.isfinite().data, [True, False, False, False])
    assert not x.isnan().requires_grad and x.isnan().dtype == bool


def test_every_elementwise_function_is_exercised():
    functions = {name for name, obj in vars(E).items()
                 if isinstance(obj, type) and issubclass(obj, vg.Function)
                 and obj.__module__ == E.__name__}
    used = {"Maximum", "Minimum", "PiecewiseConstant", "Unary", "Rsqrt", "LogBase", "Sin",
            "Cos", "Erf"}
    assert functions <= used, f"untested: {functions - used}"


@pytest.mark.parametrize("op", [F.maximum, F.minimum, lambda x, s: x.maximum(s),
                                lambda x, s: vg.where(np.array([True, False, True]), x, s)])
def test_a_python_number_does_not_promote_a_float32_tensor(op):
    x = vg.tensor(np.array([-1.0, 0.5, 2.0], dtype=np.float32), requires_grad=True)
    y = op(x, 0)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("zero_d, expected", [(np.float32, np.float32), (np.float64, np.float64)])
def test_an_integer_tensor_meets_a_0d_float_tensor_in_the_floats_dtype(zero_d, expected):
    """PyTorch's promotion: a 0-d operand of a higher category gives its own dtype."""
    ints = vg.tensor(np.arange(3, dtype=np.int32))
    assert F.maximum(ints, vg.tensor(np.array(1, dtype=zero_d))).dtype == expected
    assert F.minimum(vg.tensor(np.array(1, dtype=zero_d)), ints).dtype == expected


def test_a_0d_float64_tensor_does_not_promote_a_float32_tensor_like_torch():
    torch = torch_or_skip()
    x = np.array([-1.0, 0.5, 2.0], dtype=np.float32)
    got = F.maximum(vg.tensor(x), vg.tensor(np.array(0.25)))
    want = torch.maximum(torch.tensor(x), torch.tensor(0.25, dtype=torch.float64))
    assert str(got.dtype) == str(want.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(got.numpy(), want.numpy())
