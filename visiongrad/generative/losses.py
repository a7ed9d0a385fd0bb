"""The losses of generative models: the GAN games, the ELBO's terms, likelihoods in bits.

GAN losses follow the course (means over the batch). With D's logits s = D(x) for real
images and D(G(z)) for generated ones:

- ``discriminator_loss``: -E[log sigmoid(s_real)] - E[log(1 - sigmoid(s_fake))], that is
  BCE-with-logits of the real logits against 1 plus that of the fake ones against 0;
- ``generator_loss`` (non-saturating): -E[log sigmoid(s_fake)], BCE of the fakes against 1
  (its gradient is large exactly where D confidently rejects G's samples);
- least squares (LSGAN): D's loss 1/2 E[(s_real - 1)^2] + 1/2 E[s_fake^2], G's loss
  1/2 E[(s_fake - 1)^2] on unbounded scores.
"""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..autograd import Tensor, as_tensor, where
from ..ops.contractive import ContractivePenalty


def _ones_like(x: Tensor, value: float) -> np.ndarray:
    return np.full(x.shape, value, dtype=x.data.dtype)


def discriminator_loss(logits_real, logits_fake) -> Tensor:
    """-mean log D(x) - mean log(1 - D(G(z))), D = sigmoid of the logits (shape (N,) or (N, 1)).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import generative
    >>> import visiongrad as vg
    >>> real, fake = vg.tensor([2.0, 1.0]), vg.tensor([-1.0, 0.5])
    >>> sig = lambda v: 1 / (1 + np.exp(-v))
    >>> by_hand = -np.mean(np.log(sig(real.data))) - np.mean(np.log(1 - sig(fake.data)))
    >>> bool(np.isclose(float(generative.discriminator_loss(real, fake).data), by_hand))
    True
    """
    logits_real, logits_fake = as_tensor(logits_real), as_tensor(logits_fake)
    return (F.binary_cross_entropy_with_logits(logits_real, _ones_like(logits_real, 1.0))
            + F.binary_cross_entropy_with_logits(logits_fake, _ones_like(logits_fake, 0.0)))


def generator_loss(logits_fake) -> Tensor:
    """The non-saturating generator loss -mean log D(G(z)).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import generative
    >>> import visiongrad as vg
    >>> fake = vg.tensor([0.0, 0.0])   # D = 1/2 on both
    >>> round(float(generative.generator_loss(fake).data), 4), round(float(np.log(2)), 4)
    (0.6931, 0.6931)
    """
    logits_fake = as_tensor(logits_fake)
    return F.binary_cross_entropy_with_logits(logits_fake, _ones_like(logits_fake, 1.0))


def ls_discriminator_loss(scores_real, scores_fake) -> Tensor:
    """LSGAN's 1/2 mean (D(x) - 1)^2 + 1/2 mean D(G(z))^2.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import generative
    >>> import visiongrad as vg
    >>> float(generative.ls_discriminator_loss(vg.tensor([1.0, 0.0]), vg.tensor([0.0, 1.0])).data)
    0.5
    """
    scores_real, scores_fake = as_tensor(scores_real), as_tensor(scores_fake)
    return 0.5 * (F.mse_loss(scores_real, _ones_like(scores_real, 1.0))
                  + F.mse_loss(scores_fake, _ones_like(scores_fake, 0.0)))


def ls_generator_loss(scores_fake) -> Tensor:
    """LSGAN's 1/2 mean (D(G(z)) - 1)^2.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import generative
    >>> import visiongrad as vg
    >>> float(generative.ls_generator_loss(vg.tensor([0.0, 1.0])).data)
    0.25
    """
    scores_fake = as_tensor(scores_fake)
    return 0.5 * F.mse_loss(scores_fake, _ones_like(scores_fake, 1.0))


