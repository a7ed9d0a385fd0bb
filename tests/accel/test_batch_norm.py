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
        monkeypatch.setattr(threads, "C_PARALLEL_MIN_BYTES", 0)
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


@needs_kernels
@pytest.mark.parametrize("rows", [0, 1, 2, 3, 97, 4099])
@pytest.mark.parametrize("parts", [2, 3, 7, 64])
@pytest.mark.parametrize("slope", [0.0, 0.25])
def test_parts_on_the_c_threads_give_the_one_part_results(rows, parts, slope):
    """kernels/parallel.c: the rows cut into parts (more parts than rows or than cores,
    helpers made on demand) give the one-part values: the affine passes to the bit, the
    sums to float32 rounding (each part sums its own blocks of rows in float); every row is
    covered once. The gate and the rectifier with a ReLU's slope (0) and a leaky one's."""
    rng = np.random.default_rng(rows)
    x = (rng.standard_normal((rows, 24)) + 3).astype(np.float32)
    y = rng.standard_normal((rows, 24)).astype(np.float32)
    shift, scale = (rng.standard_normal(24).astype(np.float32) for _ in range(2))
    results = []
    for count in (1, parts):
        sums = np.zeros((count, 24))
        dots = np.zeros((count, 24))
        batch_norm.CHANNEL_SUMS(x.ctypes.data, shift.ctypes.data, y.ctypes.data, None,
                                scale.ctypes.data, shift.ctypes.data, slope, rows, 24,
                                sums.ctypes.data, dots.ctypes.data, count)
        affine, rectified = np.full_like(x, np.nan), np.full_like(x, np.nan)
        batch_norm.CHANNEL_AFFINE(x.ctypes.data, shift.ctypes.data, scale.ctypes.data,
                                  y.ctypes.data, scale.ctypes.data, scale.ctypes.data,
                                  shift.ctypes.data, slope, shift.ctypes.data, rows, 24,
                                  affine.ctypes.data, count)
        batch_norm.CHANNEL_AFFINE_RELU(x.ctypes.data, shift.ctypes.data, scale.ctypes.data,
                                       shift.ctypes.data, y.ctypes.data, slope, rows, 24,
                                       rectified.ctypes.data, count)
        results.append((sums[0], dots[0], affine, rectified))
    (sums, dots, affine, rectified), (p_sums, p_dots, p_affine, p_rectified) = results
    np.testing.assert_allclose(p_sums, sums, rtol=1e-6, atol=1e-3)
    np.testing.assert_allclose(p_dots, dots, rtol=1e-6, atol=1e-3)
    assert not np.isnan(p_affine).any() and np.array_equal(p_affine, affine)
    assert np.array_equal(p_rectified, rectified)
    # the gate (no y shift): in full where the unit was on, times the slope elsewhere
    weights = np.where(y * scale + shift > 0, 1, slope)
    np.testing.assert_allclose(sums, ((x - shift) * weights).sum(0, dtype=np.float64),
                               rtol=1e-5, atol=1e-3)
    z = (x - shift) * scale + shift + y
    np.testing.assert_allclose(rectified, np.where(z > 0, z, slope * z), rtol=1e-6, atol=1e-6)


@needs_kernels
def test_c_threads_from_many_python_threads_and_after_fork():
    """Calls from several Python threads at once (one gets the helpers, the others run
    their parts in turn) and from a forked child (its own helpers) give the same sums."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    x = np.random.default_rng(0).standard_normal((20_000, 16)).astype(np.float32)

    def sums(_=None):
        out = np.zeros((2, 16))
        batch_norm.CHANNEL_SUMS(x.ctypes.data, None, None, None, None, None, 0.0, len(x),
                                16, out.ctypes.data, None, 2)
        return out[0]

    expected = sums()
    with ThreadPoolExecutor(4) as pool:
        for got in pool.map(sums, range(64)):
            assert np.array_equal(got, expected)
    if not hasattr(os, "fork"):
        return
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its sums through its own helper threads, then exit
        ok = all(np.array_equal(sums(), expected) for _ in range(20))
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    assert os.read(read, 1) == b"1"
    os.waitpid(child, 0)
