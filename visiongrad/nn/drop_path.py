"""Drop-path layers: DropPath (torchvision's StochasticDepth) and the paper's stochastic
depth gate, which scales by the survival probability at test time instead."""

from __future__ import annotations

from .. import functional as F
from ..ops.drop_path import DROP_PATH_MODES
from .module import Module


class DropPath(Module):
    """In training, zero each example (``mode="row"``) or the whole batch (``"batch"``)
    with probability ``p`` and scale the rest by 1 / (1 - p); the identity in evaluation.
    torchvision's ``StochasticDepth(p, mode)``.

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.DropPath(0.2)
    >>> layer(vg.randn(4, 3, 2, 2)).shape
    (4, 3, 2, 2)
    """

    def __init__(self, p: float = 0.5, mode: str = "row"):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"DropPath: p must be between 0 and 1, got {p}")
        if mode not in DROP_PATH_MODES:
            raise ValueError(f"DropPath: mode must be 'row' or 'batch', got {mode!r}")
        self.p, self.mode = p, mode

    def forward(self, x):
        return F.drop_path(x, self.p, training=self.training, mode=self.mode)

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"


class SurvivalGate(Module):
    """Stochastic depth's gate on a residual branch f(x) (Huang et al. 2016, eq. 2 and 5).

    Training:   y = b f(x), b ~ Bernoulli(survival_prob), one draw per mini-batch
                (``mode="batch"``, as the paper) or per example (``"row"``)
    Evaluation: y = survival_prob f(x)
    So E[y] in training equals y in evaluation. This is ``survival_prob`` times
    ``drop_path(f(x), p=1 - survival_prob)``: the same mask, rescaled to the paper's
    test-time form.

    Examples
    --------
    >>> _ = vg.manual_seed(0)
    >>> gate = nn.SurvivalGate(survival_prob=0.8)
    >>> gate(vg.ones(2, 3))
    Tensor([[1. 1. 1.]
     [1. 1. 1.]])
    >>> gate.eval()(vg.ones(2, 3))
    Tensor([[0.8 0.8 0.8]
     [0.8 0.8 0.8]])
    """

    def __init__(self, survival_prob: float, mode: str = "batch"):
        super().__init__()
        if not 0 < survival_prob <= 1:
            raise ValueError(f"SurvivalGate: survival_prob must be in (0, 1], got "
                             f"{survival_prob}")
        if mode not in DROP_PATH_MODES:
            raise ValueError(f"SurvivalGate: mode must be 'row' or 'batch', got {mode!r}")
        self.survival_prob, self.mode = survival_prob, mode

    def forward(self, x):
        if self.survival_prob == 1:
            return x
        kept = F.drop_path(x, 1 - self.survival_prob, training=self.training, mode=self.mode)
        return kept * self.survival_prob

    def extra_repr(self) -> str:
        return f"survival_prob={self.survival_prob}, mode={self.mode}"
