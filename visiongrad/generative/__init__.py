"""Generative models: autoencoders, the VAE, GANs (DCGAN, LSGAN), PixelCNN and PixelRNN.

- ``losses``: the GAN losses of the course (``discriminator_loss``, the non-saturating
  ``generator_loss``, the least-squares pair), the ELBO's terms (analytic Gaussian KL,
  Bernoulli, Gaussian and discretised-logistic likelihoods), the contractive penalty;
- ``autoencoder``: undercomplete, sparse (L1, KL), denoising and contractive autoencoders;
- ``vae``: Gaussian encoder, reparameterisation, three decoders;
- ``dcgan``: DCGAN's generator and discriminator for 28 x 28 images;
- ``autoregressive``: masked convolutions (types A and B), PixelCNN, the Row LSTM PixelRNN,
  sampling pixel by pixel;
- ``metrics``: the Fréchet distance and a confidence score on an in-project classifier;
- ``images``: latent walks and manifolds, denoising rows (written by
  :mod:`visiongrad.imaging`); training them by name is :mod:`visiongrad.recipes.generate`.
"""

from .autoencoder import Autoencoder
from .autoregressive import MaskedConv2d, PixelCNN, PixelRNN, RowLSTM, causal_mask
from .dcgan import GAN, DCGANDiscriminator, DCGANGenerator
from .losses import (
    bernoulli_nll,
    bits_per_dim,
    contractive_penalty,
    discretized_logistic_nll,
    discriminator_loss,
    gaussian_kl,
    gaussian_nll,
    generator_loss,
    ls_discriminator_loss,
    ls_generator_loss,
)
from .metrics import confidence_score, frechet_distance, sqrtm_psd
from .vae import VAE

__all__ = [
    "GAN", "VAE", "Autoencoder", "DCGANDiscriminator", "DCGANGenerator", "MaskedConv2d",
    "PixelCNN", "PixelRNN", "RowLSTM", "bernoulli_nll", "bits_per_dim", "causal_mask",
    "confidence_score", "contractive_penalty", "discretized_logistic_nll", "discriminator_loss",
    "frechet_distance", "gaussian_kl", "gaussian_nll", "generator_loss",
    "ls_discriminator_loss", "ls_generator_loss", "sqrtm_psd",
]
