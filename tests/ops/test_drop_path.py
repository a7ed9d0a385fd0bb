"""Drop-path (ops/drop_path.py, torchvision's stochastic depth): the mask's shape, float64
gradient checks, the expectation, and the layers that wrap it."""

import numpy as np
import pytest
from helpers import assert_gradcheck

import visiongrad as vg
from visiongrad import functional as F
from visiongrad import nn


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
