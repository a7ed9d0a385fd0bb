"""Adversarial examples, the course's last lecture: attacks, robustness evaluation and
adversarial training, for any classifier (an ``nn.Module`` mapping images (N, C, H, W)
inside a box [lo, hi] to class scores (N, classes)).

* gradient attacks in an eps-ball: :func:`fgsm`, :func:`bim`, :func:`pgd` (L-inf and L2,
  random start, restarts, targeted), :func:`mi_fgsm`;
* least-change attacks: :func:`deepfool`, :func:`carlini_wagner_l2`;
* black-box attacks: :func:`transfer_attack` (crafted on a surrogate) and
  :func:`square_attack` (score queries only);
* the linear case: :class:`LinearScores`, :func:`linear_fgsm` (closed form);
* evaluation: :func:`robust_accuracy`, :func:`accuracy_curve`, :func:`build_attack`,
  :func:`gradient_masking_checks`;
* defences: :class:`AdversarialTraining` (FGSM with a random start, PGD, TRADES), the
  ``adversary`` of ``visiongrad.train.Trainer``.

Every attack leaves its inputs alone and returns images of their shape and dtype inside
the box; it refuses a negative eps, a box with lo >= hi, classes outside the model's and a
model in training mode whose batch norm would change.

>>> from visiongrad import adversarial as adv            # doctest: +SKIP
>>> x_adv = adv.pgd(model, images, labels, eps=0.1, alpha=0.01, steps=40)
"""

from .blackbox import square_attack, transfer_attack
from .evaluate import (
    METHODS,
    accuracy_curve,
    build_attack,
    gradient_masking_checks,
    robust_accuracy,
    within_budget,
)
from .gradient import bim, fgsm, mi_fgsm, pgd
from .linear import LinearScores, linear_fgsm, linear_loss, linear_loss_gradient
from .minimal import carlini_wagner_l2, deepfool
from .training import ADVERSARIAL_METHODS, AdversarialTraining, OnPixels

__all__ = [
    "ADVERSARIAL_METHODS", "AdversarialTraining", "LinearScores", "METHODS", "OnPixels",
    "accuracy_curve", "bim", "build_attack", "carlini_wagner_l2", "deepfool", "fgsm",
    "gradient_masking_checks", "linear_fgsm", "linear_loss", "linear_loss_gradient",
    "mi_fgsm", "pgd", "robust_accuracy", "square_attack", "transfer_attack", "within_budget",
]
