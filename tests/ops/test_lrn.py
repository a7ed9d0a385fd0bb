"""Local response normalisation (ops/lrn.py): the formula by hand, float64 gradient checks
(no PyTorch needed), parity with PyTorch on random configurations, and errors."""

import numpy as np
import pytest
from helpers import assert_gradcheck, assert_matches_torch, torch_or_skip

from visiongrad import functional as F
from visiongrad import nn

config_rng = np.random.default_rng(17)


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
