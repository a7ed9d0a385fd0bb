"""The compiled direct convolution (``accel/kernels/direct_conv.c`` through
``accel/direct_conv.py``) against its references: the loop version, the NumPy im2col path
it replaces, and PyTorch."""

import os
import platform

import numpy as np
import pytest
from helpers import assert_matches_torch, each_tile_set, torch_or_skip

import visiongrad as vg
from visiongrad import functional as F
from visiongrad.accel import direct_conv as direct
from visiongrad.accel import layout, threads
from visiongrad.ops import conv_naive
from visiongrad.ops.window import output_hw, output_size

rng = np.random.default_rng(11)


def cpu_runs_kernel() -> bool:
    """Whether this machine's CPU has what the kernel needs (x86-64 with AVX2 and FMA)."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return False
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = next(line for line in cpuinfo if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return False
    return "avx2" in flags and "fma" in flags


def test_kernel_is_built_and_loaded_where_the_cpu_runs_it():
    """On a CPU that runs the kernel, ``pip install`` must have built it and
    ``accel.native`` loaded it, so the tests below run it rather than skip (unless the
    user turned it off)."""
    if os.environ.get("VISIONGRAD_NATIVE") == "0" or not cpu_runs_kernel():
        assert direct.DIRECT_CONV is None or cpu_runs_kernel()
        return
    assert direct.DIRECT_CONV is not None, "the direct convolution kernel was not built/loaded"
    assert direct.DIRECT_CONV_WEIGHT_GRAD is not None


@pytest.fixture
def kernel():
    if direct.DIRECT_CONV is None:
        pytest.skip("the compiled kernel is not available here (see the test above)")


def test_avx512_tiles_run_where_the_cpu_has_them(kernel):
    with open("/proc/cpuinfo") as cpuinfo:
        flags = next(line for line in cpuinfo if line.startswith("flags")).split()
    assert direct.avx512_tiles() == ("avx512f" in flags)


def float32_pair(shape):
    """Random float32 data and the same values in float64, for a float64 reference."""
    data = rng.standard_normal(shape).astype(np.float32)
    return data, data.astype(np.float64)


def assert_close(ours, reference, what):
    scale = max(1.0, float(np.abs(reference).max()))
    error = float(np.abs(ours - reference).max()) / scale
    assert error < 2e-6, f"{what}: relative error {error:.2e}"


# (N, C, H, W), F, kernel, stride, padding: one input channel, odd channel counts, several
# filter blocks, rectangular kernels and strides, a kernel as large as the input, padding
# wider than the kernel reaches, padding along one axis only
SHAPES = [
    ((2, 1, 9, 11), 16, (3, 3), (1, 1), (1, 1)),
    ((2, 3, 8, 13), 32, (5, 3), (1, 2), (2, 1)),
    ((1, 16, 7, 7), 16, (3, 3), (2, 2), (1, 1)),
    ((3, 17, 5, 14), 48, (1, 1), (1, 1), (0, 0)),
    ((2, 8, 6, 6), 16, (6, 6), (1, 1), (0, 0)),
    ((2, 32, 4, 9), 32, (3, 3), (1, 1), (1, 1)),
    ((2, 4, 15, 15), 16, (7, 7), (2, 2), (3, 3)),
    ((2, 16, 5, 6), 16, (3, 3), (1, 1), (2, 2)),
    ((1, 5, 6, 9), 32, (3, 2), (2, 1), (1, 0)),
    ((1, 5, 9, 6), 16, (2, 3), (1, 2), (0, 2)),
]


def rows(x):
    return np.ascontiguousarray(layout.channels_last(x))


@pytest.mark.parametrize("shape, f, kernel_size, stride, padding", SHAPES)
def test_direct_conv_matches_the_loop_version(kernel, shape, f, kernel_size, stride, padding):
    x32, x64 = float32_pair(shape)
    w32, w64 = float32_pair((f, shape[1], *kernel_size))
    expected = conv_naive.conv2d_naive(x64, w64, None, stride, padding)
    for tiles in each_tile_set():
        out = np.empty(layout.channels_last(expected).shape, dtype=np.float32)
        direct.direct_conv(rows(x32), direct.weight_blocks(w32), stride, padding, out)
        assert_close(layout.as_nchw(out), expected, f"forward ({tiles})")


@pytest.mark.parametrize("shape, f, kernel_size, stride, padding",
                         [case for case in SHAPES if case[1] >= 32] + [
                             ((1, 8, 10, 12), 64, (3, 3), (1, 1), (1, 1))])
def test_fewer_images_than_cores_share_the_filters(kernel, monkeypatch, shape, f, kernel_size,
                                                    stride, padding):
    """With fewer images than parts, ``direct_conv2d`` deals blocks of 16 filters to the
    threads (``kernels/conv_parts.c``), each writing its own output channels of every
    image: the same outputs, to the bit, as one part."""
    if direct.DIRECT_CONV_PARTS is None:
        pytest.skip("the loaded library predates the parted kernels")
    monkeypatch.setattr(threads, "available_cores", lambda: shape[0] + 1)
    monkeypatch.setattr(threads, "C_PARALLEL_MIN_BYTES", 0)
    assert direct.conv_parts(shape[0], f, nbytes=1) == min(shape[0] + 1, f // 16)
    x32, x64 = float32_pair(shape)
    w32, w64 = float32_pair((f, shape[1], *kernel_size))
    expected = conv_naive.conv2d_naive(x64, w64, None, stride, padding)
    out = direct.direct_conv2d(x32, w32, stride, padding, expected.shape[2:])
    assert_close(layout.as_nchw(out), expected, "forward by blocks of filters")
    one_part = np.empty_like(out)
    direct.direct_conv(rows(x32), direct.weight_blocks(w32), stride, padding, one_part)
    np.testing.assert_array_equal(out, one_part)


@pytest.mark.parametrize("shape, f, kernel_size, stride, padding", SHAPES)
def test_direct_weight_grad_matches_the_loop_version(kernel, shape, f, kernel_size, stride,
                                                     padding):
    x32, x64 = float32_pair(shape)
    w64 = rng.standard_normal((f, shape[1], *kernel_size))
    out_shape = conv_naive.conv2d_naive(x64, w64, None, stride, padding).shape
    dy32, dy64 = float32_pair(out_shape)
    _, expected, _ = conv_naive.conv2d_naive_backward(dy64, x64, w64, stride, padding)
    for tiles in each_tile_set():
        dw_blocks = direct.direct_conv_weight_grad(rows(x32), rows(dy32), kernel_size, stride,
                                                   padding)
        assert_close(direct.weight_from_blocks(dw_blocks), expected,
                     f"weight gradient ({tiles})")


def test_every_tile_width_and_stripe_height(kernel):
    """Output widths 1-40 cover every split into tiles of 1-6 pixels (1-12 for the AVX-512
    tiles), and heights up to 9 rows of 1-16 pixels cover partial and whole stripes of the
    weight gradient."""
    w32, w64 = float32_pair((16, 5, 3, 3))
    for width in range(1, 41):
        height = 1 + width % 9
        x32, x64 = float32_pair((2, 5, height, width))
        y = conv_naive.conv2d_naive(x64, w64, None, (1, 1), (1, 1))
        dy32, dy64 = float32_pair(y.shape)
        _, dw, _ = conv_naive.conv2d_naive_backward(dy64, x64, w64, (1, 1), (1, 1))
        for tiles in each_tile_set():
            out = np.empty((2, height, width, 16), dtype=np.float32)
            direct.direct_conv(rows(x32), direct.weight_blocks(w32), (1, 1), (1, 1), out)
            assert_close(layout.as_nchw(out), y, f"forward ({tiles}) at width {width}")
            dw_blocks = direct.direct_conv_weight_grad(rows(x32), rows(dy32), (3, 3), (1, 1),
                                                       (1, 1))
            assert_close(direct.weight_from_blocks(dw_blocks), dw,
                         f"weight gradient ({tiles}) at width {width}")


def test_the_avx2_and_avx512_tiles_agree_to_the_bit(kernel):
    """Both tile sets take each output's terms in the same order, one FMA each, whether a
    tile holds one or two blocks of 16 filters (16, 48 and 64 filters below)."""
    if list(each_tile_set()) != ["avx2", "avx512"]:
        pytest.skip("this CPU has no AVX-512F")
    cases = [((3, 5, 9, 23), 48, (3, 3), (1, 1), (1, 1)),
             ((2, 16, 12, 12), 64, (3, 3), (2, 2), (1, 1)),
             ((2, 1, 28, 28), 16, (5, 5), (1, 1), (2, 2))]
    for shape, f, kernel_size, stride, padding in cases:
        x = rows(rng.standard_normal(shape).astype(np.float32))
        w = direct.weight_blocks(rng.standard_normal((f, shape[1], *kernel_size))
                                 .astype(np.float32))
        out_hw = direct.kernel_output_hw(shape[2:], kernel_size, stride, padding)
        dy = rng.standard_normal((shape[0], *out_hw, f)).astype(np.float32)
        results = []
        for _ in each_tile_set():
            out = np.empty((shape[0], *out_hw, f), dtype=np.float32)
            direct.direct_conv(x, w, stride, padding, out)
            results.append((out, direct.direct_conv_weight_grad(x, dy, kernel_size,
                                                                stride, padding)))
        for avx2_result, avx512_result in zip(*results, strict=True):
            np.testing.assert_array_equal(avx512_result, avx2_result)


@pytest.mark.parametrize("channels, stride", [(16, 1), (32, 1), (64, 1), (16, 2), (32, 2)])
def test_row_tiles_of_every_width_match_the_loops_and_the_avx2_tiles(kernel, channels, stride):
    """Rows of at least 12 outputs whose windows start 16, 32 or 64 floats apart (stride x
    channels) take the AVX-512 row tiles (``stripe_row_tiles512``): every width from 12
    to 40 (each split into tiles of up to 12), one, two and three blocks of 16 filters,
    against the loop version and, to the bit, against the AVX2 tiles."""
    for width in range(12, 41):
        filters = 16 * (1 + width % 3)
        out_width = width
        in_width = (out_width - 1) * stride + 3 - 2
        x32, x64 = float32_pair((1, channels, 2 + width % 2, in_width))
        w32, w64 = float32_pair((filters, channels, 3, 3))
        expected = conv_naive.conv2d_naive(x64, w64, None, (stride, stride), (1, 1))
        assert expected.shape[3] == out_width
        results = []
        for tiles in each_tile_set():
            out = np.empty(layout.channels_last(expected).shape, dtype=np.float32)
            direct.direct_conv(rows(x32), direct.weight_blocks(w32), (stride, stride), (1, 1),
                               out)
            assert_close(layout.as_nchw(out), expected, f"{tiles} at width {width}")
            results.append(out)
        for other in results[1:]:
            np.testing.assert_array_equal(other, results[0])


def test_weight_blocks_round_trip():
    w = rng.standard_normal((48, 5, 3, 2)).astype(np.float32)
    blocks = direct.weight_blocks(w)
    assert blocks.shape == (3, 3, 2, 5, 16) and blocks.flags.c_contiguous
    assert blocks[2, 1, 0, 4, 7] == w[2 * 16 + 7, 4, 1, 0]
    np.testing.assert_array_equal(direct.weight_from_blocks(blocks), w)


def without_kernel(monkeypatch):
    monkeypatch.setattr(direct, "DIRECT_CONV", None)


# ResNet- and VGG-like layers in float32, through conv2d and its backward pass
LAYERS = [
    ((4, 16, 8, 8), 16, 3, 1, 1),
    ((4, 16, 8, 8), 32, 3, 2, 1),
    ((4, 16, 8, 8), 32, 1, 2, 0),
    ((3, 32, 7, 7), 64, 3, 1, 1),
    ((5, 1, 12, 12), 32, 5, 1, 2),
    ((2, 3, 9, 9), 16, 3, 1, 1),
]


def run_conv2d(x, w, b, stride, padding, dy):
    xt, wt, bt = (vg.tensor(a.copy(), requires_grad=True) for a in (x, w, b))
    y = F.conv2d(xt, wt, bt, stride, padding)
    y.backward(dy)
    return y.data, xt.grad, wt.grad, bt.grad


@pytest.mark.parametrize("shape, f, k, stride, padding", LAYERS)
def test_conv2d_with_and_without_the_kernel_agree(kernel, monkeypatch, shape, f, k, stride,
                                                  padding):
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((f, shape[1], k, k)).astype(np.float32)
    b = rng.standard_normal(f).astype(np.float32)
    y_shape = (shape[0], f, *(output_size(s, k, stride, padding) for s in shape[2:]))
    dy = rng.standard_normal(y_shape).astype(np.float32)
    with_kernel = run_conv2d(x, w, b, stride, padding, dy)
    without_kernel(monkeypatch)
    reference = run_conv2d(x, w, b, stride, padding, dy)
    for name, ours, theirs in zip(("y", "dx", "dw", "db"), with_kernel, reference, strict=True):
        assert ours.dtype == np.float32
        assert_close(ours, theirs, name)


@pytest.mark.parametrize("shape, f, k, stride, padding", LAYERS)
def test_conv2d_through_the_kernel_matches_torch(kernel, shape, f, k, stride, padding):
    torch = torch_or_skip()
    inputs = [rng.standard_normal(shape), rng.standard_normal((f, shape[1], k, k)),
              rng.standard_normal(f)]
    assert_matches_torch(
        lambda x, w, b: F.conv2d(x, w, b, stride, padding),
        lambda x, w, b: torch.nn.functional.conv2d(x, w, b, stride, padding), inputs,
        dtype=np.float32)


@pytest.mark.parametrize("parts", [2, 3, 5, 7, 64])
def test_parts_of_the_batch_give_the_same_results(kernel, parts):
    """The stripe kernels cut the batch into ranges of images, one per thread
    (``kernels/conv_parts.c``): each output is the same sum as in one part (to the bit),
    and the weight gradient is the parts' sums added in order (float32 rounding of one
    part's); more parts than images leave none out."""
    if direct.DIRECT_CONV_PARTS is None:
        pytest.skip("the loaded library predates the parted kernels")
    x32, x64 = float32_pair((5, 16, 9, 7))
    w32, w64 = float32_pair((32, 16, 3, 3))
    expected = conv_naive.conv2d_naive(x64, w64, None, (1, 1), (1, 1))
    dy32, dy64 = float32_pair(expected.shape)
    _, expected_dw, _ = conv_naive.conv2d_naive_backward(dy64, x64, w64, (1, 1), (1, 1))
    w_blocks = direct.weight_blocks(w32)
    one, parted = (np.empty(layout.channels_last(expected).shape, np.float32) for _ in "ab")
    direct.direct_conv(rows(x32), w_blocks, (1, 1), (1, 1), one)
    direct.direct_conv(rows(x32), w_blocks, (1, 1), (1, 1), parted, parts=parts)
    np.testing.assert_array_equal(parted, one)
    dw_one = direct.direct_conv_weight_grad(rows(x32), rows(dy32), (3, 3), (1, 1), (1, 1))
    dw_parts = direct.direct_conv_weight_grad(rows(x32), rows(dy32), (3, 3), (1, 1), (1, 1),
                                              parts=parts)
    assert_close(direct.weight_from_blocks(dw_parts), expected_dw, f"{parts} parts")
    assert_close(dw_parts, dw_one, f"{parts} parts against one")