def gaussian_kl(mu, logvar) -> Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) per example, summed over the latent axis.

    KL = 1/2 sum_k (mu_k^2 + exp(logvar_k) - 1 - logvar_k); shapes (N, K) -> (N,).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import generative
    >>> import visiongrad as vg
    >>> kl = generative.gaussian_kl(vg.tensor([[0.0, 1.0]]), vg.tensor([[0.0, 0.0]]))
    >>> kl.data   # 1/2 (mu^2 + sigma^2 - log sigma^2 - 1) summed: 1/2 * 1
    array([0.5], dtype=float32)
    """
    mu, logvar = as_tensor(mu), as_tensor(logvar)
    return 0.5 * (mu * mu + F.exp(logvar) - 1.0 - logvar).sum(axis=1)


def bernoulli_nll(logits, x) -> Tensor:
    """-log p(x | logits) of Bernoulli pixels, summed per example: (N, ...) -> (N,).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import generative
    >>> import visiongrad as vg
    >>> nll = generative.bernoulli_nll(vg.tensor([[0.0, 0.0]]), vg.tensor([[1.0, 0.0]]))
    >>> np.round(nll.data, 4), round(2 * np.log(2), 4)
    (array([1.3863], dtype=float32), np.float64(1.3863))
    """
    logits = as_tensor(logits)
    per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    return per_pixel.reshape(logits.shape[0], -1).sum(axis=1)


def gaussian_nll(mean, log_scale, x) -> Tensor:
    """-log N(x; mean, exp(log_scale)^2) summed per example (a density, in nats).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import generative
    >>> import visiongrad as vg
    >>> nll = generative.gaussian_nll(vg.tensor([[0.0]]), vg.tensor([[0.0]]), vg.tensor([[0.0]]))
    >>> np.round(nll.data, 4), round(0.5 * np.log(2 * np.pi), 4)
    (array([0.9189], dtype=float32), np.float64(0.9189))
    """
    mean, log_scale = as_tensor(mean), as_tensor(log_scale)
    z = (as_tensor(x) - mean) * F.exp(-log_scale)
    per_pixel = 0.5 * z * z + log_scale + 0.5 * math.log(2.0 * math.pi)
    return per_pixel.reshape(mean.shape[0], -1).sum(axis=1)


def discretized_logistic_nll(mean, log_scale, x, levels: int = 256) -> Tensor:
    """-log P(x) of 8-bit pixels under a logistic discretised into ``levels`` bins, per example.

    x is scaled to [-1, 1] (level k at -1 + 2k / (levels - 1)); with half-bin h = 1 / (levels - 1),
    P(x) = sigmoid((x + h - mean) / s) - sigmoid((x - h - mean) / s), s = exp(log_scale),
    where the lowest bin takes the whole left tail (P = sigmoid((x + h - mean) / s)) and the
    highest the right tail (P = 1 - sigmoid((x - h - mean) / s)), so the levels' probabilities
    sum to 1 (PixelCNN++'s likelihood, one logistic instead of a mixture). In logs, with
    a = (x + h - mean) / s and b = (x - h - mean) / s, every term stays finite and exact:
    log sigmoid(a) = -softplus(-a), log(1 - sigmoid(b)) = -softplus(b), and the interior
    sigmoid(a) - sigmoid(b) = sigmoid(a) (1 - sigmoid(b)) (1 - e^-(a - b)), so
    log P = -softplus(-a) - softplus(b) + log(1 - e^(-2h / s)) (no difference of two
    nearly equal probabilities).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import generative
    >>> import visiongrad as vg
    >>> x = vg.tensor(np.zeros((1, 1, 2, 2)))
    >>> mean, log_scale = vg.tensor(np.zeros((1, 1, 2, 2))), vg.tensor(np.zeros((1, 1, 2, 2)))
    >>> nll = generative.discretized_logistic_nll(mean, log_scale, x)
    >>> nll.shape
    (1,)
    """
    mean, log_scale = as_tensor(mean), as_tensor(log_scale)
    x_array = np.asarray(x.data if isinstance(x, Tensor) else x, dtype=mean.data.dtype)
    if np.any(np.abs(x_array) > 1.0 + 1e-6):
        raise ValueError("discretized_logistic_nll needs x scaled to [-1, 1]")
    half_bin = 1.0 / (levels - 1)
    inv_scale = F.exp(-log_scale)
    centred = x_array - mean
    plus, minus = (centred + half_bin) * inv_scale, (centred - half_bin) * inv_scale
    log_cdf_plus = -F.softplus(-plus)
    log_one_minus_cdf_minus = -F.softplus(minus)
    log_bin_width_term = F.log(1.0 - F.exp(-2.0 * half_bin * inv_scale))
    interior = log_cdf_plus + log_one_minus_cdf_minus + log_bin_width_term
    log_prob = where(x_array < -1.0 + half_bin / 2, log_cdf_plus,
                     where(x_array > 1.0 - half_bin / 2, log_one_minus_cdf_minus, interior))
    return -log_prob.reshape(mean.shape[0], -1).sum(axis=1)


def bits_per_dim(nll_nats, dims: int) -> float:
    """A per-example negative log-likelihood in nats as bits per dimension: nll / (dims ln 2).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import generative
    >>> generative.bits_per_dim(784 * np.log(2), dims=784)   # 1 nat-per-dim log 2 = 1 bit
    1.0
    """
    return float(np.mean(np.asarray(nll_nats.data if isinstance(nll_nats, Tensor) else nll_nats))
                 / (dims * math.log(2.0)))


def contractive_penalty(x, weight, bias) -> Tensor:
    """Mean over the batch of ||J_f(x)||_F^2 for the sigmoid encoder h = sigmoid(x W^T + b).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import generative
    >>> import visiongrad as vg
    >>> x = vg.tensor(np.zeros((1, 2)))
    >>> w, b = vg.tensor(np.eye(2)), vg.tensor(np.zeros(2))
    >>> float(generative.contractive_penalty(x, w, b).data)   # h = 1/2: (h(1-h))^2 |w|^2 = 2/16
    0.125
    """
    return ContractivePenalty.apply(x, weight, bias)
