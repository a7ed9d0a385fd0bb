"""Autoencoders: undercomplete, sparse (L1 or KL), denoising and contractive.

All five share one network: a sigmoid encoder layer h = sigmoid(W x + b) with fewer units
than pixels (the bottleneck that makes it undercomplete) and a decoder whose logits score
each pixel intensity in [0, 1] by binary cross-entropy. The variants differ only in what
is added to the reconstruction loss, or done to the input:

- ``"undercomplete"``: nothing;
- ``"sparse_l1"``: ``strength * mean_n sum_j |h_nj|``;
- ``"sparse_kl"``: ``strength * sum_j KL(rho || rho_hat_j)``, rho_hat_j = mean_n h_nj, the
  average activation pushed towards the target ``sparsity`` rho;
- ``"denoising"``: the encoder sees x with each pixel zeroed with probability ``noise``;
  the loss still scores the clean x;
- ``"contractive"``: ``strength * mean_n ||dh/dx||_F^2``
  (:class:`visiongrad.ops.contractive.ContractivePenalty`).
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn
from ..autograd import Tensor, as_tensor
from ..random import as_generator
from .losses import contractive_penalty

KINDS = ("undercomplete", "sparse_l1", "sparse_kl", "denoising", "contractive")


class Autoencoder(nn.Module):
    """x (N, 1, 28, 28) in [0, 1] -> code (N, code_dim) in (0, 1) -> reconstruction logits.

    Parameters
    ----------
    kind : one of :data:`KINDS`
    input_dim : int
        Pixels per image (784 for 28 x 28).
    code_dim : int
        Units of the sigmoid code; below ``input_dim`` (undercomplete).
    hidden_dim : int
        Units of the decoder's ReLU hidden layer.
    strength : float
        Weight of the sparsity or contractive penalty (unused otherwise).
    sparsity : float
        The KL variant's target mean activation rho.
    noise : float
        The denoising variant's probability of zeroing a pixel.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import generative
    >>> import visiongrad as vg
    >>> ae = generative.Autoencoder(kind='denoising', code_dim=8, hidden_dim=32)
    >>> ae(vg.tensor(np.random.default_rng(0).random((2, 1, 28, 28)))).shape
    (2, 1, 28, 28)
    """

    def __init__(self, kind: str = "undercomplete", input_dim: int = 784, code_dim: int = 64,
                 hidden_dim: int = 256, strength: float = 1e-3, sparsity: float = 0.05,
                 noise: float = 0.3):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"Autoencoder kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if not 0 < code_dim < input_dim:
            raise ValueError(f"code_dim must be in (0, input_dim={input_dim}), got {code_dim}")
        if not 0 < sparsity < 1 or not 0 <= noise < 1 or strength < 0:
            raise ValueError("need 0 < sparsity < 1, 0 <= noise < 1 and strength >= 0, "
                             f"got {sparsity}, {noise}, {strength}")
        self.kind, self.strength, self.sparsity, self.noise = kind, strength, sparsity, noise
        self.encoder = nn.Linear(input_dim, code_dim)
        self.decoder = nn.Sequential(nn.Linear(code_dim, hidden_dim), nn.ReLU(),
                                     nn.Linear(hidden_dim, input_dim))

    def encode(self, x) -> Tensor:
        """The code h = sigmoid(W x + b), x flattened to (N, input_dim)."""
        x = as_tensor(x)
        return F.sigmoid(self.encoder(x.reshape(x.shape[0], -1)))

    def forward(self, x) -> Tensor:
        """Reconstruction in [0, 1], shaped like x."""
        x = as_tensor(x)
        return F.sigmoid(self.decoder(self.encode(x))).reshape(*x.shape)

    def corrupt(self, x: np.ndarray, rng=None) -> np.ndarray:
        """x with each pixel zeroed with probability ``noise`` (the denoising input)."""
        keep = as_generator(rng).random(x.shape) >= self.noise
        return (x * keep).astype(x.dtype)

    def loss(self, x, rng=None) -> tuple[Tensor, dict[str, float]]:
        """The training loss and its terms: reconstruction (BCE summed over pixels, mean over
        the batch) plus the variant's penalty. ``rng`` draws the denoising corruption."""
        x = np.asarray(x.data if isinstance(x, Tensor) else x)
        flat = x.reshape(x.shape[0], -1)
        seen = self.corrupt(flat, rng) if self.kind == "denoising" else flat
        code = self.encode(seen)
        logits = self.decoder(code)
        reconstruction = F.binary_cross_entropy_with_logits(logits, flat, reduction="sum") * (
            1.0 / x.shape[0])
        penalty = self.penalty(seen, code)
        total = reconstruction if penalty is None else reconstruction + penalty
        terms = {"reconstruction": reconstruction.item()}
        if penalty is not None:
            terms["penalty"] = penalty.item()
        return total, terms

    def penalty(self, x_seen: np.ndarray, code: Tensor) -> Tensor | None:
        """The variant's regulariser of the code (None for undercomplete and denoising)."""
        if self.kind == "sparse_l1":
            return self.strength * F.abs(code).sum(axis=1).mean()
        if self.kind == "sparse_kl":
            rho, rho_hat = self.sparsity, code.mean(axis=0)
            kl = (rho * np.log(rho) - rho * F.log(rho_hat)
                  + (1 - rho) * np.log(1 - rho) - (1 - rho) * F.log(1.0 - rho_hat))
            return self.strength * kl.sum()
        if self.kind == "contractive":
            return self.strength * contractive_penalty(x_seen, self.encoder.weight,
                                                       self.encoder.bias)
        return None
