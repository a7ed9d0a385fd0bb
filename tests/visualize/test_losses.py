"""The course's losses: float64 gradient checks without PyTorch, and parity with the same
formulas written in PyTorch on seeded random configurations."""

import numpy as np
import pytest
from helpers import assert_gradcheck, assert_matches_torch

import visiongrad as vg
from visiongrad.visualize import content_loss, gram_matrix, style_loss, tv_loss
from visiongrad.visualize.losses import squared_distance

RNG = np.random.default_rng(0)


def _shapes(count=3):
    for _ in range(count):
        yield (int(RNG.integers(1, 3)), int(RNG.integers(1, 5)), int(RNG.integers(2, 6)),
               int(RNG.integers(2, 6)))


@pytest.mark.parametrize("normalize", [True, False])
def test_gram_matrix_gradcheck_and_formula(normalize):
    for shape in _shapes():
        x = RNG.standard_normal(shape)
        assert_gradcheck(lambda f: gram_matrix(f, normalize), [x])
        flat = x.reshape(shape[0], shape[1], -1)
        expected = np.einsum("nck,ndk->ncd", flat, flat) / (np.prod(shape[1:]) if normalize else 1)
        np.testing.assert_allclose(gram_matrix(x, normalize).data, expected, rtol=1e-12)


def test_gram_matrix_of_channels_last_features():
    """Features in channels-last memory (as the convolutions return them) take the
    copy-free path: same Gram matrix, same gradient values, gradient in that layout."""
    for shape in _shapes():
        nhwc = RNG.standard_normal((shape[0], shape[2], shape[3], shape[1]))
        assert_gradcheck(lambda f: gram_matrix(f.transpose(0, 3, 1, 2)), [nhwc])
        last = vg.tensor(nhwc.transpose(0, 3, 1, 2), requires_grad=True)
        plain = vg.tensor(np.ascontiguousarray(last.data), requires_grad=True)
        upstream = RNG.standard_normal((shape[0], shape[1], shape[1]))
        for features in (last, plain):
            (gram_matrix(features) * upstream).sum().backward()
        np.testing.assert_allclose(gram_matrix(last).data, gram_matrix(plain).data, rtol=1e-12)
        np.testing.assert_allclose(last.grad, plain.grad, rtol=1e-12, atol=1e-14)
        assert last.grad.transpose(0, 2, 3, 1).flags.c_contiguous


def test_content_and_tv_loss_gradchecks():
    for shape in _shapes():
        a, b = RNG.standard_normal(shape), RNG.standard_normal(shape)
        assert_gradcheck(lambda x, y: content_loss(0.7, x, y), [a, b])
        assert_gradcheck(lambda x: tv_loss(x, 0.3), [a])


def test_squared_distance_gradcheck_formula_and_torch():
    """One node for sum (x - y)^2: gradients checked in float64 for both inputs, the value
    by the formula, channels-last inputs alike, and PyTorch's mse_loss(reduction="sum")."""
    for shape in _shapes():
        a, b = RNG.standard_normal(shape), RNG.standard_normal(shape)
        assert_gradcheck(squared_distance, [a, b])
        np.testing.assert_allclose(squared_distance(a, b).data, ((a - b) ** 2).sum(),
                                   rtol=1e-12)
        nhwc = a.transpose(0, 2, 3, 1).copy()  # checked through a channels-last view
        assert_gradcheck(lambda x, y: squared_distance(x.transpose(0, 3, 1, 2), y), [nhwc, b])
        assert_matches_torch(squared_distance, lambda x, y: _torch().nn.functional.mse_loss(
            x, y, reduction="sum"), [a, b])
    with pytest.raises(ValueError, match="shapes"):
        squared_distance(np.zeros(2), np.zeros(3))


def test_style_loss_gradcheck_over_two_layers():
    f0, f1 = RNG.standard_normal((1, 3, 4, 4)), RNG.standard_normal((1, 5, 2, 3))
    t0 = gram_matrix(RNG.standard_normal((1, 3, 4, 4))).data
    t1 = gram_matrix(RNG.standard_normal((1, 5, 2, 3))).data
    assert_gradcheck(lambda a, b, c: style_loss([a, b, c], [0, 2], [t0, t1], [2.0, 0.5]),
                     [f0, RNG.standard_normal((1, 2, 2, 2)), f1])


def _torch_gram(torch, f, normalize=True):
    n, c, h, w = f.shape
    flat = f.reshape(n, c, h * w)
    g = torch.bmm(flat, flat.transpose(1, 2))
    return g / (c * h * w) if normalize else g


def test_losses_match_torch_formulas():
    for shape in _shapes(4):
        a, b = RNG.standard_normal(shape), RNG.standard_normal(shape)
        assert_matches_torch(lambda f: gram_matrix(f), lambda f: _torch_gram(_torch(), f), [a])
        assert_matches_torch(lambda x, y: content_loss(0.5, x, y),
                             lambda x, y: 0.5 * ((x - y) ** 2).sum(), [a, b])
        assert_matches_torch(
            lambda x: tv_loss(x, 0.2),
            lambda x: 0.2 * (((x[:, :, 1:] - x[:, :, :-1]) ** 2).sum()
                             + ((x[..., 1:] - x[..., :-1]) ** 2).sum()), [a])
        target = RNG.standard_normal((shape[0], shape[1], shape[1]))
        assert_matches_torch(
            lambda x, t: style_loss([x], [0], [t], [3.0]),
            lambda x, t: 3.0 * ((_torch_gram(_torch(), x) - t) ** 2).sum(), [a, target],
            dtype=np.float64)


def _torch():
    import torch

    return torch


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="features must have shape"):
        gram_matrix(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="same shape"):
        content_loss(1.0, np.zeros((1, 2)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="same length"):
        style_loss([np.zeros((1, 1, 2, 2))], [0], [], [1.0])
    with pytest.raises(ValueError, match="feats has 1 layers"):
        style_loss([np.zeros((1, 1, 2, 2))], [1], [np.zeros((1, 1, 1))], [1.0])
    with pytest.raises(ValueError, match="img must have shape"):
        tv_loss(np.zeros((3, 3)), 1.0)
