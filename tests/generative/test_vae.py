"""The VAE: reparameterisation, ELBO terms, decoders (generative/vae.py)."""

import numpy as np
import pytest
from helpers import assert_gradcheck

from visiongrad.generative import VAE, gaussian_kl
from visiongrad.generative.vae import DECODERS, prepare


def _tiny(decoder):
    model = VAE(decoder, input_shape=(1, 3, 3), latent_dim=2, hidden_dim=5)
    return model.to(np.float64)


@pytest.mark.parametrize("decoder", DECODERS)
def test_elbo_terms_gradcheck_wrt_input_and_decoder_sample(decoder):
    """The negative ELBO (one seeded z) as a function of the decoder's input z and of the
    encoder's output (mu, logvar), each gradient checked. h = 1e-4: the 256-level likelihood
    is a sum of ~200 nats, whose rounding error over h = 1e-6 would be ~1e-6 of the smaller
    gradients."""
    model = _tiny(decoder)
    rng = np.random.default_rng(0)
    x = prepare(rng.integers(0, 256, (4, 1, 3, 3)), decoder, 1).astype(np.float64)
    assert_gradcheck(lambda z: model.reconstruction_nll(z, x), [rng.standard_normal((4, 2))],
                     h=1e-4)

    def nelbo(mu, logvar):
        z = VAE.reparameterize(mu, logvar, rng=5)
        return model.reconstruction_nll(z, x) + gaussian_kl(mu, logvar)
    assert_gradcheck(nelbo, [rng.standard_normal((4, 2)), 0.3 * rng.standard_normal((4, 2))],
                     h=1e-4)


def test_reparameterisation_is_seeded_and_has_the_right_moments():
    mu, logvar = np.full((20000, 2), 1.5), np.full((20000, 2), np.log(0.25))
    z = VAE.reparameterize(mu, logvar, rng=0).data
    np.testing.assert_array_equal(z, VAE.reparameterize(mu, logvar, rng=0).data)
    np.testing.assert_allclose(z.mean(axis=0), 1.5, atol=0.02)
    np.testing.assert_allclose(z.std(axis=0), 0.5, atol=0.02)


@pytest.mark.parametrize("decoder", DECODERS)
def test_loss_reports_terms_that_add_up(decoder):
    model = VAE(decoder, latent_dim=3, hidden_dim=16)
    x = prepare(np.random.default_rng(1).integers(0, 256, (6, 1, 28, 28)), decoder, 2)
    loss, terms = model.loss(x, rng=3)
    assert terms["nelbo"] == pytest.approx(terms["reconstruction"] + terms["kl"], rel=1e-5)
    assert terms["kl"] >= 0
    assert terms["bits_per_dim"] == pytest.approx(terms["nelbo"] / (784 * np.log(2)), rel=1e-5)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_sampling_shapes_and_seed():
    model = VAE("bernoulli", latent_dim=2, hidden_dim=8)
    a, b = model.sample(5, rng=4), model.sample(5, rng=4)
    assert a.shape == (5, 1, 28, 28) and 0 <= a.min() and a.max() <= 1
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, model.sample(5, rng=5))


def test_prepare_and_bad_decoder():
    images = np.array([[[[0, 255]]]], dtype=np.uint8)
    np.testing.assert_array_equal(prepare(images, "logistic"), [[[[-1.0, 1.0]]]])
    np.testing.assert_array_equal(prepare(images, "bernoulli", 0), [[[[0.0, 1.0]]]])
    with pytest.raises(ValueError, match="decoder"):
        VAE("poisson")
