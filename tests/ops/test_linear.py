"""matmul, linear and affine: gradient checks, PyTorch parity and shape errors."""

import numpy as np
import pytest
from helpers import assert_gradcheck, assert_matches_torch, torch_or_skip

import visiongrad as vg
from visiongrad import functional as F

rng = np.random.default_rng(1)


@pytest.mark.parametrize("x_shape, y_shape", [
    ((3, 4), (4, 5)), ((1, 4), (4, 1)), ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)), ((4,), (4, 3)), ((3, 4), (4,)), ((3,), (3,)),
    ((4,), (2, 4, 3)), ((2, 3, 4), (4,)), ((0,), (0,)), ((2, 0), (0, 3)),
])
def test_matmul(x_shape, y_shape):
    """Includes the dot product of two vectors (a 0-d result) and empty contractions."""
    x, y = rng.standard_normal(x_shape), rng.standard_normal(y_shape)
    assert_gradcheck(lambda a, b: a @ b, [x, y])
    for dtype in (np.float32, np.float64):
        assert_matches_torch(F.matmul, lambda a, b: a @ b, [x, y], dtype=dtype)


@pytest.mark.parametrize("x_shape", [(5, 4), (1, 4), (2, 3, 4)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear(x_shape, with_bias):
    torch = torch_or_skip()
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal((3, 4)), rng.standard_normal(3)
    inputs = [x, w, b] if with_bias else [x, w]
    assert_gradcheck(F.linear, inputs)
    for dtype in (np.float32, np.float64):
        assert_matches_torch(F.linear, torch.nn.functional.linear, inputs, dtype=dtype)


@pytest.mark.parametrize("x_shape", [(5, 6), (1, 2, 3), (4, 2, 3, 1)])
def test_affine_flattens_each_example(x_shape):
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal((6, 3)), rng.standard_normal(3)
    assert_gradcheck(F.affine, [x, w, b])
    assert_matches_torch(F.affine, lambda x, w, b: x.reshape(x.shape[0], -1) @ w + b,
                         [x, w, b], dtype=np.float64)
    assert F.affine(x, w).shape == (x_shape[0], 3)


def test_shape_errors_name_both_shapes():
    with pytest.raises(ValueError, match=r"\(3, 4\) and \(5, 2\) are not aligned"):
        vg.tensor(np.ones((3, 4))) @ vg.tensor(np.ones((5, 2)))
    with pytest.raises(ValueError, match=r"input of shape \(2, 5\).*weight of shape \(3, 4\)"):
        F.linear(np.ones((2, 5)), np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"bias shape \(4,\)"):
        F.linear(np.ones((2, 4)), np.ones((3, 4)), np.ones(4))
    with pytest.raises(ValueError, match=r"input of shape \(2, 6\).*weight of shape \(5, 3\)"):
        F.affine(np.ones((2, 2, 3)), np.ones((5, 3)))
