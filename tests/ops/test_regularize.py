"""dropout and dropconnect: the mask formula, E[y] = x, evaluation is the identity, gradient
checks with the mask fixed by reseeding, seeded reproducibility, and errors."""

import numpy as np
import pytest
from helpers import assert_gradcheck, assert_matches_torch, torch_or_skip

import visiongrad as vg
from visiongrad import functional as F

shape_rng = np.random.default_rng(4)  # seeded random shapes for parametrize


def expected_mask(seed, shape, p):
    """The docstring's m = keep / (1 - p), keep ~ Bernoulli(1 - p), from a reseeded generator."""
    return (vg.manual_seed(seed).random(shape) >= p) / (1 - p)


@pytest.mark.parametrize("shape", [(1, 7), (5, 3, 4, 2), (3, 11)], ids=str)
@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_applies_the_documented_mask(shape, p):
    """y = x * m with the docstring's mask, and the gradient check (the mask is fixed by
    reseeding before each call); the same in PyTorch as x * m."""
    x = np.random.default_rng(1).standard_normal(shape)
    mask = expected_mask(7, shape, p)
    np.testing.assert_allclose(seeded_dropout(p)(x).data, x * mask, rtol=1e-15)
    assert_gradcheck(seeded_dropout(p), [x])


def seeded_dropout(p):
    def dropout(a):
        vg.manual_seed(7)
        return F.dropout(a, p)

    return dropout


@pytest.mark.parametrize("shape", [(1, 7), (5, 3, 4, 2), (3, 11)], ids=str)
@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_matches_the_mask_in_torch(shape, p):
    torch = torch_or_skip()
    x = np.random.default_rng(1).standard_normal(shape)
    mask = expected_mask(7, shape, p)
    for dtype in (np.float32, np.float64):
        assert_matches_torch(seeded_dropout(p), lambda a: a * torch.tensor(mask, dtype=a.dtype),
                             [x], dtype=dtype)


def test_dropout_expectation_and_drop_rate():
    x = np.full(400_000, 1.5)
    y = F.dropout(x, p=0.3).data
    assert abs(np.mean(y == 0) - 0.3) < 0.005  # std of the rate: sqrt(.21 / 4e5) = 7e-4
    assert abs(y.mean() - 1.5) < 0.01  # std of the mean: 1.5 * sqrt(.3 / .7 / 4e5) = 1.6e-3


def test_dropout_evaluation_is_the_identity():
    rng = np.random.default_rng(3)
    x = vg.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    y = F.dropout(x, p=0.5, training=False)
    np.testing.assert_array_equal(y.data, x.data)
    upstream = rng.standard_normal((4, 5))
    y.backward(upstream)
    np.testing.assert_array_equal(x.grad, upstream)


def test_dropout_extremes_and_seeded_reproducibility():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_array_equal(F.dropout(x, p=0.0).data, x)
    np.testing.assert_array_equal(F.dropout(x, p=1.0).data, np.zeros_like(x))
    assert F.dropout(x, p=0.5).dtype == np.float32
    global_state = np.random.get_state()[1].copy()
    vg.manual_seed(11)
    first = F.dropout(x, 0.5).data
    vg.manual_seed(11)
    np.testing.assert_array_equal(F.dropout(x, 0.5).data, first)
    np.testing.assert_array_equal(np.random.get_state()[1], global_state)


@pytest.mark.parametrize("x_shape", [(1, 4), (6, 4), (2, 3, 4)], ids=str)
@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no bias"])
def test_dropconnect_is_linear_with_masked_weights_and_gradcheck(x_shape, with_bias):
    inputs = dropconnect_inputs(x_shape, with_bias)
    x, w, *b = inputs
    expected = x @ (w * expected_mask(3, w.shape, 0.4)).T + (b[0] if b else 0)
    np.testing.assert_allclose(seeded_dropconnect(*inputs).data, expected, rtol=1e-12)
    assert_gradcheck(seeded_dropconnect, inputs)


def dropconnect_inputs(x_shape, with_bias):
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal((5, 4)), rng.standard_normal(5)
    return [x, w, b] if with_bias else [x, w]


def seeded_dropconnect(*tensors):
    vg.manual_seed(3)
    return F.dropconnect(*tensors, p=0.4)


@pytest.mark.parametrize("x_shape", [(1, 4), (6, 4), (2, 3, 4)], ids=str)
@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no bias"])
def test_dropconnect_matches_torch_with_masked_weights(x_shape, with_bias):
    torch = torch_or_skip()
    inputs = dropconnect_inputs(x_shape, with_bias)
    mask = expected_mask(3, inputs[1].shape, 0.4)

    def masked_linear(a, weight, *bias):
        return torch.nn.functional.linear(a, weight * torch.tensor(mask, dtype=weight.dtype),
                                          *bias)

    for dtype in (np.float32, np.float64):
        assert_matches_torch(seeded_dropconnect, masked_linear, inputs, dtype=dtype)
        assert_matches_torch(lambda *t: F.dropconnect(*t, p=0.4, training=False),
                             torch.nn.functional.linear, inputs, dtype=dtype)


def test_dropconnect_expectation_is_the_linear_layer():
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    average = np.mean([F.dropconnect(x, w, p=0.5).data for _ in range(20_000)], axis=0)
    np.testing.assert_allclose(average, x @ w.T, atol=0.05)


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_probability_out_of_range(p):
    with pytest.raises(ValueError, match=f"dropout: drop probability p must be between 0 and 1, "
                                         f"got {p}"):
        F.dropout(np.ones(3), p)
    with pytest.raises(ValueError, match=f"dropconnect: .* got {p}"):
        F.dropconnect(np.ones((2, 3)), np.ones((4, 3)), p=p)
