"""Adaptive pooling (ops/adaptive_pool.py): PyTorch's bins, float64 gradient checks (no
PyTorch needed), parity with PyTorch on random configurations, errors, and the layers that
wrap them."""

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


def test_adaptive_pool_layers_wrap_the_functions():
    x = np.random.default_rng(4).standard_normal((1, 2, 5, 6))
    np.testing.assert_array_equal(nn.AdaptiveAvgPool2d((2, 3))(vg.tensor(x)).data,
                                  F.adaptive_avg_pool2d(x, (2, 3)).data)
    np.testing.assert_array_equal(nn.AdaptiveMaxPool2d(2)(vg.tensor(x)).data,
                                  F.adaptive_max_pool2d(x, 2).data)