def test_parts_of_one_example_sum_the_weight_gradient_alike(kernel, monkeypatch):
    """Through conv2d on as many cores as images: each part of the batch gives its own
    partial weight gradient, and their sum is the same gradient as one part's."""
    x = rng.standard_normal((5, 16, 6, 6)).astype(np.float32)
    w = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    b = np.zeros(16, dtype=np.float32)
    dy = rng.standard_normal((5, 16, 6, 6)).astype(np.float32)
    monkeypatch.setattr(threads, "available_cores", lambda: 1)
    whole = run_conv2d(x, w, b, 1, 1, dy)
    monkeypatch.setattr(threads, "available_cores", lambda: 5)
    monkeypatch.setattr(threads, "C_PARALLEL_MIN_BYTES", 0)
    assert threads.row_parts(5, nbytes=1) == 5
    for ours, theirs in zip(run_conv2d(x, w, b, 1, 1, dy), whole, strict=True):
        assert_close(ours, theirs, "one example per part")


def refuse(*args):
    raise AssertionError("the compiled kernel was called")


def test_float64_and_odd_channel_counts_take_the_numpy_path(kernel, monkeypatch):
    """The kernel is float32 only and computes 16 channels at a time: float64 (gradient
    checks), a layer of 10 channels in and out, and fewer than MIN_OUTPUTS outputs per
    image (4 x 2 here) never reach it."""
    monkeypatch.setattr(direct, "direct_conv", refuse)
    monkeypatch.setattr(direct, "direct_conv_weight_grad", refuse)
    run_conv2d(rng.standard_normal((2, 16, 5, 5)), rng.standard_normal((16, 16, 3, 3)),
               np.zeros(16), 1, 1, rng.standard_normal((2, 16, 5, 5)))
    as32 = np.float32
    run_conv2d(rng.standard_normal((2, 10, 5, 5)).astype(as32),
               rng.standard_normal((10, 10, 3, 3)).astype(as32), np.zeros(10, as32), 1, 1,
               rng.standard_normal((2, 10, 5, 5)).astype(as32))
    run_conv2d(rng.standard_normal((2, 16, 4, 2)).astype(as32),
               rng.standard_normal((16, 16, 3, 3)).astype(as32), np.zeros(16, as32), 1, 1,
               rng.standard_normal((2, 16, 4, 2)).astype(as32))


