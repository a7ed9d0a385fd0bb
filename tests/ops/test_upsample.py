"""max_unpool2d, upsample_nearest, upsample_bed_of_nails: gradient checks (without
PyTorch), PyTorch parity, the formulas by hand, errors. (Unpooling against PyTorch, with
max_pool2d's indices, is in test_pool.py.)"""

import numpy as np
import pytest
from helpers import assert_gradcheck, assert_matches_torch, torch_or_skip

from visiongrad import functional as F

rng = np.random.default_rng(7)


def test_max_unpool_default_output_size_and_gradcheck():
    """Non-overlapping windows: every index distinct, so unpooling is a linear scatter."""
    x = rng.standard_normal((2, 2, 6, 4))
    y, indices = F.max_pool2d(x, 2, return_indices=True)
    assert_gradcheck(lambda v: F.max_unpool2d(v, indices, 2), [y.data])
    restored = F.max_unpool2d(y, indices, 2).data
    assert restored.shape == x.shape
    np.testing.assert_array_equal(restored, np.where(restored != 0, x, 0))
    assert np.count_nonzero(restored) == y.size


NEAREST_SCALES = [2, 3, (1, 2), (3, 1)]


@pytest.mark.parametrize("scale", NEAREST_SCALES)
def test_upsample_nearest_gradcheck_and_formula(scale):
    sh, sw = scale if isinstance(scale, tuple) else (scale, scale)
    x = rng.standard_normal((2, 3, 3, 4))
    expected = np.repeat(np.repeat(x, sh, axis=2), sw, axis=3)
    np.testing.assert_array_equal(F.upsample_nearest(x, scale).data, expected)
    assert_gradcheck(lambda v: F.upsample_nearest(v, scale), [x])


@pytest.mark.parametrize("scale", NEAREST_SCALES)
def test_upsample_nearest_matches_torch(scale):
    torch = torch_or_skip()
    x = rng.standard_normal((2, 3, 3, 4))
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


def test_unpool_and_upsample_errors():
    x = np.ones((2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 16\)"):
        F.max_unpool2d(np.ones((1, 1, 2, 2)), np.full((1, 1, 2, 2), 16), 2)
    with pytest.raises(ValueError, match=r"indices of shape \(1, 1, 2\) do not match"):
        F.max_unpool2d(np.ones((1, 1, 2, 2)), np.zeros((1, 1, 2), dtype=np.int64), 2)
    with pytest.raises(ValueError, match="scale_factor must be a positive integer"):
        F.upsample_nearest(x, 0)
