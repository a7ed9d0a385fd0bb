"""Fully-connected layers and the layers that only move data: Linear, Embedding, Flatten,
Identity."""

from __future__ import annotations

import math

from .. import functional as F
from ..backend import get_default_dtype, xp
from . import init
from .module import Module, Parameter


def empty_parameter(*shape: int) -> Parameter:
    """A parameter of ``shape`` in the default dtype, to be filled by an init scheme."""
    return Parameter(xp.zeros(shape, dtype=get_default_dtype()))


def check_positive(owner: str, **sizes: int) -> None:
    """Raise ``ValueError`` naming the first size that is not a positive integer."""
    for name, value in sizes.items():
        if int(value) != value or value <= 0:
            raise ValueError(f"{owner}: {name} must be a positive integer, got {value}")


def reset_weight_and_bias(weight: Parameter, bias: Parameter | None) -> None:
    """PyTorch's default for Linear and convolutions: W ~ kaiming_uniform(a=sqrt(5)), that is
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        bound = 1 / math.sqrt(init.fan_in_and_fan_out(weight.shape)[0])
        init.uniform_(bias, -bound, bound)


class Linear(Module):
    """y = x W^T + b.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool
        Learn an additive bias.

    Notes
    -----
    Shapes: x (..., in_features) -> y (..., out_features); ``weight`` (out_features,
    in_features), ``bias`` (out_features,), as in PyTorch.

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.Linear(4, 2)
    >>> layer(vg.randn(3, 4)).shape
    (3, 2)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        check_positive(type(self).__name__, in_features=in_features, out_features=out_features)
        self.in_features, self.out_features = in_features, out_features
        self.weight = empty_parameter(out_features, in_features)
        self.bias = empty_parameter(out_features) if bias else None
        reset_weight_and_bias(self.weight, self.bias)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Embedding(Module):
    """A lookup table: integer indices (...) -> rows of ``weight`` (num_embeddings, dim).

    ``weight`` starts as N(0, 1), as in PyTorch.

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.Embedding(10, 4)
    >>> layer(vg.tensor(np.array([[1, 2, 3]]))).shape
    (1, 3, 4)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int):
        super().__init__()
        check_positive("Embedding", num_embeddings=num_embeddings, embedding_dim=embedding_dim)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = init.normal_(empty_parameter(num_embeddings, embedding_dim))

    def forward(self, indices):
        return F.embedding(indices, self.weight)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


class Flatten(Module):
    """Merge the axes from ``start_dim`` on: (N, C, H, W) -> (N, C*H*W) by default.

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.Flatten()
    >>> layer(vg.randn(2, 3, 4, 4)).shape
    (2, 48)
    """

    def __init__(self, start_dim: int = 1):
        super().__init__()
        self.start_dim = start_dim

    def forward(self, x):
        return x.flatten(self.start_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}"


class Identity(Module):
    """Returns its input (a placeholder, e.g. a residual block's plain shortcut).

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.Identity()
    >>> layer(vg.randn(2, 3)).shape
    (2, 3)
    """

    def forward(self, x):
        return x