def test_direct_conv_rejects_what_it_cannot_read(kernel):
    x = np.zeros((1, 4, 4, 3), dtype=np.float32)
    w_blocks = direct.weight_blocks(np.zeros((16, 3, 3, 3), dtype=np.float32))
    out = np.empty((1, 2, 2, 16), dtype=np.float32)
    no_pad = (0, 0)
    with pytest.raises(ValueError, match="x_rows must be C-contiguous float32.*float64"):
        direct.direct_conv(x.astype(np.float64), w_blocks, (1, 1), no_pad, out)
    with pytest.raises(ValueError, match="x_rows must be C-contiguous"):
        direct.direct_conv(x[:, ::-1], w_blocks, (1, 1), no_pad, out)
    wrong_shape = r"need out_rows of shape \(1, 2, 2, 16\).*\(1, 3, 3, 16\)"
    with pytest.raises(ValueError, match=wrong_shape):
        direct.direct_conv(x, w_blocks, (1, 1), no_pad, np.empty((1, 3, 3, 16), np.float32))
    with pytest.raises(ValueError, match=r"x_rows \(1, 4, 4, 5\)"):
        direct.direct_conv(np.zeros((1, 4, 4, 5), np.float32), w_blocks, (1, 1), no_pad, out)
    with pytest.raises(ValueError, match=r"dy_rows of shape \(1, 2, 2, F\).*\(1, 2, 2, 10\)"):
        direct.direct_conv_weight_grad(x, np.zeros((1, 2, 2, 10), dtype=np.float32), (3, 3),
                                       (1, 1), no_pad)
    with pytest.raises(ValueError, match="dy_rows must be C-contiguous float32"):
        direct.direct_conv_weight_grad(x, np.zeros((1, 2, 2, 16)), (3, 3), (1, 1), no_pad)


