"""conv2d and conv_transpose2d: gradient checks, PyTorch parity over seeded random
configurations, im2col/col2im and the compiled kernel (where it runs) against the naive
loop references, the channels-last layout, errors."""

import warnings

import numpy as np
import pytest
from helpers import assert_gradcheck, assert_matches_torch, torch_or_skip

import visiongrad as vg
from visiongrad import functional as F
from visiongrad import nn
from visiongrad.accel import layout, workspaces
from visiongrad.ops import conv_naive, im2col
from visiongrad.ops.window import output_hw

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


NAIVE_CASES = [(cfg, workspaces.CHUNK_BYTES) for cfg in ODD_CONVS] + [
    (random_conv_config(100 + s), workspaces.CHUNK_BYTES) for s in SEEDS] + [
    (cfg, 1) for cfg in ODD_CONVS if cfg["x"][0] > 1]


@pytest.mark.parametrize("cfg, block_bytes", NAIVE_CASES)
def test_conv2d_matches_naive(cfg, block_bytes, monkeypatch):
    """Forward and all three gradients against the loop version. The batch runs in blocks
    of CHUNK_BYTES of window matrix; with a 1-byte budget every example is its own block."""
    monkeypatch.setattr(workspaces, "CHUNK_BYTES", block_bytes)
    assert_conv2d_matches_naive(cfg)


def assert_conv2d_matches_naive(cfg, channels_last_input=False):
    """conv2d's output and its three gradients equal the loop version's on random data;
    the input is given in channels-last memory if asked."""
    x, w, b = conv_inputs(cfg)
    args = (cfg["stride"], cfg["padding"])
    x_data = layout.as_nchw(np.ascontiguousarray(x.transpose(0, 2, 3, 1))) \
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


@pytest.mark.parametrize("cfg", [ODD_CONVS[0], ODD_CONVS[1], ODD_CONVS[6], conv_config(
    (2, 1, 9, 8), (1, 8), (3, 3), (1, 1), (1, 1))])
@pytest.mark.parametrize("wanted", ["input", "weight"])
def test_conv2d_one_gradient_alone(cfg, wanted):
    """A frozen weight or an input image that needs no gradient takes other code paths
    than the usual both-at-once backward (the last case: dx of a first layer, C = 1 and
    F = 8 C, by col2im, the attacks' path)."""
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


def test_conv2d_output_is_channels_last_and_either_layout_is_read_alike():
    """Outputs and input gradients are NHWC memory under NCHW axes; an NCHW-contiguous
    input and the same values in channels-last memory give the same results (to rounding:
    BLAS may sum a block's weight gradient in another order for another memory layout)."""
    x = rng.standard_normal((3, 4, 6, 5))
    w = rng.standard_normal((2, 4, 3, 3))
    results = []
    for data in (x, layout.as_nchw(np.ascontiguousarray(x.transpose(0, 2, 3, 1)))):
        xt, wt = vg.tensor(data, requires_grad=True), vg.tensor(w, requires_grad=True)
        y = F.conv2d(xt, wt, padding=1)
        y.backward(np.ones(y.shape))
        assert layout.is_channels_last(y.data) and layout.is_channels_last(xt.grad)
        results.append((y.data, xt.grad, wt.grad))
    for first, second in zip(*results, strict=True):
        np.testing.assert_allclose(first, second, rtol=1e-13, atol=1e-13)


def test_both_im2col_layouts_are_exercised():
    """Short window rows (kw * C < SHORT_WINDOW_ROW) are built offset-major, the others
    row-major; the random and odd configurations above must run both."""
    rows = [cfg["kernel"][1] * cfg["channels"][0]
            for cfg in ODD_CONVS + [random_conv_config(s) for s in SEEDS]]
    assert min(rows) < im2col.SHORT_WINDOW_ROW <= max(rows)


@pytest.mark.parametrize("channels", [1, 3, 8])
def test_im2col_layouts_build_the_same_matrix(channels):
    x = rng.standard_normal((2, channels, 6, 5))
    args = ((3, 2), (2, 1), (1, 1))
    offset_major = im2col.offset_major_im2col(x, *args).T.copy()
    n, c, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ho, wo = output_hw((h, w), (3, 2), (2, 1), (1, 1))
    by_hand = np.array([[padded[i, :, r * 2:r * 2 + 3, s:s + 2].transpose(1, 2, 0).ravel()
                         for r in range(ho) for s in range(wo)] for i in range(n)])
    np.testing.assert_array_equal(offset_major, by_hand.reshape(n * ho * wo, -1))
    np.testing.assert_array_equal(im2col.im2col(x, *args), by_hand.reshape(n * ho * wo, -1))


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


