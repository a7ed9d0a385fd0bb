"""GAN losses, ELBO terms and likelihoods (visiongrad/generative/losses.py)."""

import math

import numpy as np
import pytest
from helpers import assert_gradcheck, assert_matches_torch, torch_or_skip

import visiongrad as vg
from visiongrad.generative import losses

GAN_LOSSES = [
    (losses.discriminator_loss, 2), (losses.generator_loss, 1),
    (losses.ls_discriminator_loss, 2), (losses.ls_generator_loss, 1),
]


def _torch_losses(torch):
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    mse = torch.nn.functional.mse_loss
    return {
        losses.discriminator_loss: lambda r, f: bce(r, torch.ones_like(r))
        + bce(f, torch.zeros_like(f)),
        losses.generator_loss: lambda f: bce(f, torch.ones_like(f)),
        losses.ls_discriminator_loss: lambda r, f: 0.5 * mse(r, torch.ones_like(r))
        + 0.5 * mse(f, torch.zeros_like(f)),
        losses.ls_generator_loss: lambda f: 0.5 * mse(f, torch.ones_like(f)),
    }


@pytest.mark.parametrize("loss, arity", GAN_LOSSES)
def test_gan_losses_gradcheck(loss, arity):
    rng = np.random.default_rng(1)
    assert_gradcheck(loss, [3 * rng.standard_normal((7, 1)) for _ in range(arity)])


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("loss, arity", GAN_LOSSES)
def test_gan_losses_match_torch_formulations(loss, arity, seed):
    torch = torch_or_skip()
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 20))
    shape = (n,) if seed % 2 else (n, 1)
    inputs = [4 * rng.standard_normal(shape) for _ in range(arity)]
    assert_matches_torch(loss, _torch_losses(torch)[loss], inputs, dtype=np.float64)


def test_gan_losses_by_hand():
    """The course's formulas written out: -mean log D(x) - mean log(1 - D(G(z))), ..."""
    real, fake = np.array([2.0, -1.0, 0.5]), np.array([-3.0, 0.2, 1.0])
    d = 1 / (1 + np.exp(-real)), 1 / (1 + np.exp(-fake))
    assert losses.discriminator_loss(real, fake).item() == pytest.approx(
        -np.mean(np.log(d[0])) - np.mean(np.log(1 - d[1])))
    assert losses.generator_loss(fake).item() == pytest.approx(-np.mean(np.log(d[1])))
    assert losses.ls_discriminator_loss(real, fake).item() == pytest.approx(
        0.5 * np.mean((real - 1) ** 2) + 0.5 * np.mean(fake ** 2))
    assert losses.ls_generator_loss(fake).item() == pytest.approx(0.5 * np.mean((fake - 1) ** 2))


def test_gaussian_kl_gradcheck_closed_form_and_monte_carlo():
    rng = np.random.default_rng(2)
    mu, logvar = rng.standard_normal((4, 3)), 0.5 * rng.standard_normal((4, 3))
    assert_gradcheck(losses.gaussian_kl, [mu, logvar])
    # closed form from the KL of two univariate Gaussians, var = sigma^2
    var = np.exp(logvar)
    closed = np.sum(0.5 * (var + mu ** 2) - 0.5 - np.log(np.sqrt(var)), axis=1)
    np.testing.assert_allclose(losses.gaussian_kl(mu, logvar).data, closed, rtol=1e-12)
    # Monte Carlo: E_q[log q(z) - log p(z)]
    z = mu + np.sqrt(var) * rng.standard_normal((200000, 4, 3))
    log_q = -0.5 * ((z - mu) ** 2 / var + np.log(2 * np.pi * var))
    log_p = -0.5 * (z ** 2 + np.log(2 * np.pi))
    np.testing.assert_allclose((log_q - log_p).sum(axis=2).mean(axis=0), closed, rtol=0.03,
                               atol=0.01)


def test_likelihood_terms_gradcheck():
    rng = np.random.default_rng(3)
    x01 = rng.random((3, 5))
    assert_gradcheck(lambda z: losses.bernoulli_nll(z, (x01 > 0.5).astype(float)),
                     [rng.standard_normal((3, 5))])
    assert_gradcheck(lambda m, s: losses.gaussian_nll(m, s, x01),
                     [rng.standard_normal((3, 5)), 0.3 * rng.standard_normal(5)])
    levels = rng.integers(0, 256, (3, 5))
    levels[0, :2] = (0, 255)  # both tails
    x = levels / 127.5 - 1
    assert_gradcheck(lambda m, s: losses.discretized_logistic_nll(m, s, x),
                     [x + 0.05 * rng.standard_normal((3, 5)),
                      -2 + 0.3 * rng.standard_normal((3, 5))])


def test_discretized_logistic_is_a_distribution_over_256_levels():
    mean, log_scale = np.full((256, 1), 0.3), np.full((256, 1), -2.5)
    x = (np.arange(256) / 127.5 - 1).reshape(256, 1)
    nll = losses.discretized_logistic_nll(mean, log_scale, x).data
    assert np.exp(-nll).sum() == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="x scaled to"):
        losses.discretized_logistic_nll(mean, log_scale, x * 3)


def test_gaussian_nll_matches_torch():
    torch = torch_or_skip()
    rng = np.random.default_rng(4)
    x = rng.random((3, 6))
    assert_matches_torch(
        lambda m, s: losses.gaussian_nll(m, s, x),
        lambda m, s: -torch.distributions.Normal(m, torch.exp(s)).log_prob(
            torch.tensor(x)).sum(dim=1),
        [rng.standard_normal((3, 6)), 0.2 * rng.standard_normal(6)], dtype=np.float64)


def test_bits_per_dim():
    assert losses.bits_per_dim(np.array([784 * math.log(2.0)] * 3), 784) == pytest.approx(1.0)
    assert losses.bits_per_dim(vg.tensor([2.0 * math.log(2.0)]), 2) == pytest.approx(1.0)
