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
