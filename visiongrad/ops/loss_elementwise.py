"""Elementwise losses beyond MSE, L1 and BCE with logits (``loss.py``): binary
cross-entropy on probabilities, smooth L1, Huber, and the Kullback-Leibler divergence.

Each is a ``_ElementwiseLoss``: its values and both partial derivatives computed together,
elementwise, then reduced ("mean", "sum", "none"; "batchmean" for ``kl_div``).
"""

from __future__ import annotations

from ..autograd import Tensor
from ..backend import array_module
from .loss import REDUCTIONS, _ElementwiseLoss

LOG_FLOOR = -100.0
"""PyTorch clamps binary cross-entropy's logarithms at -100, so a probability of exactly 0
or 1 gives a loss of 100 instead of infinity."""

BCE_EPSILON = 1e-12
"""PyTorch's floor on x (1 - x) in binary cross-entropy's input gradient."""


class BinaryCrossEntropy(_ElementwiseLoss):
    """Binary cross-entropy on probabilities x in [0, 1] (PyTorch's
    ``binary_cross_entropy``), each element optionally scaled by ``weight``.

    l = -(t log x + (1 - t) log(1 - x)), each log clamped at -100 (as PyTorch)
    dl/dx = (x - t) / max(x (1 - x), 1e-12),  dl/dt = log(1 - x) - log x (clamped logs)
    """

    name = "binary_cross_entropy"

    def elementwise(self, x, target):
        xp = array_module(x)
        if x.size and (x.min() < 0 or x.max() > 1):
            raise ValueError("binary_cross_entropy: input must hold probabilities in [0, 1], "
                             f"got values in [{x.min()}, {x.max()}]")
        with xp.errstate(divide="ignore"):
            log_x = xp.maximum(xp.log(x), LOG_FLOOR)
            log_rest = xp.maximum(xp.log(1 - x), LOG_FLOOR)
        values = -(target * log_x + (1 - target) * log_rest)
        d_input = (x - target) / xp.maximum(x * (1 - x), BCE_EPSILON)
        return values, d_input, log_rest - log_x


class SmoothL1Loss(_ElementwiseLoss):
    """Smooth L1 (PyTorch's ``smooth_l1_loss``), quadratic within ``beta`` of the target.

    d = x - t;  l = d^2 / (2 beta) if |d| < beta, else |d| - beta / 2  (beta = 0: |d|)
    dl/dx = d / beta if |d| < beta, else sign(d);  dl/dt = -dl/dx
    """

    name = "smooth_l1_loss"

    def elementwise(self, x, target, beta=1.0):
        xp = array_module(x)
        if beta < 0:
            raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
        diff = x - target
        size = xp.abs(diff)
        near = size < beta
        safe_beta = beta if beta > 0 else 1.0  # no |d| < 0: the quadratic branch is unused
        values = xp.where(near, 0.5 * diff * diff / safe_beta, size - 0.5 * beta)
        grad = xp.where(near, diff / safe_beta, xp.sign(diff))
        return values, grad, -grad


class HuberLoss(_ElementwiseLoss):
    """Huber loss (PyTorch's ``huber_loss``): delta times smooth L1 with beta = delta.

    d = x - t;  l = d^2 / 2 if |d| < delta, else delta (|d| - delta / 2)
    dl/dx = d if |d| < delta, else delta sign(d);  dl/dt = -dl/dx
    """

    name = "huber_loss"

    def elementwise(self, x, target, delta=1.0):
        xp = array_module(x)
        if delta <= 0:
            raise ValueError(f"huber_loss: delta must be positive, got {delta}")
        diff = x - target
        size = xp.abs(diff)
        near = size < delta
        values = xp.where(near, 0.5 * diff * diff, delta * (size - 0.5 * delta))
        grad = xp.where(near, diff, delta * xp.sign(diff))
        return values, grad, -grad


class KLDiv(_ElementwiseLoss):
    """Kullback-Leibler divergence (PyTorch's ``kl_div``) of the target distribution t from
    the input's, with x given as log-probabilities (and t too with ``log_target``).

    l = t (log t - x), 0 where t = 0;   dl/dx = -t,  dl/dt = log t - x + 1 (0 where t = 0)
    log_target: l = e^t (t - x);        dl/dx = -e^t, dl/dt = e^t (t - x + 1)
    "batchmean" divides the sum by the batch size N (the true KL divergence per example);
    "mean" divides by the number of elements, as PyTorch does.
    """

    name = "kl_div"
    reductions = (*REDUCTIONS, "batchmean")

    def elementwise(self, x, target, log_target=False):
        xp = array_module(x)
        if log_target:
            prob = xp.exp(target)
            return prob * (target - x), -prob, prob * (target - x + 1)
        positive = target > 0
        log_t = xp.log(xp.where(positive, target, 1))
        values = xp.where(positive, target * (log_t - x), 0)
        return values, -target, xp.where(positive, log_t - x + 1, 0)


def _array(x):
    return x.data if isinstance(x, Tensor) else x


def binary_cross_entropy(x, target, weight=None, *, reduction: str = "mean") -> Tensor:
    """-(t log x + (1 - t) log(1 - x)) on probabilities x, times ``weight``.

    Examples
    --------
    >>> F.binary_cross_entropy(vg.tensor([0.5, 0.9]), vg.tensor([1.0, 1.0]))
    Tensor(0.3993)
    """
    return BinaryCrossEntropy.apply(x, target, reduction=reduction, weight=_array(weight))


def smooth_l1_loss(x, target, *, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """d^2 / (2 beta) where |d| < beta, else |d| - beta / 2, d = x - target.

    Examples
    --------
    >>> F.smooth_l1_loss(vg.tensor([0.5, 3.0]), vg.tensor([0.0, 0.0]), reduction='none')
    Tensor([0.125 2.5  ])
    """
    return SmoothL1Loss.apply(x, target, reduction=reduction, beta=beta)


def huber_loss(x, target, *, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """d^2 / 2 where |d| < delta, else delta (|d| - delta / 2), d = x - target.

    Examples
    --------
    >>> F.huber_loss(vg.tensor([0.5, 3.0]), vg.tensor([0.0, 0.0]), reduction='none')
    Tensor([0.125 2.5  ])
    """
    return HuberLoss.apply(x, target, reduction=reduction, delta=delta)


def kl_div(x, target, *, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """sum of t (log t - x) over log-probabilities x; ``reduction="batchmean"`` divides by
    the batch size (the KL divergence per example).

    Examples
    --------
    >>> p = vg.tensor([[0.5, 0.5]])
    >>> F.kl_div(F.log(p), vg.tensor([[0.9, 0.1]]), reduction='batchmean')
    Tensor(0.3681)
    """
    return KLDiv.apply(x, target, reduction=reduction, log_target=log_target)
