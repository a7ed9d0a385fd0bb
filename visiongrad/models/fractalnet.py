"""FractalNet (Larsson, Maire and Shakhnarovich 2017): ultra-deep networks without
residuals, from a fractal expansion rule, trained with local and global drop-path."""

from __future__ import annotations

from collections.abc import Sequence

from .. import nn
from ..autograd import stack
from ..random import get_generator
from .zoo_init import check_zoo_args, init_torchvision_style


def conv_unit(in_channels: int, out_channels: int, dropout: float) -> nn.Sequential:
    """The paper's convolution unit: conv3x3 (pad 1) - BN - relu [- dropout]."""
    layers = [nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels),
              nn.ReLU()]
    return nn.Sequential(*layers, *([nn.Dropout(dropout)] if dropout else []))


def local_drop_mask(count: int, p: float) -> list[bool]:
    """Which of a join's ``count`` inputs survive local drop-path: each is dropped with
    probability ``p``, but at least one is kept (one chosen at random if all fell)."""
    rng = get_generator()
    keep = [bool(u >= p) for u in rng.random(count)]
    if not any(keep):
        keep[int(rng.integers(count))] = True
    return keep


def fractal_join(branches: list, p: float = 0.0, training: bool = False):
    """The join layer: the elementwise mean of its inputs (same shape). In training with
    local drop-path rate ``p``, the mean of the inputs that survive
    :func:`local_drop_mask`. Every input is equally likely to survive, so the expected
    training output is the evaluation output, the mean of all.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import models
    >>> import visiongrad as vg
    >>> joined = models.fractal_join([vg.ones(1, 2), vg.zeros(1, 2)])
    >>> joined.data   # the mean of the branches
    array([[0.5, 0.5]], dtype=float32)
    """
    if training and p and len(branches) > 1:
        branches = [b for b, kept in zip(branches, local_drop_mask(len(branches), p),
                                         strict=True) if kept]
    return branches[0] if len(branches) == 1 else stack(branches).mean(axis=0)


class FractalBlock(nn.Module):
    """The fractal expansion rule (the paper's figure 1):

        f_1(z) = conv(z),    f_{C+1}(z) = join(f_C(f_C(z)), conv(z))

    C columns, the deepest 2^(C-1) convolutions deep. As in the paper's figure, the joins
    that meet at one depth are one join (a mean over all columns that end there), so this
    module returns its columns unjoined (:meth:`columns_out`) and the caller joins them.

    Children: ``conv`` (column 0, one unit) and, for C > 1, ``first`` and ``second`` (the
    two copies of f_{C-1}, holding columns 1 .. C-1).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import models
    >>> import visiongrad as vg
    >>> models.FractalBlock(4, 8, columns=2)(vg.randn(1, 4, 8, 8)).shape
    (1, 8, 8, 8)
    """

    def __init__(self, in_channels: int, out_channels: int, columns: int,
                 dropout: float = 0.0, drop_path: float = 0.0):
        super().__init__()
        if not isinstance(columns, int) or columns < 1:
            raise ValueError(f"columns must be a positive integer, got {columns!r}")
        self.columns, self.drop_path = columns, drop_path
        self.conv = conv_unit(in_channels, out_channels, dropout)
        if columns > 1:
            self.first = FractalBlock(in_channels, out_channels, columns - 1, dropout, drop_path)
            self.second = FractalBlock(out_channels, out_channels, columns - 1, dropout,
                                       drop_path)

    def columns_out(self, x) -> list:
        """The outputs of columns 0 .. C-1 (shallowest first), the inner joins applied."""
        if self.columns == 1:
            return [self.conv(x)]
        inner = fractal_join(self.first.columns_out(x), self.drop_path, self.training)
        return [self.conv(x), *self.second.columns_out(inner)]

    def column(self, x, index: int):
        """Column ``index`` alone (global drop-path): a plain chain of 2^index units."""
        if not 0 <= index < self.columns:
            raise ValueError(f"column must be in [0, {self.columns}), got {index}")
        if index == 0:
            return self.conv(x)
        return self.second.column(self.first.column(x, index - 1), index - 1)

    def forward(self, x):
        return fractal_join(self.columns_out(x), self.drop_path, self.training)


class FractalNet(nn.Module):
    """FractalNet for CIFAR: B fractal blocks of C columns, each followed by 2x2 max pooling,
    then a linear classifier (global average pooling first, so inputs need only be at
    least 2^B pixels).

    The paper's CIFAR configuration (section 4.1):

    =======  ========  =====================  ========================
    block    channels  dropout (if used)      output (32x32 input)
    =======  ========  =====================  ========================
    1        64        0.0                    16x16
    2        128       0.1                    8x8
    3        256       0.2                    4x4
    4        512       0.3                    2x2
    5        512       0.4                    1x1
    =======  ========  =====================  ========================

    C = 3 gives 5 * 2^2 = 20 convolution layers, C = 4 gives 40. Drop-path: each
    mini-batch is trained either with local drop-path (every join drops each input with
    probability 0.15, keeping at least one) or, with probability ``global_ratio`` (0.5),
    with global drop-path (one column, the same in every block, chosen uniformly). At test
    time every join averages all its inputs.

    Parameters
    ----------
    num_classes, in_channels : int
    columns : int
        C.
    channels : sequence of int
        Output channels of each block (B = len(channels)).
    dropout : sequence of float, optional
        Dropout rate of every unit in each block (None: no dropout).
    drop_path : float
        Local drop-path rate.
    global_ratio : float
        Fraction of training batches that use global drop-path.

    Examples
    --------
    >>> from visiongrad.models import FractalNet
    >>> _ = vg.manual_seed(0)
    >>> FractalNet(columns=2, channels=(8, 16))(vg.randn(2, 3, 32, 32)).shape
    (2, 10)
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, columns: int = 3,
                 channels: Sequence[int] = (64, 128, 256, 512, 512),
                 dropout: Sequence[float] | None = None, drop_path: float = 0.15,
                 global_ratio: float = 0.5):
        super().__init__()
        check_zoo_args(num_classes, in_channels)
        rates = [0.0] * len(channels) if dropout is None else list(dropout)
        if len(rates) != len(channels):
            raise ValueError(f"dropout needs one rate per block ({len(channels)}), got "
                             f"{len(rates)}")
        for name, value in (("drop_path", drop_path), ("global_ratio", global_ratio)):
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        self.columns, self.global_ratio = columns, global_ratio
        self.blocks = nn.ModuleList(
            FractalBlock(c_in, c_out, columns, rate, drop_path)
            for c_in, c_out, rate in zip((in_channels, *channels[:-1]), channels, rates,
                                         strict=True))
        self.pool = nn.MaxPool2d(2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(channels[-1], num_classes)
        init_torchvision_style(self, linear_std=None)

    def features(self, x):
        """The pooled features before ``fc``: (N, C, H, W) -> (N, channels[-1])."""
        rng = get_generator()
        column = None
        if self.training and self.global_ratio and rng.random() < self.global_ratio:
            column = int(rng.integers(self.columns))
        for block in self.blocks:
            x = self.pool(block(x) if column is None else block.column(x, column))
        return self.avgpool(x).flatten(1)

    def forward(self, x):
        return self.fc(self.features(x))
