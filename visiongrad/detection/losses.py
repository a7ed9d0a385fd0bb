"""The box regression loss of Fast/Faster R-CNN: smooth L1 (Huber with slope 1).

NOTE: ``torch.nn.functional.smooth_l1_loss`` is not among visiongrad's ops yet, so this is
built on existing differentiable ops (abs, where, arithmetic); its gradient comes from
theirs. Same formula and ``beta`` as PyTorch's:

    l(d) = 0.5 d^2 / beta    if |d| < beta
         = |d| - 0.5 beta    otherwise            (d = prediction - target; beta = 0: L1)
    dl/dd = d / beta inside, sign(d) outside
"""

from __future__ import annotations

from ..autograd import Tensor, as_tensor, where
from ..functional import abs as absolute


def box_loss(prediction, target, beta: float = 1.0 / 9, reduction: str = "sum") -> Tensor:
    """Smooth L1 between box deltas ``prediction`` and ``target`` (same shape), summed
    (torchvision's detectors' choice, later divided by the sampled count), averaged
    ("mean") or per element ("none"); ``beta`` 1/9 as torchvision's RPN and RoI head."""
    if reduction not in ("sum", "mean", "none"):
        raise ValueError(f"reduction must be 'sum', 'mean' or 'none', got {reduction!r}")
    if beta < 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    prediction, target = as_tensor(prediction), as_tensor(target)
    if prediction.shape != target.shape:
        raise ValueError(f"prediction {prediction.shape} and target {target.shape} must have "
                         "the same shape")
    diff = prediction - target
    size = absolute(diff)
    if beta == 0:
        losses = size
    else:
        losses = where(size.data < beta, diff * diff * (0.5 / beta), size - 0.5 * beta)
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.mean()
