"""Tensor creation (visiongrad/creation.py): values, dtypes and shapes as in PyTorch, and
rand/randn drawn from the library's seeded generator."""

import numpy as np
import pytest
from helpers import torch_or_skip

import visiongrad as vg


def test_zeros_ones_full_eye_take_sizes_either_way():
    assert vg.zeros(2, 3).shape == (2, 3) == vg.ones((2, 3)).shape
    assert vg.zeros(2).dtype == np.float32 and vg.ones(()).shape == ()
    np.testing.assert_array_equal(vg.full((2, 2), 7.0).data, np.full((2, 2), 7.0))
    np.testing.assert_array_equal(vg.eye(3).data, np.eye(3))
    assert vg.eye(2, 4).shape == (2, 4)
    z = vg.zeros(3, requires_grad=True)
    assert z.requires_grad and z.is_leaf


def test_dtypes_follow_pytorch():
    torch = torch_or_skip()
    for ours, theirs in [
        (vg.full((2,), 3), torch.full((2,), 3)),
        (vg.full((2,), 3.5), torch.full((2,), 3.5)),
        (vg.full((2,), True), torch.full((2,), True)),
        (vg.arange(5), torch.arange(5)),
        (vg.arange(0, 1, 0.25), torch.arange(0, 1, 0.25)),
        (vg.arange(2, 11, 3), torch.arange(2, 11, 3)),
        (vg.arange(5, 0, -2), torch.arange(5, 0, -2)),
        (vg.linspace(-1, 1, 5), torch.linspace(-1, 1, 5)),
        (vg.linspace(0, 1, 0), torch.linspace(0, 1, 0)),
        (vg.zeros(2, 2), torch.zeros(2, 2)),
        (vg.eye(3, dtype=np.float64), torch.eye(3, dtype=torch.float64)),
    ]:
        assert ours.dtype == theirs.numpy().dtype
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6)
    vg.set_default_dtype(np.float64)
    assert vg.ones(2).dtype == np.float64 and vg.arange(0.5, 2).dtype == np.float64


def test_like_forms_keep_shape_and_dtype():
    x = vg.tensor(np.zeros((2, 3), dtype=np.float64))
    for made in (vg.zeros_like(x), vg.ones_like(x), vg.full_like(x, 2.0), vg.rand_like(x),
                 vg.randn_like(x)):
        assert made.shape == (2, 3) and made.dtype == np.float64
    assert vg.zeros_like(np.zeros(4, dtype=np.int64)).dtype == np.int64
    assert vg.ones_like(x, dtype=np.float32).dtype == np.float32


def test_rand_and_randn_use_the_seeded_generator():
    vg.manual_seed(7)
    a, b = vg.randn(3, 4), vg.rand(5)
    vg.manual_seed(7)
    np.testing.assert_array_equal(vg.randn(3, 4).data, a.data)
    np.testing.assert_array_equal(vg.rand(5).data, b.data)
    vg.manual_seed(7)
    expected = np.random.default_rng(7).standard_normal((3, 4), dtype=np.float32)
    np.testing.assert_array_equal(vg.randn(3, 4).data, expected)
    u = vg.rand(10000).data
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.02
    assert vg.randn(2, requires_grad=True).requires_grad


def test_bad_sizes_and_steps_are_refused():
    with pytest.raises(ValueError, match="non-negative"):
        vg.zeros(-1)
    with pytest.raises(ValueError, match="non-negative"):
        vg.ones(2.5)
    with pytest.raises(ValueError, match="step"):
        vg.arange(0, 5, 0)
    with pytest.raises(ValueError, match="steps"):
        vg.linspace(0, 1, -1)
