"""Arithmetic (ops/math.py): float64 gradient checks, PyTorch parity, type promotion."""

import numpy as np
import pytest
from helpers import assert_gradcheck, assert_matches_torch, torch_or_skip

import visiongrad as vg
from visiongrad.ops import math as M

rng = np.random.default_rng(0)
positive = np.abs(rng.standard_normal((3, 4))) + 0.5
signed = rng.standard_normal((3, 4)) + np.where(rng.random((3, 4)) > 0.5, 0.3, -0.3)
row = rng.standard_normal((1, 4))

# (name, visiongrad function, torch function, inputs). Every Function in ops/math.py appears.
CASES = [
    ("Add broadcast", lambda a, b: a + b, lambda a, b: a + b, [signed, row]),
    ("Sub broadcast", lambda a, b: a - b, lambda a, b: a - b, [row, signed]),
    ("Mul broadcast", lambda a, b: a * b, lambda a, b: a * b, [signed, row]),
    ("Div broadcast", lambda a, b: a / b, lambda a, b: a / b, [signed, positive[:1]]),
    ("Neg", lambda a: -a, lambda a: -a, [signed]),
    ("PowScalar", lambda a: a**3, lambda a: a**3, [signed]),
    ("PowScalar fractional", lambda a: a**0.5, lambda a: a**0.5, [positive]),
    ("Pow", lambda a, b: a**b, lambda a, b: a**b, [positive, signed]),
    ("Exp", lambda a: a.exp(), lambda a: a.exp(), [signed]),
    ("Log", lambda a: a.log(), lambda a: a.log(), [positive]),
    ("Sqrt", lambda a: a.sqrt(), lambda a: a.sqrt(), [positive]),
    ("Abs", lambda a: a.abs(), lambda a: a.abs(), [signed]),
    ("Clip", lambda a: a.clip(-0.5, 0.5), lambda a: a.clamp(-0.5, 0.5), [signed]),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name, vg_fn, torch_fn, inputs", CASES, ids=IDS)
def test_gradcheck(name, vg_fn, torch_fn, inputs):
    assert_gradcheck(vg_fn, inputs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, vg_fn, torch_fn, inputs", CASES, ids=IDS)
def test_matches_torch(name, vg_fn, torch_fn, inputs, dtype):
    assert_matches_torch(vg_fn, torch_fn, inputs, dtype=dtype)


def test_every_math_function_is_exercised():
    functions = {name for name, obj in vars(M).items()
                 if isinstance(obj, type) and issubclass(obj, vg.Function)
                 and obj.__module__ == M.__name__}
    covered = {name.split()[0] for name in IDS} | {"Cast"}  # Cast: test_cast below
    assert functions <= covered, f"untested: {functions - covered}"


def test_cast_converts_value_and_gradient_dtypes():
    """Cast's numerical gradient through float32 is too coarse for gradcheck; check exactly."""
    torch = torch_or_skip()
    x = vg.tensor(signed, requires_grad=True)
    y = x.astype(np.float32)
    assert y.dtype == np.float32
    (y * y).sum().backward()
    assert x.grad.dtype == np.float64
    t = torch.tensor(signed, requires_grad=True)
    (t.float() ** 2).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-6)


# ----- defects found by a port of a peer framework's op suite (issue 15) -----------------


def _grads(fn, *arrays):
    tensors = [vg.tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    fn(*tensors).sum().backward()
    return [t.grad for t in tensors]


def test_power_with_zero_base_has_pytorch_finite_gradients():
    np.testing.assert_array_equal(_grads(lambda x: x**0, [0.0, 1.0])[0], [0.0, 0.0])
    for exponent in (0.0, 0.3, 1.0, 2.0):
        dx, dy = _grads(lambda x, y: x**y, [0.0], [exponent])
        assert dy == 0.0 and (exponent == 0.3 or np.isfinite(dx)), (exponent, dx, dy)
    de = _grads(lambda e: vg.tensor(0.0, dtype=np.float64) ** e, [0.0, 1.0, 2.0])[0]
    np.testing.assert_array_equal(de, [0.0, 0.0, 0.0])
    # relu(x) ** 0 inside a network: no NaN reaches the weights
    x = vg.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    (vg.functional.relu(x) ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])


@pytest.mark.parametrize("p", [0, 1, 2, 3])
def test_power_gradients_match_torch_around_zero(p):
    base = np.array([0.0, 0.0, 0.0, 0.0, 1.5, 2.0])
    exponent = np.array([0.0, 0.3, 1.0, 2.0, 0.0, -1.0])
    assert_matches_torch(lambda a, b: a**b, lambda a, b: a**b, [base, exponent],
                         dtype=np.float64)
    assert_matches_torch(lambda a: a**p, lambda a: a**p, [base], dtype=np.float64)


def test_true_division_and_powers_of_integers_give_the_default_float_dtype():
    a = vg.tensor(np.array([1, 2, 3], dtype=np.int32))
    b = vg.tensor(np.array([2, 2, 2], dtype=np.int32))
    for result in (a / b, a / 2, 0.7**a, a**0.5, 2 / a):
        assert result.dtype == np.float32, result.dtype
    vg.set_default_dtype(np.float64)
    assert (a / b).dtype == np.float64
    assert (vg.tensor(np.ones(3, np.float32)) / a).dtype == np.float32
    assert (a**2).dtype == np.int32  # integer powers stay integer, as in PyTorch
    np.testing.assert_allclose((0.7**a).data, 0.7 ** np.arange(1, 4))


def test_clip_without_bounds_is_refused():
    with pytest.raises(ValueError, match="low and high"):
        vg.tensor(signed).clip()


