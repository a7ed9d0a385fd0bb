"""Activation layers: thin modules over the functional activations."""

from __future__ import annotations

from .. import functional as F
from ..backend import get_default_dtype, xp
from .module import Module, Parameter


class ReLU(Module):
    """max(0, x).

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.ReLU()
    >>> layer(vg.randn(2, 3)).shape
    (2, 3)
    """

    def forward(self, x):
        return F.relu(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x)).

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.Sigmoid()
    >>> layer(vg.randn(2, 3)).shape
    (2, 3)
    """

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    """tanh(x).

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.Tanh()
    >>> layer(vg.randn(2, 3)).shape
    (2, 3)
    """

    def forward(self, x):
        return F.tanh(x)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x.

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.LeakyReLU(0.1)
    >>> layer(vg.randn(2, 3)).shape
    (2, 3)
    """

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """x if x > 0 else alpha * (exp(x) - 1).

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.ELU()
    >>> layer(vg.randn(2, 3)).shape
    (2, 3)
    """

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class PReLU(Module):
    """x if x > 0 else a * x with a learned slope ``weight``: one shared
    (``num_parameters=1``) or one per channel (axis 1); every slope starts at ``init``.

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.PReLU()
    >>> layer(vg.randn(2, 3)).shape
    (2, 3)
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25):
        super().__init__()
        if int(num_parameters) != num_parameters or num_parameters <= 0:
            raise ValueError(f"PReLU: num_parameters must be a positive integer, "
                             f"got {num_parameters}")
        self.num_parameters = num_parameters
        self.weight = Parameter(xp.full((num_parameters,), init, dtype=get_default_dtype()))

    def forward(self, x):
        return F.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Maxout(Module):
    """The course's maxout: the maximum over each run of ``pieces`` consecutive features
    (axis 1), (N, C * pieces, ...) -> (N, C, ...). Put it after a layer with
    ``pieces`` times as many outputs. (PyTorch has no maxout.)

    Examples
    --------
    >>> nn.Maxout(pieces=2)(vg.tensor([[1.0, 3.0, -2.0, -1.0]]))
    Tensor([[ 3. -1.]])
    """

    def __init__(self, pieces: int):
        super().__init__()
        if int(pieces) != pieces or pieces <= 0:
            raise ValueError(f"Maxout: pieces must be a positive integer, got {pieces}")
        self.pieces = pieces

    def forward(self, x):
        return F.maxout(x, self.pieces)

    def extra_repr(self) -> str:
        return f"pieces={self.pieces}"


class Softmax(Module):
    """exp(x) / sum(exp(x)) along ``dim``.

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.Softmax(dim=1)
    >>> layer(vg.randn(2, 3)).shape
    (2, 3)
    """

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
