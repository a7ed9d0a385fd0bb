"""Convolution, pooling, unpooling and upsampling: gradient checks, PyTorch parity over
seeded random configurations, fast versions against the naive loop references, errors."""

import numpy as np
import pytest
from helpers import assert_gradcheck, assert_matches_torch, torch_or_skip

import visiongrad as vg
from visiongrad import functional as F
from visiongrad.ops import conv, conv_naive

rng = np.random.default_rng(7)


def random_conv_config(seed: int, transposed: bool = False) -> dict:
    """A small convolution problem: shapes, kernel, stride and padding drawn at random,
    with the input always at least as large as the kernel once padded."""
    r = np.random.default_rng(seed)
    kernel = tuple(int(k) for k in r.integers(1, 5, size=2))
    stride = tuple(int(s) for s in r.integers(1, 4, size=2))
    padding = tuple(int(p) for p in r.integers(0, 3, size=2))
    if transposed:  # keep the output positive: (H - 1) s - 2 p + k > 0
        padding = tuple(min(p, (k - 1) // 2) for p, k in zip(padding, kernel, strict=True))
    size = tuple(int(r.integers(max(1, k - 2 * p), k + 7)) for k, p in zip(kernel, padding,
                                                                          strict=True))
    n, f = (int(v) for v in r.integers(1, 4, size=2))
    c = int(r.choice([1, 2, 3, 16]))
    return {"x": (n, c, *size), "channels": (c, f), "kernel": kernel, "stride": stride,
            "padding": padding,
            "output_padding": tuple(int(r.integers(0, s)) for s in stride)}


def random_pool_config(seed: int) -> dict:
    r = np.random.default_rng(seed)
    kernel = tuple(int(k) for k in r.integers(1, 5, size=2))
    stride = tuple(int(s) for s in r.integers(1, 4, size=2))
    padding = tuple(int(r.integers(0, k // 2 + 1)) for k in kernel)
    size = tuple(int(r.integers(max(1, k - 2 * p), k + 7)) for k, p in zip(kernel, padding,
                                                                          strict=True))
    n, c = (int(v) for v in r.integers(1, 4, size=2))
    return {"x": (n, c, *size), "kernel": kernel, "stride": stride, "padding": padding}


SEEDS = range(10)


def conv_config(x, channels, kernel, stride, padding) -> dict:
    return {"x": x, "channels": channels, "kernel": kernel, "stride": stride,
            "padding": padding}


# hand-picked odd shapes on top of the random ones: batch of 1, non-square kernel, stride 2
# with padding on sizes it does not divide, 1x1 kernels, kernel as large as the input
ODD_CONVS = [
    conv_config((1, 3, 7, 6), (3, 2), (3, 2), (1, 1), (1, 0)),
    conv_config((2, 2, 7, 9), (2, 3), (3, 3), (2, 2), (1, 1)),
    conv_config((2, 3, 5, 5), (3, 4), (1, 1), (1, 1), (0, 0)),
    conv_config((2, 3, 5, 6), (3, 2), (1, 1), (2, 2), (1, 0)),
    conv_config((1, 2, 4, 4), (2, 2), (4, 4), (1, 1), (0, 0)),
    conv_config((2, 1, 6, 5), (1, 2), (2, 3), (3, 2), (2, 1)),
    conv_config((2, 16, 6, 5), (16, 3), (3, 3), (1, 1), (1, 1)),
    conv_config((1, 15, 7, 7), (15, 2), (3, 3), (2, 2), (1, 1)),
]


def conv_inputs(cfg, transposed=False):
    c, f = cfg["channels"]
    w_shape = (c, f, *cfg["kernel"]) if transposed else (f, c, *cfg["kernel"])
    return [rng.standard_normal(cfg["x"]), rng.standard_normal(w_shape),
            rng.standard_normal(f)]


def conv2d_fn(cfg):
    return lambda x, w, b=None: F.conv2d(x, w, b, cfg["stride"], cfg["padding"])


def conv_transpose2d_fn(cfg):
    return lambda x, w, b=None: F.conv_transpose2d(x, w, b, cfg["stride"], cfg["padding"],
                                                   cfg["output_padding"])


# ----- conv2d ------------------------------------------------------------------------------


# Convolution is linear in each input, so a centred difference has no truncation error
# and a step of 1e-4 only lowers the round-off (which, with 16 channels summed, reaches
# 1e-6 relative on the smallest gradients at the default 1e-6 step).
LINEAR_STEP = 1e-4


@pytest.mark.parametrize("cfg", ODD_CONVS + [random_conv_config(s) for s in range(4)])
def test_conv2d_gradcheck(cfg):
    x, w, b = conv_inputs(cfg)
    assert_gradcheck(conv2d_fn(cfg), [x, w, b], max_coords=60, h=LINEAR_STEP)
    assert_gradcheck(conv2d_fn(cfg), [x, w], max_coords=30, h=LINEAR_STEP)


@pytest.mark.parametrize("seed", SEEDS)
def test_conv2d_matches_torch(seed):
    torch = torch_or_skip()
    cfg = random_conv_config(seed)
    inputs = conv_inputs(cfg)
    for dtype in (np.float32, np.float64):
        assert_matches_torch(conv2d_fn(cfg), lambda x, w, b: torch.nn.functional.conv2d(
            x, w, b, cfg["stride"], cfg["padding"]), inputs, dtype=dtype)


NAIVE_CASES = [(cfg, conv.CHUNK_BYTES) for cfg in ODD_CONVS] + [
    (random_conv_config(100 + s), conv.CHUNK_BYTES) for s in SEEDS] + [
    (cfg, 1) for cfg in ODD_CONVS if cfg["x"][0] > 1]


@pytest.mark.parametrize("cfg, block_bytes", NAIVE_CASES)
def test_conv2d_matches_naive(cfg, block_bytes, monkeypatch):
    """Forward and all three gradients against the loop version. The batch runs in blocks
    of CHUNK_BYTES of window matrix; with a 1-byte budget every example is its own block."""
    monkeypatch.setattr(conv, "CHUNK_BYTES", block_bytes)
    assert_conv2d_matches_naive(cfg)


def assert_conv2d_matches_naive(cfg, channels_last_input=False):
    """conv2d's output and its three gradients equal the loop version's on random data;
    the input is given in channels-last memory if asked."""
    x, w, b = conv_inputs(cfg)
    args = (cfg["stride"], cfg["padding"])
    x_data = conv.as_nchw(np.ascontiguousarray(x.transpose(0, 2, 3, 1))) \
        if channels_last_input else x
    xt, wt, bt = (vg.tensor(a, requires_grad=True) for a in (x_data, w, b))
    y = F.conv2d(xt, wt, bt, *args)
    np.testing.assert_allclose(y.data, conv_naive.conv2d_naive(x, w, b, *args), atol=1e-12)
    dy = rng.standard_normal(y.shape)
    y.backward(dy)
    for ours, naive in zip((xt.grad, wt.grad, bt.grad),
                           conv_naive.conv2d_naive_backward(dy, x, w, *args), strict=True):
        np.testing.assert_allclose(ours, naive, atol=1e-11)


UNPADDED_CONVS = [cfg for cfg in ODD_CONVS if cfg["padding"] == (0, 0)] + [
    conv_config((3, 16, 8, 8), (16, 32), (1, 1), (2, 2), (0, 0)),
    conv_config((2, 5, 7, 6), (5, 3), (3, 2), (1, 2), (0, 0))]


@pytest.mark.parametrize("cfg", UNPADDED_CONVS)
def test_unpadded_conv2d_reads_channels_last_input_in_place(cfg):
    """Without padding, im2col takes the windows of a channels-last input from the input
    itself (a 1x1 shortcut convolution): forward and gradients as the loop version."""
    assert_conv2d_matches_naive(cfg, channels_last_input=True)


@pytest.mark.parametrize("cfg", [ODD_CONVS[0], ODD_CONVS[1], ODD_CONVS[6]])
@pytest.mark.parametrize("wanted", ["input", "weight"])
def test_conv2d_one_gradient_alone(cfg, wanted):
    """A frozen weight or an input image that needs no gradient takes other code paths
    than the usual both-at-once backward."""
    x, w, b = conv_inputs(cfg)
    args = (cfg["stride"], cfg["padding"])
    xt = vg.tensor(x, requires_grad=wanted == "input")
    wt = vg.tensor(w, requires_grad=wanted == "weight")
    y = F.conv2d(xt, wt, b, *args)
    dy = rng.standard_normal(y.shape)
    y.backward(dy)
    dx, dw, _ = conv_naive.conv2d_naive_backward(dy, x, w, *args)
    ours, reference, unused = (xt, dx, wt) if wanted == "input" else (wt, dw, xt)
    np.testing.assert_allclose(ours.grad, reference, atol=1e-11)
    assert unused.grad is None


def test_one_byte_blocks_are_one_example_each(monkeypatch):
    monkeypatch.setattr(conv, "CHUNK_BYTES", 1)
    assert conv.batch_chunks(3, 100) == [slice(0, 1), slice(1, 2), slice(2, 3)]


@pytest.mark.parametrize("cores", [1, 2, 3])
@pytest.mark.parametrize("n, per_example", [(128, 451_584), (256, 12_544), (5, 1 << 30),
                                             (1, 100), (7, 1)])
def test_batch_chunks_are_equal_and_a_multiple_of_the_cores(monkeypatch, cores, n,
                                                            per_example):
    """The blocks tile the batch in order, differ in size by at most one example, stay
    within CHUNK_BYTES (when one example fits), and come in a multiple of the core count
    (unless there are fewer examples than that)."""
    monkeypatch.setattr(conv, "available_cores", lambda: cores)
    chunks = conv.batch_chunks(n, per_example)
    assert chunks[0].start == 0 and chunks[-1].stop == n
    assert all(a.stop == b.start for a, b in zip(chunks, chunks[1:], strict=False))
    sizes = [chunk.stop - chunk.start for chunk in chunks]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1
    assert len(chunks) % cores == 0 or len(chunks) == n
    assert max(sizes) == 1 or max(sizes) * per_example <= conv.CHUNK_BYTES


def test_conv2d_output_is_channels_last_and_either_layout_is_read_alike():
    """Outputs and input gradients are NHWC memory under NCHW axes; an NCHW-contiguous
    input and the same values in channels-last memory give the same results (to rounding:
    BLAS may sum a block's weight gradient in another order for another memory layout)."""
    x = rng.standard_normal((3, 4, 6, 5))
    w = rng.standard_normal((2, 4, 3, 3))
    results = []
    for data in (x, conv.as_nchw(np.ascontiguousarray(x.transpose(0, 2, 3, 1)))):
        xt, wt = vg.tensor(data, requires_grad=True), vg.tensor(w, requires_grad=True)
        y = F.conv2d(xt, wt, padding=1)
        y.backward(np.ones(y.shape))
        assert conv.is_channels_last(y.data) and conv.is_channels_last(xt.grad)
        results.append((y.data, xt.grad, wt.grad))
    for first, second in zip(*results, strict=True):
        np.testing.assert_allclose(first, second, rtol=1e-13, atol=1e-13)


def test_both_im2col_layouts_are_exercised():
    """Short window rows (kw * C < SHORT_WINDOW_ROW) are built offset-major, the others
    row-major; the random and odd configurations above must run both."""
    rows = [cfg["kernel"][1] * cfg["channels"][0]
            for cfg in ODD_CONVS + [random_conv_config(s) for s in SEEDS]]
    assert min(rows) < conv.SHORT_WINDOW_ROW <= max(rows)


@pytest.mark.parametrize("channels", [1, 3, 8])
def test_im2col_layouts_build_the_same_matrix(channels):
    x = rng.standard_normal((2, channels, 6, 5))
    args = ((3, 2), (2, 1), (1, 1))
    offset_major = conv.offset_major_im2col(x, *args).T.copy()
    n, c, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ho, wo = conv.output_size(h, 3, 2, 1), conv.output_size(w, 2, 1, 1)
    by_hand = np.array([[padded[i, :, r * 2:r * 2 + 3, s:s + 2].transpose(1, 2, 0).ravel()
                         for r in range(ho) for s in range(wo)] for i in range(n)])
    np.testing.assert_array_equal(offset_major, by_hand.reshape(n * ho * wo, -1))
    np.testing.assert_array_equal(conv.im2col(x, *args), by_hand.reshape(n * ho * wo, -1))


def test_conv2d_keeps_float32_and_returns_fresh_arrays():
    """The workspace is reused between calls; nothing returned may alias it."""
    x1, x2 = (rng.standard_normal((2, 3, 6, 6)).astype(np.float32) for _ in range(2))
    w = vg.tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    y1 = F.conv2d(x1, w, padding=1)
    first = y1.data.copy()
    F.conv2d(x2, w, padding=1)
    assert y1.data.dtype == np.float32
    np.testing.assert_array_equal(y1.data, first)
    # y1's backward runs after y2's forward reused the workspace: dw must still be y1's
    y1.sum().backward()
    assert w.grad.dtype == np.float32
    np.testing.assert_allclose(w.grad, _conv_weight_grad_by_hand(x1, w.data), rtol=1e-4)


def _conv_weight_grad_by_hand(x, w):
    """dL/dw of L = sum(conv2d(x, w, padding=1)): each w[f, c, i, j] meets the sum of the
    padded x[:, c] over the rows and columns its offset reaches."""
    kh, kw = w.shape[2:]
    padded = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    h, wd = x.shape[2:]
    sums = np.array([[padded[:, :, i:i + h, j:j + wd].sum(axis=(0, 2, 3)) for j in range(kw)]
                     for i in range(kh)])  # (kh, kw, C)
    return np.broadcast_to(sums.transpose(2, 0, 1), w.shape)


# ----- conv_transpose2d ------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_conv_transpose2d_gradcheck(seed):
    cfg = random_conv_config(seed, transposed=True)
    x, w, b = conv_inputs(cfg, transposed=True)
    assert_gradcheck(conv_transpose2d_fn(cfg), [x, w, b], max_coords=60, h=LINEAR_STEP)


@pytest.mark.parametrize("seed", SEEDS)
def test_conv_transpose2d_matches_torch(seed):
    torch = torch_or_skip()
    cfg = random_conv_config(seed, transposed=True)
    inputs = conv_inputs(cfg, transposed=True)
    for dtype in (np.float32, np.float64):
        assert_matches_torch(conv_transpose2d_fn(cfg), lambda x, w, b: (
            torch.nn.functional.conv_transpose2d(x, w, b, cfg["stride"], cfg["padding"],
                                                 cfg["output_padding"])), inputs, dtype=dtype)


@pytest.mark.parametrize("seed", SEEDS)
def test_conv_transpose2d_matches_naive(seed):
    cfg = random_conv_config(200 + seed, transposed=True)
    x, w, b = conv_inputs(cfg, transposed=True)
    xt, wt, bt = (vg.tensor(a, requires_grad=True) for a in (x, w, b))
    y = conv_transpose2d_fn(cfg)(xt, wt, bt)
    naive = conv_naive.conv_transpose2d_naive(x, w, b, cfg["stride"], cfg["padding"],
                                              cfg["output_padding"])
    np.testing.assert_allclose(y.data, naive, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    y.backward(dy)
    expected = conv_naive.conv_transpose2d_naive_backward(dy, x, w, cfg["stride"], cfg["padding"])
    for ours, reference in zip((xt.grad, wt.grad, bt.grad), expected, strict=True):
        np.testing.assert_allclose(ours, reference, atol=1e-11)


def test_conv_transpose2d_is_the_adjoint_of_conv2d():
    """<conv2d(x, w), y> = <x, conv_transpose2d(y, w)> for the same stride and padding."""
    x, w = rng.standard_normal((2, 3, 9, 8)), rng.standard_normal((4, 3, 3, 2))
    y = rng.standard_normal(F.conv2d(x, w, stride=2, padding=1).shape)
    forward = (F.conv2d(x, w, stride=2, padding=1).data * y).sum()
    adjoint = (x * F.conv_transpose2d(y, w, stride=2, padding=1).data).sum()
    assert forward == pytest.approx(adjoint, rel=1e-12)


# ----- pooling ---------------------------------------------------------------------------


def pool_fn(op, cfg):
    return lambda x: op(x, cfg["kernel"], cfg["stride"], cfg["padding"])


POOLS = {"max": (F.max_pool2d, "max_pool2d", conv_naive.max_pool2d_naive,
                 conv_naive.max_pool2d_naive_backward),
         "avg": (F.avg_pool2d, "avg_pool2d", conv_naive.avg_pool2d_naive,
                 conv_naive.avg_pool2d_naive_backward)}
TILING = {"x": (2, 3, 8, 6), "kernel": (2, 2), "stride": (2, 2), "padding": (0, 0)}


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("cfg", [TILING] + [random_pool_config(s) for s in range(4)])
def test_pool_gradcheck(kind, cfg):
    # distinct values at least 1e-3 apart, so no centred difference straddles a tie
    x = rng.permutation(np.prod(cfg["x"])).reshape(cfg["x"]) * 1e-3
    assert_gradcheck(pool_fn(POOLS[kind][0], cfg), [x], max_coords=80)


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("seed", SEEDS)
def test_pool_matches_torch(kind, seed):
    torch = torch_or_skip()
    cfg = TILING if seed == 0 else random_pool_config(seed)
    torch_op = getattr(torch.nn.functional, POOLS[kind][1])
    # rounded values: ties inside windows, where the gradient must go to the first maximum
    x = np.round(rng.standard_normal(cfg["x"]), 1)
    for dtype in (np.float32, np.float64):
        assert_matches_torch(pool_fn(POOLS[kind][0], cfg), pool_fn(torch_op, cfg), [x],
                             dtype=dtype)


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("seed", SEEDS)
def test_pool_matches_naive(kind, seed):
    op, _, naive_forward, naive_backward = POOLS[kind]
    cfg = TILING if seed == 0 else random_pool_config(300 + seed)
    args = (cfg["kernel"], cfg["stride"], cfg["padding"])
    x = np.round(rng.standard_normal(cfg["x"]), 1)
    xt = vg.tensor(x, requires_grad=True)
    y = op(xt, *args)
    expected = naive_forward(x, *args)
    np.testing.assert_allclose(y.data, expected[0] if kind == "max" else expected, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    y.backward(dy)
    np.testing.assert_allclose(xt.grad, naive_backward(dy, x, *args), atol=1e-12)


@pytest.mark.parametrize("kernel", [2, 3])
def test_tiled_max_pool_backward_matches_naive_in_both_memory_layouts(kernel):
    """Windows that tile the input take the reshape path (``tiled_max_grad``); ties are
    common (rounded values, zero windows) and channels-last input is the usual case."""
    x = np.maximum(np.round(rng.standard_normal((2, 3, 2 * kernel, 3 * kernel)), 1), 0)
    args = ((kernel, kernel), (kernel, kernel), (0, 0))
    assert conv.tiles(x.shape, *args)
    dy = rng.standard_normal((2, 3, 2, 3))
    expected = conv_naive.max_pool2d_naive_backward(dy, x, *args)
    for data in (x, conv.as_nchw(np.ascontiguousarray(x.transpose(0, 2, 3, 1)))):
        xt = vg.tensor(data, requires_grad=True)
        F.max_pool2d(xt, kernel).backward(dy)
        np.testing.assert_array_equal(xt.grad, expected)
        assert conv.is_channels_last(xt.grad) == conv.is_channels_last(data)


def test_max_pool_ties_go_to_the_first_maximum():
    x = vg.tensor(np.zeros((1, 1, 2, 4)), requires_grad=True)  # all-zero windows, as after ReLU
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad[0, 0], [[1, 0, 1, 0], [0, 0, 0, 0]])


@pytest.mark.parametrize("seed", range(5))
def test_max_pool_indices_and_unpool_match_torch(seed):
    torch = torch_or_skip()
    cfg = random_pool_config(400 + seed)
    args = (cfg["kernel"], cfg["stride"], cfg["padding"])
    x = np.round(rng.standard_normal(cfg["x"]), 1)
    y, indices = F.max_pool2d(x, *args, return_indices=True)
    y_torch, indices_torch = torch.nn.functional.max_pool2d(torch.tensor(x), *args,
                                                            return_indices=True)
    np.testing.assert_array_equal(indices.data, indices_torch.numpy())
    np.testing.assert_array_equal(y.data, y_torch.numpy())
    for dtype in (np.float32, np.float64):
        assert_matches_torch(
            lambda v: F.max_unpool2d(v, indices, *args, output_size=x.shape),
            lambda v: torch.nn.functional.max_unpool2d(v, indices_torch, *args,
                                                       output_size=x.shape[2:]),
            [y.data], dtype=dtype)


def test_max_unpool_default_output_size_and_gradcheck():
    """Non-overlapping windows: every index distinct, so unpooling is a linear scatter."""
    x = rng.standard_normal((2, 2, 6, 4))
    y, indices = F.max_pool2d(x, 2, return_indices=True)
    assert_gradcheck(lambda v: F.max_unpool2d(v, indices, 2), [y.data])
    restored = F.max_unpool2d(y, indices, 2).data
    assert restored.shape == x.shape
    np.testing.assert_array_equal(restored, np.where(restored != 0, x, 0))
    assert np.count_nonzero(restored) == y.size


# ----- upsampling ------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [2, 3, (1, 2), (3, 1)])
def test_upsample_nearest(scale):
    torch = torch_or_skip()
    x = rng.standard_normal((2, 3, 3, 4))
    assert_gradcheck(lambda v: F.upsample_nearest(v, scale), [x])
    factor = scale if isinstance(scale, tuple) else (scale, scale)
    for dtype in (np.float32, np.float64):
        assert_matches_torch(lambda v: F.upsample_nearest(v, scale),
                             lambda v: torch.nn.functional.interpolate(
                                 v, scale_factor=factor, mode="nearest"), [x], dtype=dtype)


@pytest.mark.parametrize("scale", [2, (2, 3)])
def test_upsample_bed_of_nails(scale):
    sh, sw = scale if isinstance(scale, tuple) else (scale, scale)
    x = rng.standard_normal((2, 3, 3, 4))
    nail = np.zeros((sh, sw))
    nail[0, 0] = 1
    expected = np.stack([np.stack([np.kron(plane, nail) for plane in image]) for image in x])
    np.testing.assert_array_equal(F.upsample_bed_of_nails(x, scale).data, expected)
    assert_gradcheck(lambda v: F.upsample_bed_of_nails(v, scale), [x])


# ----- errors ----------------------------------------------------------------------------


def test_conv_errors():
    x, w = np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3))
    with pytest.raises(ValueError, match=r"input of shape \(2, 2, 5, 5\) has 2 channels but "
                                         r"weight of shape \(4, 3, 3, 3\) expects 3"):
        F.conv2d(np.ones((2, 2, 5, 5)), w)
    with pytest.raises(ValueError, match=r"kernel \(7, 7\) is larger than the padded input "
                                         r"\(5, 5\)"):
        F.conv2d(x, np.ones((4, 3, 7, 7)))
    with pytest.raises(ValueError, match=r"kernel \(8, 8\) is larger than the padded input "
                                         r"\(7, 7\)"):
        F.conv2d(x, np.ones((4, 3, 8, 8)), padding=1)
    with pytest.raises(ValueError, match="stride must be positive"):
        F.conv2d(x, w, stride=-1)
    with pytest.raises(ValueError, match="stride must be positive"):
        F.conv2d(x, w, stride=(1, 0))
    with pytest.raises(ValueError, match="padding must be non-negative"):
        F.conv2d(x, w, padding=-1)
    with pytest.raises(ValueError, match=r"expects input of shape \(N, C, H, W\), got shape "
                                         r"\(3, 5, 5\)"):
        F.conv2d(np.ones((3, 5, 5)), w)
    with pytest.raises(ValueError, match=r"weight of 4 dimensions, got shape \(4, 3, 3\)"):
        F.conv2d(x, np.ones((4, 3, 3)))
    with pytest.raises(ValueError, match=r"bias shape \(3,\)"):
        F.conv2d(x, w, np.ones(3))
    with pytest.raises(TypeError, match="share one dtype"):
        F.conv2d(x.astype(np.float32), w)


def test_conv_transpose_errors():
    x = np.ones((2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"input of shape \(2, 3, 4, 4\) has 3 channels but "
                                         r"weight of shape \(2, 5, 3, 3\) expects 2"):
        F.conv_transpose2d(x, np.ones((2, 5, 3, 3)))
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose2d(x, np.ones((3, 5, 3, 3)), stride=2, output_padding=2)
    with pytest.raises(ValueError, match="stride must be positive"):
        F.conv_transpose2d(x, np.ones((3, 5, 3, 3)), stride=0)
    with pytest.raises(ValueError, match="leaves no output"):
        F.conv_transpose2d(np.ones((1, 3, 1, 1)), np.ones((3, 5, 1, 1)), padding=1)


def test_pool_and_upsample_errors():
    x = np.ones((2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"kernel \(5, 5\) is larger than the padded input"):
        F.max_pool2d(x, 5)
    with pytest.raises(ValueError, match="stride must be positive"):
        F.avg_pool2d(x, 2, stride=0)
    with pytest.raises(ValueError, match="padding must be non-negative"):
        F.max_pool2d(x, 2, padding=-1)
    with pytest.raises(ValueError, match="at most half the kernel"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match=r"expects input of shape \(N, C, H, W\)"):
        F.avg_pool2d(np.ones((4, 4)), 2)
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 16\)"):
        F.max_unpool2d(np.ones((1, 1, 2, 2)), np.full((1, 1, 2, 2), 16), 2)
    with pytest.raises(ValueError, match=r"indices of shape \(1, 1, 2\) do not match"):
        F.max_unpool2d(np.ones((1, 1, 2, 2)), np.zeros((1, 1, 2), dtype=np.int64), 2)
    with pytest.raises(ValueError, match="scale_factor must be a positive integer"):
        F.upsample_nearest(x, 0)
