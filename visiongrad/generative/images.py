"""What the generative models' pictures show: VAE latent walks and 2-D manifolds, and
denoising autoencoders' before/after rows, as images (N, 1, H, W) in [0, 1] that
:func:`visiongrad.imaging.save_grid` writes as PNGs."""

from __future__ import annotations

import numpy as np

from ..autograd import no_grad
from ..random import as_generator


def latent_walk(vae, start: np.ndarray, end: np.ndarray, steps: int = 10) -> np.ndarray:
    """Decoded means along the straight line from latent ``start`` to ``end``: (steps, 1, H, W)."""
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    with no_grad():
        return vae.decode_mean((1 - t) * start[None] + t * end[None])


def latent_walks(vae, images: np.ndarray, pairs: int = 6, steps: int = 10, rng=0) -> np.ndarray:
    """``pairs`` walks between the posterior means of random pairs of 8-bit images, stacked
    (pairs * steps, 1, H, W): one row per pair in a grid of ``steps`` columns."""
    from .vae import prepare

    rng = as_generator(rng)
    chosen = images[rng.choice(len(images), 2 * pairs, replace=False)]
    with no_grad():
        mu, _ = vae.encode(prepare(chosen, vae.decoder_kind, rng))
    mu = mu.data
    return np.concatenate([latent_walk(vae, mu[2 * k], mu[2 * k + 1], steps)
                           for k in range(pairs)])


def latent_manifold(vae, size: int = 15, span: float = 2.5) -> np.ndarray:
    """Decoded means over a size x size grid of the first two latent coordinates in
    [-span, span] (the others 0; the whole latent space when latent_dim is 2)."""
    values = np.linspace(-span, span, size, dtype=np.float32)
    z = np.zeros((size * size, vae.latent_dim), dtype=np.float32)
    z[:, 0] = np.repeat(values[::-1], size)
    if vae.latent_dim > 1:
        z[:, 1] = np.tile(values, size)
    with no_grad():
        return vae.decode_mean(z)


def denoising_rows(autoencoder, images: np.ndarray, n: int = 10, rng=0) -> np.ndarray:
    """Three rows of n: clean images, their corrupted versions, the reconstructions of the
    corrupted ones, all (3 n, 1, H, W) in [0, 1]."""
    clean = images[:n].astype(np.float32) / 255.0
    noisy = autoencoder.corrupt(clean, rng)
    autoencoder.eval()
    with no_grad():
        restored = autoencoder(noisy).data
    return np.concatenate([clean, noisy, restored])
