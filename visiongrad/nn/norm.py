"""Normalisation layers: BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm."""

from __future__ import annotations

from typing import Any

from .. import functional as F
from ..backend import get_default_dtype, xp
from .linear import check_positive
from .module import Module, Parameter


def _affine_parameters(module: Module, shape: tuple[int, ...], affine: bool) -> None:
    """``weight`` (ones) and ``bias`` (zeros) of ``shape``, or both ``None``."""
    dtype = get_default_dtype()
    module.weight = Parameter(xp.ones(shape, dtype=dtype)) if affine else None
    module.bias = Parameter(xp.zeros(shape, dtype=dtype)) if affine else None


def _running_statistics(module: Module, num_features: int, track: bool) -> None:
    """The buffers ``running_mean`` (zeros), ``running_var`` (ones) and the 0-d
    ``num_batches_tracked``, or all three ``None`` when not tracking."""
    dtype = get_default_dtype()
    module.register_buffer("running_mean", xp.zeros(num_features, dtype=dtype) if track
                           else None)
    module.register_buffer("running_var", xp.ones(num_features, dtype=dtype) if track
                           else None)
    module.register_buffer("num_batches_tracked", xp.zeros((), dtype=xp.int64) if track
                           else None)


class _BatchNorm(Module):
    """Batch normalisation (shared by BatchNorm1d and BatchNorm2d).

    Training: y = weight * (x - mean_B) / sqrt(var_B + eps) + bias, with the batch's
    per-channel mean and (biased) variance; the running statistics are updated as
    running <- (1 - momentum) running + momentum batch_statistic (the unbiased variance
    for running_var), and ``momentum=None`` uses the cumulative average
    (momentum = 1 / num_batches_tracked). Evaluation uses the running statistics.

    Buffers ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked``
    as in PyTorch; with ``track_running_stats=False`` there are none and batch statistics
    are used in both modes.
    """

    expected_ndims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True):
        super().__init__()
        check_positive(type(self).__name__, num_features=num_features)
        if eps <= 0:
            raise ValueError(f"{type(self).__name__}: eps must be positive, got {eps}")
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"{type(self).__name__}: momentum must be between 0 and 1 "
                             f"(or None), got {momentum}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        _affine_parameters(self, (num_features,), affine)
        _running_statistics(self, num_features, track_running_stats)

    def forward(self, x):
        return F.batch_norm(x, *self.batch_norm_arguments(x))

    def forward_relu(self, x, residual=None, relu: Module | None = None):
        """relu(self(x) + residual) as one op (``F.batch_norm_relu``; no residual where it
        is None): what ``Sequential`` runs for this layer and a ``ReLU`` or ``LeakyReLU``
        after it, and a residual block for its last batch norm, shortcut and ReLU. ``relu``
        is the ReLU or leaky ReLU module this call stands for, if there is one (the
        leaky ReLU's slope is the op's ``negative_slope``). Where a forward hook must see
        an output of its own, or a subclass or ``visualize.guided_relus`` replaced a
        ``forward``, the modules run as written."""
        plain = not self._forward_hooks and type(self).forward is _BatchNorm.forward
        if relu is not None:
            plain = plain and not relu._forward_hooks and "forward" not in vars(relu)
        if not plain:
            out = self(x)
            out = out if residual is None else out + residual
            return F.relu(out) if relu is None else relu(out)
        return F.batch_norm_relu(x, *self.batch_norm_arguments(x), residual=residual,
                                 negative_slope=getattr(relu, "negative_slope", 0.0))

    def batch_norm_arguments(self, x) -> tuple[Any, Any, Any, Any, bool, float, float]:
        """``F.batch_norm``'s arguments after x, for one forward pass: counts the batch
        (``num_batches_tracked``) when training with running statistics."""
        if x.ndim not in self.expected_ndims:
            dims = " or ".join(f"{n}D" for n in self.expected_ndims)
            raise ValueError(f"{type(self).__name__} expects {dims} input, got shape "
                             f"{tuple(x.shape)}")
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            if momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked)
        return (self.running_mean, self.running_var, self.weight, self.bias,
                self.training or not self.track_running_stats,
                0.0 if momentum is None else momentum, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) input, per feature C (see ``_BatchNorm``).

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.BatchNorm1d(4)
    >>> layer(vg.randn(8, 4)).shape
    (8, 4)
    """

    expected_ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Spatial batch normalisation of (N, C, H, W) input, per channel over N, H and W.

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.BatchNorm2d(3)
    >>> layer(vg.randn(2, 3, 5, 5)).shape
    (2, 3, 5, 5)
    """

    expected_ndims = (4,)


class LayerNorm(Module):
    """Normalise each example over its trailing ``normalized_shape`` axes:
    y = weight * (x - mean) / sqrt(var + eps) + bias, weight and bias of
    ``normalized_shape`` (ones and zeros at first).

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.LayerNorm(5)
    >>> layer(vg.randn(2, 5)).shape
    (2, 5)
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        self.normalized_shape, self.eps = tuple(shape), eps
        self.elementwise_affine = elementwise_affine
        _affine_parameters(self, self.normalized_shape, elementwise_affine)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(Module):
    """Normalise each example over groups of ``num_channels / num_groups`` channels (and
    H, W); per-channel ``weight`` and ``bias`` (ones and zeros at first).

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.GroupNorm(2, 4)
    >>> layer(vg.randn(2, 4, 3, 3)).shape
    (2, 4, 3, 3)
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True):
        super().__init__()
        check_positive("GroupNorm", num_groups=num_groups, num_channels=num_channels)
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = (num_groups, num_channels,
                                                                     eps, affine)
        _affine_parameters(self, (num_channels,), affine)

    def forward(self, x):
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class _InstanceNorm(Module):
    """Instance normalisation (shared by InstanceNorm1d and InstanceNorm2d): each example's
    channels standardised over their own spatial axes, y = weight (x - mean) /
    sqrt(var + eps) + bias.

    As PyTorch: ``affine=False`` (no weight and bias) and ``track_running_stats=False`` by
    default; when tracking, training updates ``running_mean``/``running_var`` (the batch's
    average of the per-instance statistics) and evaluation normalises with them.
    NOTE: unlike PyTorch, unbatched input (no N axis) is refused.
    """

    expected_ndim = 0

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = False, track_running_stats: bool = False):
        super().__init__()
        check_positive(type(self).__name__, num_features=num_features)
        if not eps >= 0:
            raise ValueError(f"{type(self).__name__}: eps must be non-negative, got {eps}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        _affine_parameters(self, (num_features,), affine)
        _running_statistics(self, num_features, track_running_stats)

    def forward(self, x):
        if x.ndim != self.expected_ndim:
            raise ValueError(f"{type(self).__name__} expects {self.expected_ndim}D input, got "
                             f"shape {tuple(x.shape)}")
        use_input_stats = self.training or not self.track_running_stats
        return F.instance_norm(  # NOTE: as PyTorch, num_batches_tracked stays 0
            x, self.running_mean, self.running_var, self.weight, self.bias, use_input_stats,
            self.momentum, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) input (see ``_InstanceNorm``).

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.InstanceNorm1d(3)
    >>> layer(vg.randn(2, 3, 10)).shape
    (2, 3, 10)
    """

    expected_ndim = 3


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) input (see ``_InstanceNorm``).

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.InstanceNorm2d(3)
    >>> layer(vg.randn(2, 3, 5, 5)).shape
    (2, 3, 5, 5)
    """

    expected_ndim = 4
