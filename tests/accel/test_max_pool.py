"""Max pooling's compiled kernel (``accel/max_pool.py``, ``kernels/max_pool.c``) against the
op's NumPy passes and PyTorch: channels-last and NCHW memory, padding, ceil_mode,
rectangular windows, ties, NaN and -inf, parts on two threads, and the cases it declines."""

import numpy as np
import pytest
from helpers import torch_or_skip

import visiongrad as vg
from visiongrad import accel
from visiongrad import functional as F
from visiongrad.accel import max_pool, threads

NOT_BUILT = "the compiled kernels are not built here (tests/accel/test_native.py says why)"
needs_kernels = pytest.mark.skipif(max_pool.MAX_POOL_FORWARD is None, reason=NOT_BUILT)


def channels_last(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


CONFIGS = {"resnet stem 3x3/2 pad 1": ((4, 16, 12, 12), 3, 2, 1, False),
           "2x2 tiles": ((2, 5, 8, 6), 2, 2, 0, False),
           "3x3/1 pad 1": ((2, 3, 7, 5), 3, 1, 1, False),
           "ceil_mode": ((2, 4, 8, 9), 3, 2, 1, True),
           "rectangular": ((3, 2, 6, 7), (2, 3), (1, 2), (1, 1), False),
           "1x1": ((2, 3, 4, 4), 1, 1, 0, False)}


def pool(x, config, compiled, monkeypatch, upstream=None):
    """y and dx by the kernel or by NumPy's passes."""
    _, kernel, stride, padding, ceil_mode = config
    with monkeypatch.context() as patch:
        if not compiled:
            patch.setattr(accel, "max_pool2d", lambda *args: None)
        tensor = vg.tensor(x, requires_grad=True)
        y = F.max_pool2d(tensor, kernel, stride, padding, ceil_mode=ceil_mode)
        y.backward(np.ones(y.shape, np.float32) if upstream is None else upstream)
    return y.data, tensor.grad


def values(shape, kind, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    if kind == "ties":
        x = np.maximum(np.round(x), 0)  # ReLU-like: many windows of equal maxima
    elif kind == "nan":
        x[rng.random(shape) < 0.1] = np.nan
    return x


@needs_kernels
@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("layout", ["channels-last", "NCHW"])
@pytest.mark.parametrize("kind", ["random", "ties", "nan"])
@pytest.mark.parametrize("parallel", [False, True])
def test_kernel_matches_numpy_passes(name, layout, kind, parallel, monkeypatch):
    if parallel:
        monkeypatch.setattr(threads, "PARALLEL_MIN_BYTES", 0)
        monkeypatch.setattr(threads, "available_cores", lambda: 2)
    rng = np.random.default_rng(5)
    x = values(CONFIGS[name][0], kind, rng)
    if layout == "channels-last":
        x = channels_last(x)
    y, dx = pool(x, CONFIGS[name], True, monkeypatch)
    upstream = rng.standard_normal(y.shape).astype(np.float32)
    y, dx = pool(x, CONFIGS[name], True, monkeypatch, upstream)
    y_ref, dx_ref = pool(x, CONFIGS[name], False, monkeypatch, upstream)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-6, atol=1e-6)
    assert dx.strides == x.strides  # dx in x's memory layout
    if layout == "channels-last":
        assert accel.is_channels_last(y)


@needs_kernels
@pytest.mark.parametrize("layout", ["channels-last", "NCHW"])
def test_backward_reads_dy_in_any_layout(layout, monkeypatch):
    """dy already in y's memory order is read as it is (no copy), in the other order it is
    copied first: dx is the same either way."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 16, 8, 8)).astype(np.float32)
    x = channels_last(x) if layout == "channels-last" else x
    upstream = rng.standard_normal((3, 16, 4, 4)).astype(np.float32)
    dxs = [pool(x, (None, 2, 2, 0, False), True, monkeypatch, dy)[1]
           for dy in (upstream, channels_last(upstream))]
    reference = pool(x, (None, 2, 2, 0, False), False, monkeypatch, upstream)[1]
    for dx in dxs:
        np.testing.assert_array_equal(dx, reference)


@needs_kernels
@pytest.mark.parametrize("kind", ["nan", "-inf"])
def test_kernel_matches_torch_on_nan_and_infinite_windows(kind, monkeypatch):
    """NaN wins and its last occurrence takes the gradient; a window of -inf only gives it
    to its first tap inside the image, as PyTorch's kernel does."""
    torch = torch_or_skip()
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 8, 6, 6)).astype(np.float32)
    if kind == "nan":
        x[rng.random(x.shape) < 0.15] = np.nan
    else:
        x[:, :, :3, :3] = -np.inf
    x = channels_last(x)
    upstream = rng.standard_normal((2, 8, 3, 3)).astype(np.float32)
    y, dx = pool(x, (None, 3, 2, 1, False), True, monkeypatch, upstream)
    tx = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    ty = torch.nn.functional.max_pool2d(tx, 3, 2, 1)
    ty.backward(torch.tensor(upstream))
    np.testing.assert_array_equal(y, ty.detach().numpy())
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-6, atol=1e-6)


@needs_kernels
def test_kernel_declines_what_it_does_not_take():
    x = np.zeros((2, 3, 6, 6), np.float32)
    geometry = ((3, 3), (2, 2), (1, 1), (3, 3))
    assert max_pool.max_pool2d(x, *geometry) is not None
    assert max_pool.max_pool2d(x.astype(np.float64), *geometry) is None
    assert max_pool.max_pool2d(x[:, :, :, ::-1], *geometry) is None
    assert max_pool.max_pool2d(np.zeros((1, 1, 20, 20), np.float32), (17, 17), (1, 1), (0, 0),
                               (4, 4)) is None
