"""interpolate (ops/interpolate.py): nearest and bilinear resizing, float64 gradient checks
without PyTorch, the formulas by hand and PyTorch parity."""

import numpy as np
import pytest
from helpers import assert_gradcheck, assert_matches_torch

import visiongrad as vg
from visiongrad import functional as F
from visiongrad import nn

INTERPOLATIONS = [dict(size=(7, 3)), dict(scale_factor=2), dict(scale_factor=(0.5, 1.7)),
                  dict(size=(9, 2), mode="bilinear", align_corners=True),
                  dict(size=(4, 11), mode="bilinear", align_corners=False),
                  dict(scale_factor=1.3, mode="bilinear", recompute_scale_factor=True),
                  dict(size=1, mode="bilinear", align_corners=True),
                  dict(scale_factor=(3, 0.4), mode="bilinear")]


@pytest.mark.parametrize("options", INTERPOLATIONS)
def test_interpolate_gradcheck_and_torch(options):
    x = np.random.default_rng(7).standard_normal((2, 3, 5, 6))
    fn = lambda x: F.interpolate(x, **options)  # noqa: E731
    assert_gradcheck(fn, [x], max_coords=60)
    torch = pytest.importorskip("torch")
    for dtype in (np.float32, np.float64):
        assert_matches_torch(fn, lambda x: torch.nn.functional.interpolate(x, **options), [x],
                             dtype=dtype)
    np.testing.assert_allclose(nn.Upsample(**options)(vg.tensor(x)).data, fn(x).data)


def test_interpolate_formulas_by_hand():
    x = np.arange(4.0).reshape(1, 1, 1, 4)
    np.testing.assert_array_equal(F.interpolate(x, size=(1, 8)).data[0, 0, 0],
                                  [0, 0, 1, 1, 2, 2, 3, 3])
    corners = F.interpolate(x, size=(1, 7), mode="bilinear", align_corners=True).data
    np.testing.assert_allclose(corners[0, 0, 0], np.linspace(0, 3, 7))
    half = F.interpolate(x, size=(1, 8), mode="bilinear", align_corners=False).data
    np.testing.assert_allclose(half[0, 0, 0], [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3])
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="align_corners only goes with mode='bilinear'"):
        F.interpolate(x, size=2, align_corners=True)
