"""Adversarial training: the defence that works (Goodfellow et al., 2015; Madry et al.,
2018). The Trainer's ``adversary`` option takes an :class:`AdversarialTraining`, which
gives it the loss of each batch under attack:

* ``"fgsm"``: FGSM from a random start, step 1.25 eps ("fast is better than free", Wong
  et al., 2020), one gradient per batch more than plain training;
* ``"pgd"``: PGD from a random start, ``steps`` steps of alpha (Madry et al.);
* ``"trades"``: CE(f(x), y) + beta KL(f(x) || f(x')), x' the PGD maximiser of the KL term
  (Zhang et al., 2019).

The attacks run in pixel space (the box), on the model with its input standardisation in
front (:class:`OnPixels`), and with the model in eval mode (running batch-norm
statistics, not updated by the attack); the training step then runs in train mode.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from .. import functional as F
from .. import nn
from ..autograd import Tensor
from .arguments import check_box, check_count, check_positive
from .evaluate import robust_accuracy
from .gradient import pgd

ADVERSARIAL_METHODS = ("fgsm", "pgd", "trades")
"""The ways :class:`AdversarialTraining` makes its training examples (its ``method``).

Examples
--------
>>> "pgd" in ADVERSARIAL_METHODS
True
"""


class OnPixels(nn.Module):
    """``model`` with per-channel standardisation in front: pixels in, scores out.

        model((x - mean[c]) / std[c])

    Parameters
    ----------
    model : nn.Module taking standardised images
    mean, std : sequence of C floats (``ChannelNormalizer``'s ``mean_``, ``std_``)

    Examples
    --------
    >>> from visiongrad.adversarial import OnPixels
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3)).eval()
    >>> images, labels = np.full((2, 1, 2, 2), 0.5, np.float32), np.array([0, 2])
    >>> net = OnPixels(model, mean=(0.5,), std=(0.25,))
    >>> standardised = vg.tensor((images - 0.5) / 0.25)
    >>> bool(np.allclose(net(vg.tensor(images)).data, model(standardised).data))
    True
    """

    def __init__(self, model, mean, std):
        super().__init__()
        self.model = model
        self.mean = np.asarray(mean, dtype=np.float32).reshape(1, -1, 1, 1)
        self.std = np.asarray(std, dtype=np.float32).reshape(1, -1, 1, 1)
        if self.mean.shape != self.std.shape or not (self.std > 0).all():
            raise ValueError(f"mean and std must be C values each, std > 0, got {mean!r} and "
                             f"{std!r}")

    def forward(self, x):
        return self.model((x - Tensor(self.mean)) / Tensor(self.std))

    def to_pixels(self, images: np.ndarray) -> np.ndarray:
        """Standardised images back in pixel space, in their dtype."""
        return (images * self.std + self.mean).astype(images.dtype, copy=False)

    def from_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """Pixels standardised as the model takes them, in their dtype."""
        return ((pixels - self.mean) / self.std).astype(pixels.dtype, copy=False)


class AdversarialTraining:
    """The Trainer's ``adversary``: each batch's loss on adversarial images.

    Parameters
    ----------
    method : "fgsm", "pgd" or "trades" (module docstring)
    eps : float > 0       L-inf radius in pixel space
    steps : int           PGD's and TRADES' steps (FGSM takes one)
    alpha : float, optional
        Step length; default 2.5 eps / steps (fgsm: 1.25 eps).
    beta : float          TRADES' weight of the robustness term
    box : (lo, hi)        pixel range
    mean, std : per-channel standardisation the Trainer's images went through (the
        training images are pixels when they are None)
    seed : int, Generator or None   random starts
    val_images, val_steps : int
        :meth:`robust_accuracy` (the Trainer's validation score) attacks this many
        validation images with PGD of this many steps.

    Examples
    --------
    >>> from visiongrad.adversarial import AdversarialTraining
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3)).eval()
    >>> images, labels = np.full((2, 1, 2, 2), 0.5, np.float32), np.array([0, 2])
    >>> adversary = AdversarialTraining(method='fgsm', eps=0.1)
    >>> scores, loss = adversary.loss(model, images, labels)   # on FGSM images of the batch
    >>> scores.shape, loss.shape
    ((2, 3), ())
    """

    def __init__(self, method: str = "pgd", eps: float = 0.1, steps: int = 7,
                 alpha: float | None = None, beta: float = 6.0, box=(0.0, 1.0),
                 mean=None, std=None, seed=None, val_images: int = 1000,
                 val_steps: int = 10):
        if method not in ADVERSARIAL_METHODS:
            raise ValueError(f"method must be one of {ADVERSARIAL_METHODS}, got {method!r}")
        self.method, self.box = method, check_box(box)
        self.eps = check_positive("eps", eps, allow_zero=False)
        self.steps = 1 if method == "fgsm" else check_count("steps", steps)
        default = 1.25 * self.eps if method == "fgsm" else 2.5 * self.eps / self.steps
        self.alpha = default if alpha is None else check_positive("alpha", alpha, False)
        self.beta = check_positive("beta", beta)
        if (mean is None) != (std is None):
            raise ValueError("give both mean and std, or neither")
        self.mean, self.std, self.seed = mean, std, seed
        self.val_images = check_count("val_images", val_images)
        self.val_steps = check_count("val_steps", val_steps)

    def __repr__(self) -> str:
        return (f"AdversarialTraining(method={self.method!r}, eps={self.eps}, "
                f"steps={self.steps}, alpha={self.alpha:.4g}, beta={self.beta})")

    def loss(self, model, images: np.ndarray, labels: np.ndarray, loss_fn=F.cross_entropy):
        """The scores on the adversarial images and the batch's loss (a scalar Tensor),
        with ``model`` in the mode it came in (train) for both."""
        pixels_model, pixels = self._on_pixels(model, images)
        training = model.training
        model.eval()
        try:
            if self.method == "trades":
                clean = np.asarray(pixels_model(Tensor(pixels)).data)
                adversarial = pgd(pixels_model, pixels, labels, self.eps, self.alpha,
                                  self.steps, random_start=True, box=self.box, seed=self.seed,
                                  loss_fn=lambda scores, _: _kl(Tensor(clean), scores))
            else:
                adversarial = pgd(pixels_model, pixels, labels, self.eps, self.alpha,
                                  self.steps, random_start=True, box=self.box, seed=self.seed,
                                  loss_fn=loss_fn)
        finally:
            model.train(training)
        from_pixels = getattr(pixels_model, "from_pixels", lambda a: a)
        scores = model(Tensor(from_pixels(adversarial)))
        if self.method != "trades":
            return scores, loss_fn(scores, labels)
        clean_scores = model(Tensor(images))
        return scores, loss_fn(clean_scores, labels) + self.beta * _kl(clean_scores, scores)

    def robust_accuracy(self, model, images: np.ndarray, labels: np.ndarray) -> float:
        """The validation score of adversarial training: accuracy on the first
        ``val_images`` of ``images`` (as the Trainer feeds them) under PGD of ``val_steps``
        steps of 2.5 eps / val_steps from a random start (seed 0: the same start every
        epoch), model in eval mode. Robust accuracy peaks before clean accuracy does and
        then falls ("robust overfitting", Rice et al., 2020), so the Trainer keeps the
        epoch where this is best.

        Examples
        --------
        >>> from visiongrad.adversarial import AdversarialTraining
        >>> _ = vg.manual_seed(0)
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
        >>> images, labels = np.full((2, 1, 2, 2), 0.5, np.float32), np.array([0, 2])
        >>> adversary = AdversarialTraining(method='pgd', eps=0.1, val_steps=3)
        >>> 0.0 <= adversary.robust_accuracy(model, images, labels) <= 1.0, model.training
        (True, True)
        """
        count = min(self.val_images, len(labels))
        pixels_model, pixels = self._on_pixels(model, images[:count])
        attack = partial(pgd, eps=self.eps, alpha=2.5 * self.eps / self.val_steps,
                         steps=self.val_steps, random_start=True, box=self.box, seed=0)
        training = model.training
        model.eval()
        try:
            return robust_accuracy(pixels_model, (pixels, np.asarray(labels[:count])), attack)
        finally:
            model.train(training)

    def _on_pixels(self, model, images: np.ndarray):
        """``model`` taking pixels (:class:`OnPixels` when there is a standardisation) and
        ``images`` as pixels inside the box."""
        pixels_model = model if self.mean is None else OnPixels(model, self.mean, self.std)
        to_pixels = getattr(pixels_model, "to_pixels", lambda a: a)
        return pixels_model, np.clip(to_pixels(images), *self.box).astype(images.dtype)


def _kl(clean_scores, scores):
    """KL(softmax(clean) || softmax(scores)), summed over classes, mean over the batch."""
    p = F.softmax(clean_scores, 1)
    gap = F.log_softmax(clean_scores, 1) - F.log_softmax(scores, 1)
    return (p * gap).sum() / len(scores.data)
