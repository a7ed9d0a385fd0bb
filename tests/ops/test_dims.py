"""Dim arguments (ops/dims.py): PyTorch's negative dims, the 0-d tensor's dims 0 and -1, and
errors that name the bad dim."""

import numpy as np
import pytest

from visiongrad.ops.dims import normalize_dim, normalize_dims, reduction_axis


def test_negative_dims_count_from_the_end_and_0d_takes_0_and_minus_1():
    assert [normalize_dim(d, 3) for d in (-3, -1, 0, 2)] == [0, 2, 0, 2]
    assert normalize_dim(np.int64(-2), 4) == 2 and type(normalize_dim(np.int64(1), 4)) is int
    assert normalize_dim(0, 0) == 0 and normalize_dim(-1, 0) == 0
    assert normalize_dims((-1, 0), 2) == (1, 0) and normalize_dims(1, 2) == (1,)


@pytest.mark.parametrize("dim, ndim, error, message", [
    (3, 3, ValueError, "dim 3 is out of range for a tensor with 3 dimensions"),
    (-4, 3, ValueError, "dim -4 is out of range"), (1, 0, ValueError, "out of range"),
    (1.0, 2, TypeError, "dim must be an integer, got 1.0"), (True, 2, TypeError, "True")])
def test_bad_dims_are_named(dim, ndim, error, message):
    with pytest.raises(error, match=message):
        normalize_dim(dim, ndim)


def test_repeated_dims_are_refused():
    with pytest.raises(ValueError, match=r"dims \(0, -2\) repeats a dimension"):
        normalize_dims((0, -2), 2, "dims")


def test_a_0d_array_reduces_over_0_minus_1_or_nothing():
    scalar, matrix = np.float64(1.0), np.ones((2, 3))
    assert all(reduction_axis(scalar, a) is None for a in (None, 0, -1, (), (0,), (-1,)))
    assert reduction_axis(matrix, 1) == 1 and reduction_axis(matrix, None) is None
    with pytest.raises(ValueError, match="axis 1 is out of range for a 0-d tensor"):
        reduction_axis(scalar, 1)
