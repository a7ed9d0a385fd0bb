"""The compiled convolution of small images (``accel/kernels/batched_conv.c`` through
``accel/batched_conv.py``): forward pass, input gradient and weight gradient against the
loop version, for every tile width across the batch, strides, windows wider than the
image, rectangular kernels, parts on two threads, and through conv2d against the NumPy
path; and which cases it takes."""

import numpy as np
import pytest
from helpers import each_tile_set

import visiongrad as vg
from visiongrad import functional as F
from visiongrad.accel import batched_conv, direct_conv, layout, threads
from visiongrad.ops import conv_naive

needs_kernels = pytest.mark.skipif(batched_conv.BATCHED_CONV is None,
                                   reason="the compiled kernels are not built here, or the "
                                          "CPU lacks AVX2 and FMA")

# (N, C, H, W), F, kernel, stride, padding
CASES = [
    ((6, 16, 2, 2), 32, (3, 3), (1, 1), (1, 1)),    # ResNet's last stage: 5 of 9 taps outside
    ((7, 32, 4, 4), 16, (3, 3), (2, 2), (1, 1)),
    ((5, 16, 4, 4), 32, (1, 1), (2, 2), (0, 0)),    # a downsampling shortcut
    ((4, 16, 3, 5), 16, (2, 3), (1, 2), (1, 0)),
    ((13, 16, 2, 3), 16, (5, 5), (1, 1), (2, 2)),   # a window wider than the image
    ((9, 32, 8, 8), 48, (3, 3), (1, 1), (1, 1)),
    ((8, 16, 5, 5), 16, (3, 3), (2, 2), (0, 0)),
    ((14, 128, 8, 8), 256, (3, 3), (1, 1), (1, 1)),  # in chunks of 5, 5 and 4 images
]
LARGE_STRIDED = ((4, 16, 27, 28), 32, (3, 3), (2, 2), (1, 1))
"""A map the kernels take for a strided layer's input gradient only (up to 32x32)."""


def relative_error(ours, reference):
    return float(np.abs(ours - reference).max()) / max(1.0, float(np.abs(reference).max()))


@needs_kernels
@pytest.mark.parametrize("shape, f, kernel, stride, padding", CASES + [LARGE_STRIDED])
@pytest.mark.parametrize("parallel", [False, True])
def test_kernels_match_the_loop_version(shape, f, kernel, stride, padding, parallel,
                                        monkeypatch):
    if parallel:  # parts of 16-channel blocks on kernels/parallel.c's threads
        monkeypatch.setattr(threads, "C_PARALLEL_MIN_BYTES", 0)
        monkeypatch.setattr(threads, "available_cores", lambda: 3)
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal(shape), rng.standard_normal((f, shape[1], *kernel))
    y = conv_naive.conv2d_naive(x, w, None, stride, padding)
    dy = rng.standard_normal(y.shape)
    dx, dw, _ = conv_naive.conv2d_naive_backward(dy, x, w, stride, padding)
    x32, w32, dy32 = (a.astype(np.float32) for a in (x, w, dy))
    results = []
    for tiles in each_tile_set():
        ours = layout.as_nchw(batched_conv.batched_conv2d(x32, w32, stride, padding,
                                                          y.shape[2:]))
        assert relative_error(ours, y) < 2e-6, tiles
        ours_dx = batched_conv.batched_conv2d_input_grad(dy32, w32, x.shape, stride, padding)
        assert layout.is_channels_last(ours_dx) and relative_error(ours_dx, dx) < 2e-6, tiles
        ours_dw = batched_conv.batched_conv2d_weight_grad(x32, dy32, kernel, stride, padding)
        assert ours_dw.flags.c_contiguous and relative_error(ours_dw, dw) < 2e-6, tiles
        results.append((ours, ours_dx, ours_dw))
    for avx2_result, *avx512_result in zip(*results, strict=True):  # same sums, same order
        for result in avx512_result:
            np.testing.assert_array_equal(result, avx2_result)


