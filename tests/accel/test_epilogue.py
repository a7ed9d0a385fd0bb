"""An inference convolution's compiled output pass (``accel/epilogue.py``,
``kernels/epilogue.c``) against its NumPy reference (``ops/conv_eval.epilogue_reference``):
every combination of residual and ReLU, parts on two threads, NaN kept, and the cases the
kernel leaves to NumPy."""

import numpy as np
import pytest

from visiongrad.accel import epilogue, threads
from visiongrad.ops.conv_eval import epilogue_reference

NOT_BUILT = "the compiled kernels are not built here (tests/accel/test_native.py says why)"
needs_kernel = pytest.mark.skipif(epilogue.CHANNEL_EPILOGUE is None, reason=NOT_BUILT)


def nchw_of(rows, shape):
    """(M, C) rows as the (N, C, H, W) array they are the channels-last memory of."""
    n, c, h, w = shape
    return rows.reshape(n, h, w, c).transpose(0, 3, 1, 2)


@needs_kernel
@pytest.mark.parametrize("with_residual", [False, True])
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("shape", [(3, 5, 4, 7), (16, 64, 8, 8)])
@pytest.mark.parametrize("cores", [1, 2, 3])
def test_pass_matches_the_reference(shape, relu, with_residual, cores, monkeypatch):
    monkeypatch.setattr(threads, "C_PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(threads, "available_cores", lambda: cores)
    rng = np.random.default_rng(0)
    n, c, h, w = shape
    rows = rng.standard_normal((n * h * w, c)).astype(np.float32)
    scale, shift = rng.standard_normal((2, c)).astype(np.float32)
    residual = rng.standard_normal(rows.shape).astype(np.float32) if with_residual else None
    expected = epilogue_reference(nchw_of(rows, shape), scale, shift,
                                  None if residual is None else nchw_of(residual, shape), relu)
    assert epilogue.channel_epilogue(rows, scale, shift, residual, relu)
    np.testing.assert_allclose(nchw_of(rows, shape), expected, rtol=1e-6, atol=1e-6)
    if relu:
        assert (rows >= 0).all() and (rows == 0).any()


@needs_kernel
def test_relu_keeps_nan_as_numpy_maximum_does():
    rows = np.array([[np.nan, -1.0, 2.0]], np.float32)
    ones, zeros = np.ones(3, np.float32), np.zeros(3, np.float32)
    assert epilogue.channel_epilogue(rows, ones, zeros, relu=True)
    np.testing.assert_array_equal(rows, np.maximum(np.array([[np.nan, -1.0, 2.0]]), 0))


def test_rows_the_kernel_does_not_take_are_left_untouched():
    ones, zeros = np.ones(3), np.zeros(3)
    float64 = -np.ones((4, 3))
    strided = np.full((4, 6), -1.0, np.float32)[:, ::2]
    for rows in (float64, strided):
        before = rows.copy()
        assert not epilogue.channel_epilogue(rows, ones, zeros, relu=True)
        np.testing.assert_array_equal(rows, before)


@needs_kernel
def test_a_residual_of_another_shape_is_refused():
    rows = np.zeros((4, 3), np.float32)
    with pytest.raises(ValueError, match=r"residual of shape \(4, 2\)"):
        epilogue.channel_epilogue(rows, np.ones(3), np.zeros(3), np.zeros((4, 2), np.float32))
