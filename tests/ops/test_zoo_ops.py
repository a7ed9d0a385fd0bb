"""Adaptive pooling, local response normalisation and drop-path: PyTorch's bins and formula,
float64 gradient checks (no PyTorch needed), parity with PyTorch on random configurations,
errors, and the layers that wrap them."""

import numpy as np
import pytest
from helpers import assert_gradcheck, assert_matches_torch, torch_or_skip

import visiongrad as vg
from visiongrad import functional as F
from visiongrad import nn
from visiongrad.ops.adaptive_pool import adaptive_bins

config_rng = np.random.default_rng(16)
POOL_CONFIGS = [((int(config_rng.integers(1, 3)), int(config_rng.integers(1, 4)),
                  int(config_rng.integers(1, 10)), int(config_rng.integers(1, 10))),
                 (int(config_rng.integers(1, 7)), int(config_rng.integers(1, 7))))
                for _ in range(6)] + [((1, 2, 7, 7), (7, 7)), ((2, 1, 5, 3), (1, 1)),
                                      ((1, 2, 3, 4), (6, 5)), ((1, 1, 9, 4), (None, 2))]


def test_adaptive_bins_follow_pytorch_rule():
    assert adaptive_bins(10, 3) == [(0, 4), (3, 7), (6, 10)]  # overlap when not divisible
    assert adaptive_bins(2, 4) == [(0, 1), (0, 1), (1, 2), (1, 2)]  # repeats when out > size
    assert adaptive_bins(8, 4) == [(0, 2), (2, 4), (4, 6), (6, 8)]  # plain pooling


