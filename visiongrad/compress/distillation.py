"""Knowledge distillation (Hinton, Vinyals and Dean, 2015): a student learns from a
teacher's softened class distribution as well as from the labels."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn
from ..autograd import Tensor


def distillation_loss(student_logits, teacher_logits, labels, temperature: float = 4.0,
                      alpha: float = 0.9) -> Tensor:
    """``alpha * T^2 * KL(p_T(teacher) || p_T(student)) + (1 - alpha) * CE(student, labels)``.

    Notes
    -----
    p_T(z) = softmax(z / T). The KL term is averaged over the batch (PyTorch's
    ``kl_div(..., reduction="batchmean")``) and scaled by T^2, so its gradient keeps the
    size of the hard-label term's whatever T (Hinton et al., section 2):
    d/ds_i = alpha T (q_i - p_i) / N with q = p_T(student), p = p_T(teacher). The
    teacher's logits are constants (no gradient flows to the teacher).

    Shapes: student_logits, teacher_logits (N, C); labels (N,) integers.

    Examples
    --------
    >>> from visiongrad.compress import distillation_loss
    >>> _ = vg.manual_seed(0)
    >>> student, teacher = vg.randn(4, 3), vg.randn(4, 3)
    >>> distillation_loss(student, teacher, np.array([0, 1, 2, 0])).shape
    ()
    """
    teacher = np.asarray(teacher_logits.data if isinstance(teacher_logits, Tensor)
                         else teacher_logits)
    scaled = teacher / temperature
    log_target = scaled - scaled.max(axis=1, keepdims=True)
    log_target = log_target - np.log(np.exp(log_target).sum(axis=1, keepdims=True))
    log_student = F.log_softmax(student_logits / temperature, 1)
    target = np.exp(log_target)
    batch = student_logits.shape[0]
    kl = ((log_student * target).sum() * -1.0 + float((target * log_target).sum())) / batch
    soft = kl * (alpha * temperature ** 2)
    if alpha == 1.0:
        return soft
    return soft + F.cross_entropy(student_logits, labels) * (1.0 - alpha)


class DistillationLoss(nn.Module):
    """:func:`distillation_loss` as a loss module: ``loss(student_logits, teacher_logits,
    labels)``.

    Parameters
    ----------
    T : float
        Temperature (> 0) that softens both distributions.
    alpha : float in [0, 1]
        Weight of the soft (teacher) term; ``1 - alpha`` weighs the labels' cross-entropy.

    Examples
    --------
    >>> from visiongrad.compress import DistillationLoss
    >>> _ = vg.manual_seed(0)
    >>> loss = DistillationLoss(T=2.0, alpha=0.5)
    >>> round(float(loss(vg.zeros(2, 3), vg.zeros(2, 3), np.array([0, 1])).data), 4)
    0.5493
    """

    def __init__(self, T: float = 4.0, alpha: float = 0.9):  # noqa: N803 - Hinton's name
        super().__init__()
        if not T > 0:
            raise ValueError(f"T must be positive, got {T}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        self.T, self.alpha = float(T), float(alpha)

    def forward(self, student_logits, teacher_logits, labels):
        return distillation_loss(student_logits, teacher_logits, labels, self.T, self.alpha)

    def extra_repr(self) -> str:
        return f"T={self.T}, alpha={self.alpha}"
