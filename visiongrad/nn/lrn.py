"""Local response normalisation across channels (AlexNet, ZFNet, VGG's A-LRN)."""

from __future__ import annotations

from .. import functional as F
from .module import Module


class LocalResponseNorm(Module):
    """y_c = x_c / (k + alpha / size * sum_{c'} x_{c'}^2)^beta, the sum over the ``size``
    channels c - size//2 .. c + (size-1)//2 (see ``ops/lrn.py``); PyTorch's arguments.

    NOTE: alpha is divided by ``size`` as in PyTorch, not as in the AlexNet paper (whose
    n = 5, alpha = 1e-4, beta = 0.75, k = 2 is ``LocalResponseNorm(5, 5e-4, 0.75, 2)``).

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.LocalResponseNorm(3)
    >>> layer(vg.randn(1, 6, 4, 4)).shape
    (1, 6, 4, 4)
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"LocalResponseNorm: size must be a positive integer, got {size!r}")
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x):
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
