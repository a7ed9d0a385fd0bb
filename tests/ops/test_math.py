"""Elementwise, reduction and shape ops: float64 gradient checks and PyTorch parity."""

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
    ("Sum all", lambda a: a.sum(), lambda a: a.sum(), [signed]),
    ("Sum axis", lambda a: a.sum(axis=1), lambda a: a.sum(dim=1), [signed]),
    ("Sum keepdims", lambda a: a.sum(axis=0, keepdims=True),
     lambda a: a.sum(dim=0, keepdim=True), [signed]),
    ("Mean all", lambda a: a.mean(), lambda a: a.mean(), [signed]),
    ("Mean axes", lambda a: a.reshape(3, 2, 2).mean(axis=(0, 2)),
     lambda a: a.reshape(3, 2, 2).mean(dim=(0, 2)), [signed]),
    ("Max axis", lambda a: a.max(axis=1), lambda a: a.amax(dim=1), [signed]),
    ("Max all", lambda a: a.max(), lambda a: a.amax(), [signed]),
    ("Min keepdims", lambda a: a.min(axis=0, keepdims=True),
     lambda a: a.amin(dim=0, keepdim=True), [signed]),
    ("Reshape", lambda a: a.reshape(2, 6) * 2, lambda a: a.reshape(2, 6) * 2, [signed]),
    ("Transpose", lambda a: a.reshape(3, 2, 2).transpose(2, 0, 1),
     lambda a: a.reshape(3, 2, 2).permute(2, 0, 1), [signed]),
    ("Index slice", lambda a: a[1:, ::2], lambda a: a[1:, ::2], [signed]),
    ("Index repeated", lambda a: a[[0, 0, 2], 1], lambda a: a[[0, 0, 2], 1], [signed]),
    ("Index boolean", lambda a: a[a.data > 0] if isinstance(a, vg.Tensor) else a[a > 0],
     lambda a: a[a > 0], [signed]),
    ("Concat", lambda a, b: vg.concat([a, b], axis=0), lambda a, b: __import__("torch").cat(
        [a, b], dim=0), [signed, row]),
    ("Stack", lambda a, b: vg.stack([a, b], axis=1), lambda a, b: __import__("torch").stack(
        [a, b], dim=1), [signed, positive]),
    ("Where", lambda a, b: vg.where(signed > 0, a, b), lambda a, b: __import__("torch").where(
        __import__("torch").tensor(signed > 0), a, b), [signed, row]),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name, vg_fn, torch_fn, inputs", CASES, ids=IDS)
def test_gradcheck(name, vg_fn, torch_fn, inputs):
    assert_gradcheck(vg_fn, inputs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, vg_fn, torch_fn, inputs", CASES, ids=IDS)
def test_matches_torch(name, vg_fn, torch_fn, inputs, dtype):
    assert_matches_torch(vg_fn, torch_fn, inputs, dtype=dtype)


def test_max_ties_share_the_gradient_like_torch_amax():
    torch = torch_or_skip()
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    assert_matches_torch(lambda a: a.max(axis=1), lambda a: torch.amax(a, dim=1), [x],
                         dtype=np.float64)


def test_every_math_function_is_exercised():
    functions = {name for name, obj in vars(M).items()
                 if isinstance(obj, type) and issubclass(obj, vg.Function)
                 and obj.__module__ == M.__name__}
    covered = {name.split()[0] for name in IDS} | {"Cast"}  # Cast: test_cast below
    assert functions <= covered, f"untested: {functions - covered}"


def test_reshape_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"shape \(3, 4\) to \(5, 2\)"):
        vg.tensor(signed).reshape(5, 2)


def test_flatten_keeps_the_batch_axis():
    x = vg.tensor(np.zeros((2, 3, 4, 5)))
    assert x.flatten(1).shape == (2, 60) and x.flatten().shape == (120,)


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


@pytest.mark.parametrize("shape, axes", [((2, 2, 2), (0, -1, 1)), ((3, 4, 5, 6), (-2, -1, 1, 0)),
                                         ((2, 3, 4), (-1, -3, -2))])
def test_transpose_with_negative_axes(shape, axes):
    x = rng.standard_normal(shape)
    assert_gradcheck(lambda a: a.transpose(*axes), [x])
    assert_matches_torch(lambda a: a.transpose(*axes), lambda a: a.permute(*axes), [x],
                         dtype=np.float64)


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


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min"])
@pytest.mark.parametrize("axis", [0, -1])
def test_reducing_a_0d_tensor_over_axis_0_or_minus_1(reduce, axis):
    x = vg.tensor(np.float64(1.5), requires_grad=True)
    y = getattr(x, reduce)(axis=axis)
    assert y.shape == () and y.item() == 1.5
    y.backward()
    assert x.grad == 1.0
    with pytest.raises(ValueError, match="0-d"):
        getattr(x, reduce)(axis=1)


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


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min"])
def test_reductions_take_pytorchs_dim_and_keepdim(reduce):
    assert_matches_torch(lambda a: getattr(a, reduce)(dim=-1, keepdim=True),
                         lambda a: getattr(a, "a" + reduce if reduce in ("max", "min") else
                                           reduce)(dim=-1, keepdim=True), [signed],
                         dtype=np.float64)
    np.testing.assert_array_equal(getattr(vg.tensor(signed), reduce)(dim=0).data,
                                  getattr(signed, reduce)(axis=0))