# ----- groups, dilation, "same"/"valid" padding, conv1d; argument errors --------------------------


STEP = 1e-4  # convolution and pooling are (piecewise) linear: no truncation error


def random_options(seed: int, transposed: bool = False) -> dict:
    """Groups, dilation, stride, padding and sizes drawn at random, the input large enough."""
    r = np.random.default_rng(seed)
    groups = int(r.choice([1, 2, 3]))
    c, f = groups * int(r.integers(1, 3)), groups * int(r.integers(1, 3))
    kernel = tuple(int(k) for k in r.integers(1, 4, size=2))
    dilation = tuple(int(d) for d in r.integers(1, 3, size=2))
    stride = tuple(int(s) for s in r.integers(1, 3, size=2))
    padding = tuple(int(p) for p in r.integers(0, 3, size=2))
    if transposed:
        padding = tuple(min(p, d * (k - 1) // 2) for p, d, k in zip(padding, dilation, kernel,
                                                                     strict=True))
    size = tuple(int(r.integers(max(1, d * (k - 1) + 1 - 2 * p), 9))
                 for k, d, p in zip(kernel, dilation, padding, strict=True))
    n = int(r.integers(1, 3))
    w_shape = (c, f // groups, *kernel) if transposed else (f, c // groups, *kernel)
    return {"x": r.standard_normal((n, c, *size)), "w": r.standard_normal(w_shape),
            "b": r.standard_normal(f), "stride": stride, "padding": padding,
            "dilation": dilation, "groups": groups,
            "output_padding": tuple(int(r.integers(0, s)) for s in stride)}


def conv_fn(o):
    return lambda x, w, b: F.conv2d(x, w, b, o["stride"], o["padding"], o["dilation"],
                                    o["groups"])


def transpose_fn(o):
    return lambda x, w, b: F.conv_transpose2d(x, w, b, o["stride"], o["padding"],
                                              o["output_padding"], o["groups"], o["dilation"])


@pytest.mark.parametrize("seed", range(6))
def test_grouped_dilated_conv_gradcheck(seed):
    o = random_options(seed)
    assert_gradcheck(conv_fn(o), [o["x"], o["w"], o["b"]], max_coords=40, h=STEP)
    t = random_options(seed, transposed=True)
    assert_gradcheck(transpose_fn(t), [t["x"], t["w"], t["b"]], max_coords=40, h=STEP)


@pytest.mark.parametrize("seed", range(12))
def test_grouped_dilated_conv_matches_naive(seed):
    """Forward and all three gradients against the loop versions, which grew groups and
    dilation; both directions."""
    o = random_options(100 + seed)
    geometry = (o["stride"], o["padding"], o["dilation"], o["groups"])
    for transposed in (False, True):
        if transposed:
            o = random_options(100 + seed, transposed=True)
        x, w, b = (vg.tensor(o[k], requires_grad=True) for k in ("x", "w", "b"))
        y = (transpose_fn(o) if transposed else conv_fn(o))(x, w, b)
        if transposed:
            naive = conv_naive.conv_transpose2d_naive(o["x"], o["w"], o["b"], o["stride"],
                                                      o["padding"], o["output_padding"],
                                                      o["dilation"], o["groups"])
        else:
            naive = conv_naive.conv2d_naive(o["x"], o["w"], o["b"], *geometry)
        np.testing.assert_allclose(y.data, naive, atol=1e-12)
        dy = np.random.default_rng(seed).standard_normal(y.shape)
        y.backward(dy)
        backward = conv_naive.conv_transpose2d_naive_backward if transposed else \
            conv_naive.conv2d_naive_backward
        expected = backward(dy, o["x"], o["w"], o["stride"], o["padding"], o["dilation"],
                            o["groups"])
        for ours, reference in zip((x.grad, w.grad, b.grad), expected, strict=True):
            np.testing.assert_allclose(ours, reference, atol=1e-11)


@pytest.mark.parametrize("seed", range(10))
def test_grouped_dilated_conv_matches_torch(seed):
    torch = torch_or_skip()
    tf = torch.nn.functional
    o = random_options(200 + seed)
    t = random_options(200 + seed, transposed=True)
    for dtype in (np.float32, np.float64):
        assert_matches_torch(conv_fn(o), lambda x, w, b: tf.conv2d(
            x, w, b, o["stride"], o["padding"], o["dilation"], o["groups"]),
            [o["x"], o["w"], o["b"]], dtype=dtype)
        assert_matches_torch(transpose_fn(t), lambda x, w, b: tf.conv_transpose2d(
            x, w, b, t["stride"], t["padding"], t["output_padding"], t["groups"],
            t["dilation"]), [t["x"], t["w"], t["b"]], dtype=dtype)


def test_depthwise_conv_is_one_filter_per_channel():
    """groups = C: channel c of the output is channel c of the input convolved alone."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 4, 6, 5)), rng.standard_normal((4, 1, 3, 3))
    y = F.conv2d(x, w, padding=1, groups=4).data
    for c in range(4):
        alone = F.conv2d(x[:, c:c + 1], w[c:c + 1], padding=1).data
        np.testing.assert_allclose(y[:, c:c + 1], alone, atol=1e-13)


@pytest.mark.parametrize("kernel, dilation", [((3, 3), (1, 1)), ((2, 4), (1, 1)),
                                              ((3, 2), (2, 3)), ((4, 1), (1, 2))])
def test_padding_same_and_valid(kernel, dilation):
    """"same" keeps H and W (the odd zero at the bottom/right, as PyTorch); gradcheck; parity."""
    rng = np.random.default_rng(1)
    x, w, b = (rng.standard_normal(s) for s in ((2, 3, 7, 6), (4, 3, *kernel), (4,)))
    same = lambda x, w, b: F.conv2d(x, w, b, padding="same", dilation=dilation)  # noqa: E731
    assert same(x, w, b).shape == (2, 4, 7, 6)
    assert_gradcheck(same, [x, w, b], max_coords=40, h=STEP)
    np.testing.assert_array_equal(F.conv2d(x, w, b, padding="valid", dilation=dilation).data,
                                  F.conv2d(x, w, b, dilation=dilation).data)
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():  # torch warns that an even kernel needs a padded copy
        warnings.simplefilter("ignore", UserWarning)
        assert_matches_torch(same, lambda x, w, b: torch.nn.functional.conv2d(
            x, w, b, padding="same", dilation=dilation), [x, w, b], dtype=np.float64)


@pytest.mark.parametrize("seed", range(6))
def test_conv1d_gradcheck_and_torch(seed):
    r = np.random.default_rng(300 + seed)
    groups = int(r.choice([1, 2]))
    c, f, k = 2 * groups, 3 * groups, int(r.integers(1, 4))
    stride, dilation = int(r.integers(1, 3)), int(r.integers(1, 3))
    padding = "same" if seed % 3 == 0 else int(r.integers(0, 3))
    stride = 1 if padding == "same" else stride
    x, w, b = r.standard_normal((2, c, 9)), r.standard_normal((f, c // groups, k)), \
        r.standard_normal(f)
    fn = lambda x, w, b: F.conv1d(x, w, b, stride, padding, dilation, groups)  # noqa: E731
    assert_gradcheck(fn, [x, w, b], max_coords=40, h=STEP)
    layer = nn.Conv1d(c, f, k, stride, padding, dilation, groups)
    assert layer.weight.shape == (f, c // groups, k)
    torch = pytest.importorskip("torch")
    assert_matches_torch(fn, lambda x, w, b: torch.nn.functional.conv1d(
        x, w, b, stride, padding, dilation, groups), [x, w, b], dtype=np.float64)


def test_nn_conv_layers_take_groups_and_dilation_like_torch():
    torch = torch_or_skip()
    ours = nn.Conv2d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2).to(np.float64)
    theirs = torch.nn.Conv2d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2).double()
    ours_t = nn.ConvTranspose2d(4, 6, 3, 2, 1, 1, groups=2, dilation=2).to(np.float64)
    theirs_t = torch.nn.ConvTranspose2d(4, 6, 3, 2, 1, 1, groups=2, dilation=2).double()
    x = np.random.default_rng(2).standard_normal((2, 4, 9, 8))
    for a, b in ((ours, theirs), (ours_t, theirs_t)):
        assert a.weight.shape == tuple(b.weight.shape)
        a.load_state_dict({k: v.detach().numpy() for k, v in b.state_dict().items()})
        np.testing.assert_allclose(a(vg.tensor(x)).data, b(torch.tensor(x)).detach().numpy(),
                                   atol=1e-12)


# ----- issue 14: arguments ---------------------------------------------------------------


def test_conv2d_on_a_batch_of_zero_returns_an_empty_result_with_gradients():
    w = vg.tensor(np.ones((4, 3, 3, 3)), requires_grad=True)
    b = vg.tensor(np.ones(4), requires_grad=True)
    x = vg.tensor(np.ones((0, 3, 8, 8)), requires_grad=True)
    y = F.conv2d(x, w, b, stride=2, padding=1)
    assert y.shape == (0, 4, 4, 4)
    y.sum().backward()
    assert x.grad.shape == (0, 3, 8, 8)
    np.testing.assert_array_equal(w.grad, 0)
    np.testing.assert_array_equal(b.grad, 0)
    assert F.conv_transpose2d(np.ones((0, 3, 4, 4)), np.ones((3, 2, 3, 3))).shape == (0, 2, 6, 6)


def test_stride_and_padding_arguments_are_checked_by_type():
    x, w = np.ones((1, 2, 6, 6)), np.ones((3, 2, 3, 3))
    assert F.conv2d(x, w, stride=np.int64(2)).shape == (1, 3, 2, 2)
    assert F.conv2d(x, w, stride=(np.int32(2), 1)).shape == (1, 3, 2, 4)
    with pytest.raises(TypeError, match=r"stride must be an int or a pair of ints.*1\.5"):
        F.conv2d(x, w, stride=1.5)
    with pytest.raises(TypeError, match="stride"):
        F.max_pool2d(x, 2, stride=1.5)
    with pytest.raises(ValueError, match=r"padding must be an int, a pair of ints, 'same' or "
                                         r"'valid', got 'ab'"):
        F.conv2d(x, w, padding="ab")
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        F.conv2d(x, w, stride=2, padding="same")
    with pytest.raises(ValueError, match="groups=4 must be positive and divide"):
        F.conv2d(x, np.ones((4, 1, 3, 3)), groups=4)
    with pytest.raises(ValueError, match="dilation must be positive"):
        F.conv2d(x, w, dilation=0)


def test_boolean_and_integer_convolution_is_refused_as_in_torch():
    with pytest.raises(TypeError, match="conv2d: input must be floating point, got dtype bool"):
        F.conv2d(np.ones((1, 2, 4, 4), dtype=bool), np.ones((1, 2, 3, 3), dtype=bool))
    with pytest.raises(TypeError, match="conv_transpose2d: input must be floating point"):
        F.conv_transpose2d(np.ones((1, 2, 4, 4), dtype=np.int64), np.ones((2, 1, 3, 3), int))


def test_layers_refuse_a_kernel_of_zero_naming_it():
    with pytest.raises(ValueError, match=r"Conv2d: kernel_size must be positive, got \(0, 0\)"):
        nn.Conv2d(1, 8, 0)
    with pytest.raises(ValueError, match="Conv2d: stride must be positive"):
        nn.Conv2d(1, 8, 3, stride=(1, 0))
    with pytest.raises(ValueError, match=r"groups=3 must divide in_channels \(4\)"):
        nn.Conv2d(4, 6, 3, groups=3)
    with pytest.raises(ValueError, match="MaxPool2d: kernel_size must be positive"):
        nn.MaxPool2d(0)


def test_norm_and_linear_argument_errors():
    with pytest.raises(ValueError, match=r"batch_norm: input of shape \(5,\) needs axes"):
        F.batch_norm(np.ones(5), None, None, training=True)
    with pytest.raises(TypeError, match="batch_norm: input must be floating point, got dtype "
                                        "int64"):
        F.batch_norm(np.ones((4, 3), dtype=np.int64), None, None, training=True)
    with pytest.raises(ValueError, match="batch_norm: eps must be non-negative, got -1"):
        F.batch_norm(np.ones((4, 3)), None, None, training=True, eps=-1)
    assert np.isfinite(F.batch_norm(np.arange(12.0).reshape(4, 3), None, None, training=True,
                                    eps=0).data).all()  # eps = 0 allowed, as in PyTorch
    with pytest.raises(ValueError, match=r"linear: weight must be 2-D \(out_features, "
                                         r"in_features\), got shape \(3,\)"):
        F.linear(np.ones((2, 3)), np.ones(3))
    with pytest.raises(ValueError, match="instance_norm: expected more than 1 spatial element"):
        F.instance_norm(np.ones((2, 3, 1)))
