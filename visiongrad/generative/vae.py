"""The variational autoencoder: Gaussian encoder, reparameterisation, ELBO with its terms.

q(z | x) = N(mu(x), diag sigma(x)^2) and p(z) = N(0, I). The evidence lower bound
log p(x) >= E_q[log p(x | z)] - KL(q(z | x) || p(z)) is estimated with one sample
z = mu + sigma * eps, eps ~ N(0, I) (the reparameterisation trick: z is a differentiable
function of mu and sigma, so the reconstruction term's gradient reaches the encoder), and
the KL term is analytic (:func:`losses.gaussian_kl`). Decoders:

- ``"bernoulli"``: logits per pixel; x is binarised data in {0, 1} (or intensities in [0, 1],
  where the "likelihood" is then a cross-entropy, not a probability);
- ``"gaussian"``: a mean per pixel and one learned log-scale per pixel (a density on [0, 1],
  not comparable in bits with the discrete models);
- ``"logistic"``: a discretised logistic per pixel over the 256 levels of 8-bit images, a
  probability of the data, so its bound in bits per dimension compares with PixelCNN's.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn
from ..autograd import Tensor, as_tensor
from ..random import as_generator
from .losses import (
    bernoulli_nll,
    bits_per_dim,
    discretized_logistic_nll,
    gaussian_kl,
    gaussian_nll,
)

DECODERS = ("bernoulli", "gaussian", "logistic")


def prepare(images_uint8: np.ndarray, decoder: str, rng=None) -> np.ndarray:
    """8-bit images as the decoder reads them: binarised by sampling each pixel with
    probability intensity/255 (bernoulli), intensities in [0, 1] (gaussian), [-1, 1] (logistic)."""
    x = np.asarray(images_uint8, dtype=np.float32) / 255.0
    if decoder == "bernoulli":
        return (as_generator(rng).random(x.shape) < x).astype(np.float32)
    return x if decoder == "gaussian" else 2.0 * x - 1.0


class VAE(nn.Module):
    """x (N, 1, H, W) -> (mu, logvar) (N, latent_dim) -> z -> p(x | z).

    Parameters
    ----------
    decoder : one of :data:`DECODERS`
    input_shape : (C, H, W)
    latent_dim : int
    hidden_dim : int
        Units of the encoder's and decoder's ReLU hidden layers.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import generative
    >>> import visiongrad as vg
    >>> vae = generative.VAE(decoder='bernoulli', latent_dim=4, hidden_dim=32)
    >>> loss, terms = vae.loss(vg.tensor(np.random.default_rng(0).random((2, 1, 28, 28))), rng=0)
    >>> sorted(terms), vae.sample(3, rng=0).shape
    (['bits_per_dim', 'kl', 'nelbo', 'reconstruction'], (3, 1, 28, 28))
    """

    def __init__(self, decoder: str = "logistic", input_shape=(1, 28, 28), latent_dim: int = 16,
                 hidden_dim: int = 400):
        super().__init__()
        if decoder not in DECODERS:
            raise ValueError(f"VAE decoder must be one of {', '.join(DECODERS)}, got {decoder!r}")
        if latent_dim < 1 or hidden_dim < 1:
            raise ValueError(f"latent_dim and hidden_dim must be positive, got {latent_dim}, "
                             f"{hidden_dim}")
        self.decoder_kind, self.input_shape = decoder, tuple(input_shape)
        self.latent_dim = latent_dim
        dims = int(np.prod(self.input_shape))
        self.dims = dims
        self.encoder = nn.Sequential(nn.Linear(dims, hidden_dim), nn.ReLU())
        self.mu = nn.Linear(hidden_dim, latent_dim)
        self.logvar = nn.Linear(hidden_dim, latent_dim)
        outputs = dims * (2 if decoder == "logistic" else 1)
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden_dim), nn.ReLU(),
                                     nn.Linear(hidden_dim, outputs))
        if decoder == "gaussian":
            self.log_scale = nn.Parameter(np.full(dims, -2.0, dtype=np.float32))

    def encode(self, x) -> tuple[Tensor, Tensor]:
        """q(z | x)'s mean and log-variance, each (N, latent_dim)."""
        x = as_tensor(x)
        hidden = self.encoder(x.reshape(x.shape[0], -1))
        return self.mu(hidden), self.logvar(hidden)

    @staticmethod
    def reparameterize(mu: Tensor, logvar: Tensor, rng=None) -> Tensor:
        """z = mu + exp(logvar / 2) * eps with eps ~ N(0, I) drawn from ``rng``."""
        mu, logvar = as_tensor(mu), as_tensor(logvar)
        eps = as_generator(rng).standard_normal(mu.shape).astype(mu.data.dtype)
        return mu + F.exp(0.5 * logvar) * eps

    def decode_params(self, z) -> tuple[Tensor, Tensor | None]:
        """The decoder's outputs, flat (N, dims): logits or means, and log-scales (or None)."""
        out = self.decoder(as_tensor(z))
        if self.decoder_kind == "logistic":
            return out[:, :self.dims], out[:, self.dims:]
        if self.decoder_kind == "gaussian":
            return out, self.log_scale
        return out, None

    def reconstruction_nll(self, z, x) -> Tensor:
        """-log p(x | z) per example, in nats: (N,)."""
        x_flat = np.asarray(x.data if isinstance(x, Tensor) else x).reshape(len(x), -1)
        first, log_scale = self.decode_params(z)
        if self.decoder_kind == "bernoulli":
            return bernoulli_nll(first, x_flat)
        if self.decoder_kind == "gaussian":
            return gaussian_nll(first, log_scale, x_flat)
        return discretized_logistic_nll(first, log_scale, x_flat)

    def elbo_terms(self, x, rng=None) -> dict[str, Tensor]:
        """Per-example terms (N,): ``reconstruction`` -log p(x | z) at one reparameterised z,
        ``kl`` KL(q(z | x) || p(z)), and ``nelbo`` = their sum (the negative ELBO, in nats)."""
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar, rng)
        reconstruction, kl = self.reconstruction_nll(z, x), gaussian_kl(mu, logvar)
        return {"reconstruction": reconstruction, "kl": kl, "nelbo": reconstruction + kl}

    def loss(self, x, rng=None) -> tuple[Tensor, dict[str, float]]:
        """Mean negative ELBO over the batch, and its terms as floats (also in bits/dim)."""
        terms = self.elbo_terms(x, rng)
        loss = terms["nelbo"].mean()
        report = {name: float(value.data.mean()) for name, value in terms.items()}
        report["bits_per_dim"] = bits_per_dim(terms["nelbo"], self.dims)
        return loss, report

    def decode_mean(self, z) -> np.ndarray:
        """The decoder's mean image for z, in [0, 1], shaped (N, *input_shape)."""
        first, _ = self.decode_params(z)
        if self.decoder_kind == "bernoulli":
            mean = 1.0 / (1.0 + np.exp(-first.data))
        elif self.decoder_kind == "gaussian":
            mean = first.data
        else:
            mean = (first.data + 1.0) / 2.0
        return np.clip(mean, 0.0, 1.0).reshape(-1, *self.input_shape)

    def sample(self, n: int, rng=None) -> np.ndarray:
        """n images from the prior, drawn as the decoder's means (N, C, H, W) in [0, 1]."""
        z = as_generator(rng).standard_normal((n, self.latent_dim)).astype(np.float32)
        return self.decode_mean(z)
