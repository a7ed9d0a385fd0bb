"""Stochastic regularisation layers: Dropout and DropConnectLinear."""

from __future__ import annotations

from .. import functional as F
from .linear import Linear
from .module import Module


class Dropout(Module):
    """Inverted dropout: in training each element is zeroed with probability ``p`` and the
    rest scaled by 1 / (1 - p); in evaluation the identity.

    NOTE: ``p`` is the probability of dropping, as in PyTorch; the course's p keeps.

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.Dropout(p=0.5)
    >>> layer(vg.ones(2, 4)).shape
    (2, 4)
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be between 0 and 1, got {p}")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, training=self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class DropConnectLinear(Linear):
    """A ``Linear`` layer whose weight entries are dropped with probability ``p`` in training.

    Training: y = x (W * m)^T + b, m = keep / (1 - p), keep ~ Bernoulli(1 - p) per entry;
    evaluation: y = x W^T + b (see ``functional.dropconnect``).

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.DropConnectLinear(4, 2, p=0.5)
    >>> layer(vg.randn(3, 4)).shape
    (3, 2)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, p: float = 0.5):
        if not 0 <= p <= 1:
            raise ValueError(f"DropConnectLinear: p must be between 0 and 1, got {p}")
        super().__init__(in_features, out_features, bias)
        self.p = p

    def forward(self, x):
        return F.dropconnect(x, self.weight, self.bias, p=self.p, training=self.training)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, p={self.p}"