@needs_kernels
def test_every_tile_width_across_the_batch():
    """Batches of 4-30 images split into tiles of 1-6 images (1-12 by the AVX-512 tiles)."""
    rng = np.random.default_rng(2)
    w = rng.standard_normal((16, 16, 3, 3))
    for n in range(4, 31):
        x = rng.standard_normal((n, 16, 2, 2))
        y = conv_naive.conv2d_naive(x, w, None, (1, 1), (1, 1))
        for tiles in each_tile_set():
            ours = batched_conv.batched_conv2d(x.astype(np.float32), w.astype(np.float32),
                                               (1, 1), (1, 1), (2, 2))
            assert relative_error(layout.as_nchw(ours), y) < 2e-6, (n, tiles)


def run_conv2d(x, w, stride, padding, dy):
    xt, wt = (vg.tensor(a.copy(), requires_grad=True) for a in (x, w))
    y = F.conv2d(xt, wt, None, stride, padding)
    y.backward(dy)
    return y.data, xt.grad, wt.grad


@needs_kernels
@pytest.mark.parametrize("shape, f, kernel, stride, padding", CASES)
def test_conv2d_takes_the_kernels_and_agrees_with_numpy(shape, f, kernel, stride, padding,
                                                        monkeypatch):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((f, shape[1], *kernel)).astype(np.float32)
    dy = rng.standard_normal(conv_naive.conv2d_naive(x[:1], w, None, stride, padding).shape
                             [1:]).astype(np.float32)
    dy = np.broadcast_to(dy, (shape[0], *dy.shape)).copy()
    calls = []
    for name in ("batched_conv2d", "batched_conv2d_input_grad", "batched_conv2d_weight_grad"):
        original = getattr(direct_conv, name)
        monkeypatch.setattr(direct_conv, name, lambda *a, original=original, name=name: (
            calls.append(name), original(*a))[1])
    ours = run_conv2d(x, w, stride, padding, dy)
    assert len(set(calls)) == 3
    monkeypatch.setattr(batched_conv, "BATCHED_CONV", None)
    monkeypatch.setattr(direct_conv, "DIRECT_CONV", None)
    for got, expected in zip(ours, run_conv2d(x, w, stride, padding, dy), strict=True):
        assert relative_error(got, expected) < 1e-5


@needs_kernels
def test_which_cases_it_takes():
    fits = batched_conv.batched_fits
    assert fits(32, 4, 512, (3, 3), np.dtype(np.float32))
    assert not fits(3, 4, 512, (3, 3), np.dtype(np.float32))      # too few images
    assert not fits(32, 16 * 16, 64, (3, 3), np.dtype(np.float32))  # a large map
    assert not fits(32, 4, 24, (3, 3), np.dtype(np.float32))     # channels not in blocks
    assert not fits(32, 4, 64, (3, 3), np.dtype(np.float64))
    assert not fits(32, 4, 64, (9, 9), np.dtype(np.float32))     # too many taps
    dy = np.zeros((128, 32, 14, 14), np.float32)  # the small ResNet's 16 -> 32 layers
    for kernel, padding in (((3, 3), (1, 1)), ((1, 1), (0, 0))):
        assert direct_conv.direct_input_grad_fits(dy, (32, 16, *kernel), (128, 16, 28, 28),
                                                  (2, 2), padding)


@pytest.mark.parametrize("across", [False, True])
@pytest.mark.parametrize("turned", [False, True])
@pytest.mark.parametrize("kernel", [(3, 2), (3, 3), (4, 4), (5, 5), (1, 1)], ids=str)
def test_weight_reordering_matches_numpy(across, turned, kernel):
    """``to_blocks`` (compiled for contiguous float32: 8 x 8 transposes from 8 taps on,
    scalar below; NumPy's copy of the view otherwise) and its inverse ``from_blocks``."""
    rng = np.random.default_rng(4)
    w = rng.standard_normal((32, 48, *kernel)).astype(np.float32)
    view = w.transpose(1, 0, 2, 3) if across else w
    view = view[:, :, ::-1, ::-1] if turned else view
    o, i = view.shape[:2]
    expected = view.reshape(o // 16, 16, i, *kernel).transpose(0, 3, 4, 2, 1)
    for weight in (w, np.asfortranarray(w)):  # the compiled pass, then NumPy's
        blocks = batched_conv.to_blocks(weight, across=across, turned=turned)
        assert blocks.flags.c_contiguous
        np.testing.assert_array_equal(blocks, expected)
    np.testing.assert_array_equal(batched_conv.from_blocks(blocks), view)
    np.testing.assert_array_equal(batched_conv.from_blocks(np.asfortranarray(blocks)), view)
