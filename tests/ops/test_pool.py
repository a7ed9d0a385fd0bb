"""max_pool2d and avg_pool2d: gradient checks, PyTorch parity over seeded random
configurations, the fast versions against the naive loop references in both memory layouts,
ties, return_indices, errors."""


import numpy as np
import pytest
from helpers import assert_gradcheck, assert_matches_torch, torch_or_skip

import visiongrad as vg
from visiongrad import functional as F
from visiongrad import nn
from visiongrad.accel import layout
from visiongrad.ops import conv_naive, pool

rng = np.random.default_rng(7)
SEEDS = range(10)


def random_pool_config(seed: int) -> dict:
    r = np.random.default_rng(seed)
    kernel = tuple(int(k) for k in r.integers(1, 5, size=2))
    stride = tuple(int(s) for s in r.integers(1, 4, size=2))
    padding = tuple(int(r.integers(0, k // 2 + 1)) for k in kernel)
    size = tuple(int(r.integers(max(1, k - 2 * p), k + 7)) for k, p in zip(kernel, padding,
                                                                          strict=True))
    n, c = (int(v) for v in r.integers(1, 4, size=2))
    return {"x": (n, c, *size), "kernel": kernel, "stride": stride, "padding": padding}


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
    assert pool.tiles(x.shape, *args)
    dy = rng.standard_normal((2, 3, 2, 3))
    expected = conv_naive.max_pool2d_naive_backward(dy, x, *args)
    for data in (x, layout.as_nchw(np.ascontiguousarray(x.transpose(0, 2, 3, 1)))):
        xt = vg.tensor(data, requires_grad=True)
        F.max_pool2d(xt, kernel).backward(dy)
        np.testing.assert_array_equal(xt.grad, expected)
        assert layout.is_channels_last(xt.grad) == layout.is_channels_last(data)


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


def test_pool_errors():
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


# ----- ceil_mode, count_include_pad, divisor_override, NaN maxima ---------------------------------


STEP_POOL = 1e-4  # pooling is piecewise linear: no truncation error


def random_pool(seed: int) -> dict:
    r = np.random.default_rng(seed)
    kernel = tuple(int(k) for k in r.integers(1, 5, size=2))
    stride = tuple(int(s) for s in r.integers(1, 4, size=2))
    padding = tuple(int(r.integers(0, k // 2 + 1)) for k in kernel)
    size = tuple(int(r.integers(max(1, k - 2 * p), 10)) for k, p in zip(kernel, padding,
                                                                        strict=True))
    return {"x": r.standard_normal((2, 3, *size)), "kernel": kernel, "stride": stride,
            "padding": padding, "ceil_mode": bool(r.integers(0, 2)) or seed % 2 == 0,
            "count_include_pad": bool(r.integers(0, 2))}


def pool_fns(p):
    args = (p["kernel"], p["stride"], p["padding"])
    return (lambda x: F.max_pool2d(x, *args, ceil_mode=p["ceil_mode"]),
            lambda x: F.avg_pool2d(x, *args, ceil_mode=p["ceil_mode"],
                                   count_include_pad=p["count_include_pad"]))


@pytest.mark.parametrize("seed", range(8))
def test_pool_options_gradcheck(seed):
    p = random_pool(seed)
    for fn in pool_fns(p):
        assert_gradcheck(fn, [p["x"]], max_coords=60, h=STEP_POOL)


@pytest.mark.parametrize("seed", range(16))
def test_pool_options_match_torch(seed):
    torch = torch_or_skip()
    tf = torch.nn.functional
    p = random_pool(400 + seed)
    args = (p["kernel"], p["stride"], p["padding"])
    ours_max, ours_avg = pool_fns(p)
    for dtype in (np.float32, np.float64):
        assert_matches_torch(ours_max, lambda x: tf.max_pool2d(
            x, *args, ceil_mode=p["ceil_mode"]), [p["x"]], dtype=dtype)
        assert_matches_torch(ours_avg, lambda x: tf.avg_pool2d(
            x, *args, ceil_mode=p["ceil_mode"], count_include_pad=p["count_include_pad"]),
            [p["x"]], dtype=dtype)
        assert_matches_torch(lambda x: F.avg_pool2d(x, *args, divisor_override=3),
                             lambda x: tf.avg_pool2d(x, *args, divisor_override=3), [p["x"]],
                             dtype=dtype)
    _, ours = F.max_pool2d(p["x"], *args, ceil_mode=p["ceil_mode"], return_indices=True)
    _, theirs = tf.max_pool2d(torch.tensor(p["x"]), *args, ceil_mode=p["ceil_mode"],
                              return_indices=True)
    np.testing.assert_array_equal(ours.data, theirs.numpy())


def test_avg_pool_count_include_pad_false_divides_by_real_positions():
    x = np.ones((1, 1, 3, 3))
    np.testing.assert_allclose(F.avg_pool2d(x, 3, 1, 1, count_include_pad=False).data, 1.0)
    corner = F.avg_pool2d(x, 3, 1, 1).data[0, 0, 0, 0]
    assert corner == pytest.approx(4 / 9)


def test_ceil_mode_output_size_follows_pytorch_rule():
    """Ho = ceil((H + 2p - k) / s) + 1, less one if the last window starts in the padding."""
    assert F.max_pool2d(np.zeros((1, 1, 5, 5)), 2, ceil_mode=True).shape == (1, 1, 3, 3)
    assert F.max_pool2d(np.zeros((1, 1, 5, 5)), 3, 2, 1, ceil_mode=True).shape == (1, 1, 3, 3)
    assert F.max_pool2d(np.zeros((1, 1, 6, 6)), 3, 2, 1, ceil_mode=True).shape == (1, 1, 4, 4)
    # ceil(5 / 2) + 1 = 4 windows would start at -1, 1, 3, 5: 5 is in the padding, so 3
    assert F.max_pool2d(np.zeros((1, 1, 5, 5)), 2, 2, 1, ceil_mode=True).shape == (1, 1, 3, 3)


@pytest.mark.parametrize("kernel, stride", [(2, 2), (3, 1), (4, 4)])
def test_max_pool_passes_the_gradient_of_a_nan_maximum(kernel, stride):
    """NaN is the maximum of a window holding one, and its gradient goes to the window's
    last NaN, as PyTorch's kernel does (the tiled and the general backward alike)."""
    x = np.random.default_rng(5).standard_normal((1, 2, 8, 8))
    x[0, 0, 1, 1] = x[0, 1, 2, 3] = x[0, 1, 3, 2] = np.nan
    xt = vg.tensor(x, requires_grad=True)
    y = F.max_pool2d(xt, kernel, stride)
    y.sum().backward()
    assert np.isnan(y.data[0, 0]).any() and xt.grad[0, 0, 1, 1] > 0
    torch = pytest.importorskip("torch")
    t = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(t, kernel, stride).sum().backward()
    np.testing.assert_array_equal(xt.grad, t.grad.numpy())


def test_nn_pool_layers_take_the_options():
    x = vg.tensor(np.random.default_rng(6).standard_normal((1, 2, 7, 7)))
    assert nn.MaxPool2d(2, ceil_mode=True)(x).shape == (1, 2, 4, 4)
    layer = nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)
    np.testing.assert_allclose(layer(x).data, F.avg_pool2d(x, 3, 2, 1, True, False).data)
    assert "ceil_mode=True" in repr(nn.MaxPool2d(2, ceil_mode=True))
    y = nn.AdaptiveAvgPool2d((2, 3))(x)  # the adaptive pools, reachable from nn and F alike
    np.testing.assert_allclose(y.data, F.adaptive_avg_pool2d(x, (2, 3)).data)