def naive_adaptive(x, output_size, reduce):
    """Bin by bin with the rule start = floor(i H / out), end = ceil((i + 1) H / out)."""
    n, c, h, w = x.shape
    out_h, out_w = (h if output_size[0] is None else output_size[0]), output_size[1]
    y = np.empty((n, c, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            rows = slice(int(np.floor(i * h / out_h)), int(np.ceil((i + 1) * h / out_h)))
            cols = slice(int(np.floor(j * w / out_w)), int(np.ceil((j + 1) * w / out_w)))
            y[:, :, i, j] = reduce(x[:, :, rows, cols], axis=(2, 3))
    return y


@pytest.mark.parametrize("shape, output_size", POOL_CONFIGS, ids=str)
def test_adaptive_pools_match_the_bins_gradcheck_and_torch(shape, output_size):
    x = np.random.default_rng(1).standard_normal(shape)
    for fn, reduce in ((F.adaptive_avg_pool2d, np.mean), (F.adaptive_max_pool2d, np.max)):
        np.testing.assert_allclose(fn(x, output_size).data, naive_adaptive(x, output_size, reduce),
                                   rtol=1e-12, atol=1e-12)
        assert_gradcheck(lambda a, fn=fn: fn(a, output_size), [x])
    torch = torch_or_skip()
    size = tuple(output_size)
    assert_matches_torch(lambda a: F.adaptive_avg_pool2d(a, size),
                         lambda a: torch.nn.functional.adaptive_avg_pool2d(a, size), [x])
    assert_matches_torch(lambda a: F.adaptive_max_pool2d(a, size),
                         lambda a: torch.nn.functional.adaptive_max_pool2d(a, size), [x])
    _, ours = F.adaptive_max_pool2d(x, size, return_indices=True)
    _, theirs = torch.nn.functional.adaptive_max_pool2d(torch.tensor(x), size,
                                                        return_indices=True)
    np.testing.assert_array_equal(ours.data, theirs.numpy())


def test_adaptive_max_pool_ties_and_overlaps_route_gradient_like_torch():
    torch = torch_or_skip()
    x = np.zeros((1, 1, 5, 5))  # all ties: the first maximum of each bin gets dy
    x[0, 0, 2, 2] = 1.0  # shared by the overlapping bins of a 5 -> 3 pooling
    assert_matches_torch(lambda a: F.adaptive_max_pool2d(a, 3),
                         lambda a: torch.nn.functional.adaptive_max_pool2d(a, 3), [x],
                         dtype=np.float64)


def test_adaptive_pool_errors():
    x = np.zeros((1, 1, 4, 4))
    with pytest.raises(ValueError, match="output_size must be positive"):
        F.adaptive_avg_pool2d(x, 0)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        F.adaptive_max_pool2d(np.zeros((4, 4)), 2)
    with pytest.raises(ValueError, match="output_size must be an int or a pair"):
        F.adaptive_avg_pool2d(x, (1, 2, 3))


def naive_lrn(x, size, alpha, beta, k):
    """The docstring's s_c = k + alpha / size * sum_{c - size//2 <= c' <= c + (size-1)//2}
    x_c'^2, y = x s^(-beta), channel by channel."""
    s = np.empty_like(x)
    for c in range(x.shape[1]):
        window = x[:, max(0, c - size // 2):c + (size - 1) // 2 + 1]
        s[:, c] = k + alpha / size * (window ** 2).sum(axis=1)
    return x * s ** -beta


LRN_CONFIGS = [((2, int(config_rng.integers(1, 9)), 3, 2), int(config_rng.integers(1, 7)),
                float(config_rng.uniform(1e-3, 1.0)), float(config_rng.uniform(0.3, 1.0)),
                float(config_rng.uniform(0.5, 2.0))) for _ in range(5)] + [
    ((1, 6, 4), 2, 1e-4, 0.75, 1.0), ((2, 5, 2, 2, 2), 5, 5e-4, 0.75, 2.0)]


@pytest.mark.parametrize("shape, size, alpha, beta, k", LRN_CONFIGS, ids=str)
def test_local_response_norm_formula_gradcheck_and_torch(shape, size, alpha, beta, k):
    x = np.random.default_rng(2).standard_normal(shape) * 2
    np.testing.assert_allclose(F.local_response_norm(x, size, alpha, beta, k).data,
                               naive_lrn(x, size, alpha, beta, k), rtol=1e-12)
    assert_gradcheck(lambda a: F.local_response_norm(a, size, alpha, beta, k), [x])
    torch = torch_or_skip()
    for dtype in (np.float32, np.float64):
        assert_matches_torch(lambda a: nn.LocalResponseNorm(size, alpha, beta, k)(a),
                             lambda a: torch.nn.LocalResponseNorm(size, alpha, beta, k)(a),
                             [x], dtype=dtype)


def test_local_response_norm_errors():
    with pytest.raises(ValueError, match="size must be a positive integer"):
        nn.LocalResponseNorm(0)
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        F.local_response_norm(np.zeros((2, 3)), 3)


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_drop_path_mask_shape_gradcheck_and_expectation(mode):
    x = np.random.default_rng(3).standard_normal((8, 2, 3))

    def seeded(a):
        vg.manual_seed(5)
        return F.drop_path(a, 0.4, mode=mode)

    y = seeded(x).data
    kept = [not np.all(y[n] == 0) for n in range(8)]
    for n in range(8):  # each example is all kept (scaled by 1 / 0.6) or all dropped
        np.testing.assert_allclose(y[n], x[n] / 0.6 if kept[n] else 0 * x[n], rtol=1e-12)
    if mode == "batch":
        assert len(set(kept)) == 1
    assert_gradcheck(seeded, [x])
    ones = np.ones((20_000, 1))
    mean = F.drop_path(ones, 0.4, mode=mode).data.mean() if mode == "row" else np.mean(
        [F.drop_path(ones[:1], 0.4, mode=mode).data.mean() for _ in range(4000)])
    assert abs(mean - 1) < 0.05  # E[y] = x; std of the estimate about 0.013
    np.testing.assert_array_equal(F.drop_path(x, 0.4, training=False, mode=mode).data, x)


def test_drop_path_layers_and_errors():
    layer = nn.DropPath(0.5, mode="batch")
    x = vg.tensor(np.ones((4, 3)))
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, x.data)
    gate = nn.SurvivalGate(0.7).eval()
    np.testing.assert_allclose(gate(x).data, 0.7 * x.data)
    with pytest.raises(ValueError, match="mode must be 'row' or 'batch'"):
        F.drop_path(x, 0.5, mode="column")
    with pytest.raises(ValueError, match="p must be between 0 and 1"):
        nn.DropPath(1.5)
    with pytest.raises(ValueError, match="survival_prob must be in"):
        nn.SurvivalGate(0.0)


def test_adaptive_pool_layers_wrap_the_functions():
    x = np.random.default_rng(4).standard_normal((1, 2, 5, 6))
    np.testing.assert_array_equal(nn.AdaptiveAvgPool2d((2, 3))(vg.tensor(x)).data,
                                  F.adaptive_avg_pool2d(x, (2, 3)).data)
    np.testing.assert_array_equal(nn.AdaptiveMaxPool2d(2)(vg.tensor(x)).data,
                                  F.adaptive_max_pool2d(x, 2).data)