@pytest.mark.parametrize("stride, padding", [(1, 1), (2, 1), (1, 0)])
def test_conv_transpose2d_through_the_kernel_matches_torch(kernel, stride, padding):
    """A transposed convolution's forward pass is conv2d's input gradient and its weight
    gradient is conv2d's with the roles of x and dy swapped: both reach the kernel with 16
    channels on each side."""
    torch = torch_or_skip()
    inputs = [rng.standard_normal((2, 16, 6, 5)), rng.standard_normal((16, 32, 3, 3)),
              rng.standard_normal(32)]
    assert_matches_torch(
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride, padding),
        lambda x, w, b: torch.nn.functional.conv_transpose2d(x, w, b, stride, padding),
        inputs, dtype=np.float32)


def test_a_weight_gradient_larger_than_l2_takes_im2col(kernel, monkeypatch):
    """Above WEIGHT_GRAD_MAX_BYTES (here 64 x 128 x 3 x 3 floats, 295 KB) the weight
    gradient takes im2col, while the forward pass and dx still take the kernel; all three
    as without the kernel."""
    monkeypatch.setattr(direct, "direct_conv_weight_grad", refuse)
    x = rng.standard_normal((2, 128, 4, 4)).astype(np.float32)
    w = rng.standard_normal((64, 128, 3, 3)).astype(np.float32)
    assert w.nbytes > direct.WEIGHT_GRAD_MAX_BYTES
    b = np.zeros(64, np.float32)
    dy = rng.standard_normal((2, 64, 4, 4)).astype(np.float32)
    calls = []
    original = direct.direct_conv
    monkeypatch.setattr(direct, "direct_conv",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    with_kernel = run_conv2d(x, w, b, 1, 1, dy)
    assert len(calls) >= 2, "the forward pass and dx should take the kernel"
    without_kernel(monkeypatch)
    for ours, theirs in zip(with_kernel, run_conv2d(x, w, b, 1, 1, dy), strict=True):
        assert_close(ours, theirs, "large weight gradient")


def test_the_kernels_geometry_is_the_ops_geometry():
    """``kernel_output_hw`` (accel may not import ops) agrees with ``ops.window.output_hw``
    on every undilated, floor-mode window from 1x1 to 7x7 over small inputs."""
    for size in range(1, 12):
        for k in range(1, min(size, 7) + 1):
            for stride in (1, 2, 3):
                for padding in range(0, k):
                    hw, kernel = (size, size + 1), (k, max(1, k - 1))
                    geometry = ((stride, 1), (padding, 0))
                    assert direct.kernel_output_hw(hw, kernel, *geometry) == \
                        output_hw(hw, kernel, *geometry), (hw, kernel, geometry)
