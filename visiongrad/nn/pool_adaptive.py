"""Adaptive pooling layers: AdaptiveAvgPool2d, AdaptiveMaxPool2d (any input size to a
fixed output size, with PyTorch's bins; see ``ops/adaptive_pool.py``)."""

from __future__ import annotations

from .. import functional as F
from .module import Module


class _AdaptivePool2d(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(_AdaptivePool2d):
    """Mean over adaptive bins: (N, C, H, W) -> (N, C, *output_size) for any H, W.

    Output row i pools input rows floor(i H / Ho) to ceil((i + 1) H / Ho) - 1 (likewise
    columns); ``output_size`` is an int, a pair, or a pair with None (keep that size).

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.AdaptiveAvgPool2d((2, 2))
    >>> layer(vg.randn(1, 3, 7, 7)).shape
    (1, 3, 2, 2)
    """

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)


class AdaptiveMaxPool2d(_AdaptivePool2d):
    """Maximum over adaptive bins (the bins of ``AdaptiveAvgPool2d``).

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.AdaptiveMaxPool2d(1)
    >>> layer(vg.randn(1, 3, 7, 7)).shape
    (1, 3, 1, 1)
    """

    def forward(self, x):
        return F.adaptive_max_pool2d(x, self.output_size)
