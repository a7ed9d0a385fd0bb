"""DCGAN's generator and discriminator for 28 x 28 grey images, and the GAN that holds both.

Following DCGAN's guidelines: no pooling (strided convolutions in D, transposed ones in
G), batch norm in both (not on G's output or D's input), ReLU in G with tanh on its
output (images in [-1, 1]), leaky ReLU (slope 0.2) in D, weights drawn from N(0, 0.02).

G: z (N, 100) -> linear -> 128 x 7 x 7 -> BN, ReLU -> convT 4x4/2 -> 64 x 14 x 14 -> BN, ReLU
   -> convT 4x4/2 -> 1 x 28 x 28 -> tanh
D: x (N, 1, 28, 28) -> conv 4x4/2 -> 64 x 14 x 14 -> lReLU -> conv 4x4/2 -> 128 x 7 x 7 -> BN,
   lReLU -> linear -> one logit (or least-squares score) per image

Samples come from an exponential moving average of G's weights (and batch-norm statistics),
    G_avg <- d G_avg + (1 - d) G,   d = min(decay, (1 + t) / (10 + t)) at G's step t,
which Yazici et al. (2019, "The Unusual Effectiveness of Averaging in GAN Training") show
smooths the oscillation of simultaneous gradient play and gives better samples than the
last iterate; the warm-up keeps the average from remembering the random start.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator

import numpy as np

from .. import nn
from ..autograd import Tensor, as_tensor, no_grad
from ..random import as_generator
from .losses import discriminator_loss, generator_loss, ls_discriminator_loss, ls_generator_loss

LOSSES = {"gan": (discriminator_loss, generator_loss),
          "lsgan": (ls_discriminator_loss, ls_generator_loss)}


@contextlib.contextmanager
def weights_held(module: nn.Module) -> Iterator[None]:
    """Within the block, ``module``'s parameters take no gradient (each one's flag restored
    afterwards); unlike ``nn.frozen``, the module keeps its mode."""
    flags = [(param, param.requires_grad) for param in module.parameters()]
    for param, _ in flags:
        param.requires_grad = False
    try:
        yield
    finally:
        for param, requires_grad in flags:
            param.requires_grad = requires_grad


class Reshape(nn.Module):
    """(N, ...) -> (N, *shape)."""

    def __init__(self, *shape: int):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


def dcgan_init(module: nn.Module, rng=None) -> None:
    """DCGAN's initialisation: conv and linear weights ~ N(0, 0.02), BN scales ~ N(1, 0.02),
    biases zero."""
    rng = as_generator(rng)
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            layer.weight.data[...] = rng.normal(0.0, 0.02, layer.weight.shape)
            if layer.bias is not None:
                layer.bias.data[...] = 0.0
        elif isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
            layer.weight.data[...] = rng.normal(1.0, 0.02, layer.weight.shape)
            layer.bias.data[...] = 0.0


class DCGANGenerator(nn.Sequential):
    """z (N, latent_dim) -> images (N, 1, 28, 28) in [-1, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import generative
    >>> import visiongrad as vg
    >>> generative.DCGANGenerator(latent_dim=16, width=8)(vg.randn(2, 16)).shape
    (2, 1, 28, 28)
    """

    def __init__(self, latent_dim: int = 100, width: int = 64):
        super().__init__(
            nn.Linear(latent_dim, 2 * width * 7 * 7, bias=False), nn.BatchNorm1d(2 * width * 7 * 7),
            nn.ReLU(), Reshape(2 * width, 7, 7),
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, 1, 4, stride=2, padding=1), nn.Tanh())
        self.latent_dim = latent_dim


class DCGANDiscriminator(nn.Sequential):
    """images (N, 1, 28, 28) -> one unbounded score per image (N, 1).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import generative
    >>> import visiongrad as vg
    >>> generative.DCGANDiscriminator(width=8)(vg.randn(2, 1, 28, 28)).shape
    (2, 1)
    """

    def __init__(self, width: int = 64):
        super().__init__(
            nn.Conv2d(1, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * width * 7 * 7, 1))


class GAN(nn.Module):
    """A generator and a discriminator trained by one of :data:`LOSSES` ("gan" uses the
    non-saturating generator loss, "lsgan" the least-squares pair), and ``generator_average``,
    the moving average of the generator that :meth:`sample` draws from (``average_decay``
    0 samples the last iterate).

    Examples
    --------
    >>> from visiongrad.generative import GAN
    >>> _ = vg.manual_seed(0)
    >>> gan = GAN(loss='lsgan', latent_dim=8, width=8, rng=0)
    >>> fake = gan.sample(2)
    >>> fake.shape, bool(fake.min() >= -1 and fake.max() <= 1)
    ((2, 1, 28, 28), True)
    >>> real = vg.zeros(2, 1, 28, 28)
    >>> gan.discriminator_step_loss(real, gan.generator(vg.tensor(gan.noise(2)))).shape
    ()
    """

    def __init__(self, loss: str = "gan", latent_dim: int = 100, width: int = 64, rng=None,
                 average_decay: float = 0.999):
        super().__init__()
        if loss not in LOSSES:
            raise ValueError(f"GAN loss must be one of {', '.join(LOSSES)}, got {loss!r}")
        if not 0 <= average_decay < 1:
            raise ValueError(f"average_decay must be in [0, 1), got {average_decay}")
        self.loss_kind = loss
        self.average_decay = average_decay
        self.generator = DCGANGenerator(latent_dim, width)
        self.discriminator = DCGANDiscriminator(width)
        rng = as_generator(rng)
        dcgan_init(self.generator, rng)
        dcgan_init(self.discriminator, rng)
        self.generator_average = copy.deepcopy(self.generator)
        self.generator_average.requires_grad_(False)
        self.register_buffer("average_steps", np.zeros((), dtype=np.int64))

    def noise(self, n: int, rng=None) -> np.ndarray:
        return as_generator(rng).standard_normal((n, self.generator.latent_dim)).astype(
            np.float32)

    def discriminator_step_loss(self, real, fake) -> Tensor:
        """D's loss on a batch of real images and one of generated images (detached)."""
        d_loss, _ = LOSSES[self.loss_kind]
        return d_loss(self.discriminator(as_tensor(real)), self.discriminator(fake.detach()))

    def generator_step_loss(self, fake: Tensor) -> Tensor:
        """G's loss on generated images: gradients flow through D into G, and not into D's
        weights (D's parameters take no gradient while this graph is recorded, so its
        backward pass computes no weight gradient G's step would not use; D keeps its
        training mode, batch statistics included)."""
        _, g_loss = LOSSES[self.loss_kind]
        with weights_held(self.discriminator):
            return g_loss(self.discriminator(fake))

    def update_average(self) -> None:
        """Move ``generator_average`` toward the generator (call after each G step)."""
        t = int(self.average_steps)
        decay = min(self.average_decay, (1 + t) / (10 + t))
        for average, current in zip(self.generator_average.parameters(),
                                    self.generator.parameters(), strict=True):
            average.data *= decay
            average.data += (1 - decay) * current.data
        for average, current in zip(self.generator_average.buffers(), self.generator.buffers(),
                                    strict=True):
            if average.dtype.kind == "f":
                average *= decay
                average += (1 - decay) * current
            else:  # batch norm's step counter
                average[...] = current
        self.average_steps[...] = t + 1

    def sample(self, n: int, rng=None) -> np.ndarray:
        """n images in [0, 1] from the averaged generator in eval mode (batch-norm running
        statistics)."""
        generator = self.generator_average if self.average_decay else self.generator
        was_training = generator.training
        generator.eval()
        with no_grad():
            images = generator(self.noise(n, rng)).data
        generator.train(was_training)
        return (images + 1.0) / 2.0
