"""Batch norm's compiled passes (``accel/batch_norm.py``, ``kernels/batch_norm.c``) against
the op's NumPy passes: values, every gradient and the running statistics, training and
evaluation, channels-last and NCHW input, more channels than one sweep of the kernel
holds, parts on two threads, and data far from zero."""

import numpy as np
import pytest

import visiongrad as vg
from visiongrad import accel
from visiongrad import functional as F
from visiongrad.accel import batch_norm, threads

NOT_BUILT = "the compiled kernels are not built here (tests/accel/test_native.py says why)"
needs_kernels = pytest.mark.skipif(batch_norm.CHANNEL_SUMS is None, reason=NOT_BUILT)


def channels_last(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def run(x, gamma, beta, training, upstream, compiled, monkeypatch):
    """y, dx, dgamma, dbeta and the running statistics, by the compiled passes or NumPy's."""
    with monkeypatch.context() as patch:
        if not compiled:
            patch.setattr(accel, "batch_norm_fits", lambda rows: False)
        mean = np.linspace(-1, 1, x.shape[1]).astype(np.float32)
        var = np.linspace(0.5, 2, x.shape[1]).astype(np.float32)
        tensors = [vg.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
        y = F.batch_norm(tensors[0], mean, var, *tensors[1:], training=training, momentum=0.3)
        y.backward(upstream)
    return [y.data, *(t.grad for t in tensors), mean, var]


CASES = {"resnet-like channels-last": ((8, 64, 6, 6), True),
         "NCHW": ((4, 5, 3, 7), False),
         "2-D": ((33, 12), False),
         "more channels than a sweep": ((3, 300, 2, 3), True),
         "one row per example": ((2, 9, 1, 1), True)}


@needs_kernels
@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("parallel", [False, True])
def test_compiled_passes_match_numpy(name, training, parallel, monkeypatch):
    if parallel:
        monkeypatch.setattr(threads, "PARALLEL_MIN_BYTES", 0)
        monkeypatch.setattr(threads, "available_cores", lambda: 2)
    shape, in_channels_last = CASES[name]
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(np.float32)
    if in_channels_last:
        x = channels_last(x)
    gamma, beta = (rng.standard_normal(shape[1]).astype(np.float32) for _ in range(2))
    upstream = rng.standard_normal(shape).astype(np.float32)
    ours = run(x, gamma, beta, training, upstream, True, monkeypatch)
    reference = run(x, gamma, beta, training, upstream, False, monkeypatch)
    for got, expected in zip(ours, reference, strict=True):
        assert got.dtype == expected.dtype == np.float32 and got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-5)
    assert ours[0].strides == reference[0].strides  # y in the reference's memory layout


@needs_kernels
def test_the_op_runs_the_compiled_passes_on_float32(monkeypatch):
    """float32 rows take the kernels; float64 and non-contiguous rows do not."""
    calls = []
    original = batch_norm.CHANNEL_SUMS
    monkeypatch.setattr(batch_norm, "CHANNEL_SUMS", lambda *a: calls.append(1) or original(*a))
    x = channels_last(np.random.default_rng(0).standard_normal((4, 16, 3, 3)))
    F.batch_norm(x.astype(np.float32), None, None, training=True)
    assert calls
    calls.clear()
    F.batch_norm(x, None, None, training=True)
    assert not calls
    assert not accel.batch_norm_fits(np.zeros((6, 4), np.float32)[:, ::2])


@needs_kernels
@pytest.mark.parametrize("offset, scale, batch", [(1000, 0.1, 64), (1e4, 1.0, 64),
                                                  (1e4, 1.0, 512), (3.0, 1.0, 512)])
def test_compiled_statistics_are_accurate_far_from_zero(offset, scale, batch):
    """The shift's distance from the mean is carried as delta, as in the NumPy passes:
    x_hat agrees with a float64 computation at 1e4 standard deviations from zero, and so
    does dx, also where the shift is a sample's mean (8192 rows; in the last case the
    first eighth of the images is offset by 50 standard deviations)."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((batch, 8, 4, 4)) * scale + offset
    if batch > 64:
        assert x.shape[0] * 16 > batch_norm.SHIFT_SAMPLE_ROWS  # a sample, not every row
        x[:batch // 8] += 50 * scale * (offset < 10)
    x = channels_last(x.astype(np.float32))
    upstream = rng.standard_normal(x.shape)
    results = []
    for data in (x, x.astype(np.float64)):
        tensor = vg.tensor(data, requires_grad=True)
        y = F.batch_norm(tensor, None, None, training=True)
        y.backward(upstream.astype(data.dtype))
        results.append((y.data, tensor.grad * scale))
    for ours, exact in zip(*results, strict=True):
        np.testing.assert_allclose(ours, exact, atol=5e-5)
