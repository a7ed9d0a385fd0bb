"""The paper's CIFAR-10 ResNets (He et al. 2016, section 4.2): 6n + 2 layers, option-A
identity shortcuts, and the stochastic-depth variant (Huang et al. 2016)."""

from __future__ import annotations

from .. import functional as F
from .. import nn
from ..autograd import Tensor, concat
from ..backend import xp
from .resnet_imagenet import BasicBlock
from .zoo_init import check_zoo_args, init_torchvision_style


class OptionAShortcut(nn.Module):
    """The paper's option A: an identity shortcut that subsamples by taking every
    ``stride``-th pixel and pads the new channels with zeros (no parameters).

    y = [0 (pad channels); x[:, :, ::stride, ::stride]; 0 (pad channels)],
    with (out_channels - in_channels) // 2 zero channels before and the rest after.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import models
    >>> import visiongrad as vg
    >>> models.OptionAShortcut(16, 32, stride=2)(vg.randn(1, 16, 8, 8)).shape
    (1, 32, 4, 4)
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(f"OptionAShortcut cannot reduce channels ({in_channels} -> "
                             f"{out_channels})")
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride

    def forward(self, x):
        x = x[:, :, ::self.stride, ::self.stride]
        extra = self.out_channels - self.in_channels
        n, _, h, w = x.shape
        before, after = extra // 2, extra - extra // 2
        zeros = [Tensor(xp.zeros((n, count, h, w), dtype=x.dtype)) for count in (before, after)]
        return concat([zeros[0], x, zeros[1]], axis=1)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"


def linear_decay_survival(num_blocks: int, last: float = 0.5) -> list[float]:
    """Stochastic depth's schedule (Huang et al. 2016, eq. 4): block l of L survives with
    p_l = 1 - l / L (1 - p_L), from near 1 at the input down to p_L = ``last``.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import models
    >>> models.linear_decay_survival(4, last=0.5)
    [0.875, 0.75, 0.625, 0.5]
    """
    if not 0 < last <= 1:
        raise ValueError(f"the last survival probability must be in (0, 1], got {last}")
    return [1 - (index / num_blocks) * (1 - last) for index in range(1, num_blocks + 1)]


class CifarResNet(nn.Module):
    """ResNet for 32x32 images: conv3x3 (16) - BN - relu, three stages of n basic blocks
    at 16, 32, 64 channels (stride 2 from the second), global average pooling, linear.

    The paper's CIFAR-10 table (section 4.2, n blocks of two 3x3 layers per stage):

    ============  =======  =======  =======
    output size   32x32    16x16    8x8
    ============  =======  =======  =======
    # layers      1 + 2n   2n       2n
    # filters     16       32       64
    ============  =======  =======  =======

    and table 6:

    ===========  ===  ========  ==============
    network      n    params    error (%)
    ===========  ===  ========  ==============
    ResNet-20    3    0.27M     8.75
    ResNet-32    5    0.46M     7.51
    ResNet-44    7    0.66M     7.17
    ResNet-56    9    0.85M     6.97
    ResNet-110   18   1.7M      6.43
    ===========  ===  ========  ==============

    Every shortcut is parameter-free (option A: :class:`OptionAShortcut`).

    Parameters
    ----------
    depth : int
        6n + 2.
    num_classes, in_channels : int
    survival_probs : sequence of float, optional
        One per block (3n): the residual branch of block l is kept with that probability
        in training and scaled by it in evaluation (stochastic depth). None: all 1.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import models
    >>> import visiongrad as vg
    >>> net = models.CifarResNet(depth=8, num_classes=10)
    >>> net(vg.randn(1, 3, 32, 32)).shape
    (1, 10)
    """

    def __init__(self, depth: int = 20, num_classes: int = 10, in_channels: int = 3,
                 survival_probs=None):
        super().__init__()
        check_zoo_args(num_classes, in_channels)
        if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
            raise ValueError(f"depth must be 6n + 2 for n >= 1 (20, 32, 44, 56, 110, ...), "
                             f"got {depth!r}")
        n = (depth - 2) // 6
        probs = [1.0] * (3 * n) if survival_probs is None else [float(p) for p in survival_probs]
        if len(probs) != 3 * n:
            raise ValueError(f"survival_probs needs one probability per block ({3 * n}), got "
                             f"{len(probs)}")
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        in_planes = 16
        for stage, planes in enumerate((16, 32, 64)):
            blocks = []
            for index in range(n):
                stride = 2 if stage > 0 and index == 0 else 1
                shortcut = (OptionAShortcut(in_planes, planes, stride)
                            if stride != 1 or in_planes != planes else None)
                blocks.append(BasicBlock(in_planes, planes, stride, shortcut,
                                         survival_prob=probs[stage * n + index]))
                in_planes = planes
            setattr(self, f"layer{stage + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, num_classes)
        init_torchvision_style(self, linear_std=None)

    def features(self, x):
        """The pooled 64 features before ``fc``: (N, C, H, W) -> (N, 64)."""
        x = self.layer3(self.layer2(self.layer1(F.relu(self.bn1(self.conv1(x))))))
        return self.avgpool(x).flatten(1)

    def forward(self, x):
        return self.fc(self.features(x))


class StochasticDepthResNet(CifarResNet):
    """A CIFAR ResNet trained with stochastic depth (Huang et al. 2016): block l of L skips
    its residual branch with probability 1 - p_l, p_l decaying linearly from 1 to ``p_last``
    (0.5 in the paper) over the blocks (:func:`linear_decay_survival`); at test time the
    branch is scaled by p_l, so the network computes the training-time expectation.

    The paper's CIFAR results (table 1, 110 layers, p_L = 0.5): test error 6.41% -> 5.25%
    (CIFAR-10), 27.22% -> 24.98% (CIFAR-100); training time about 25% shorter, since on
    average only 75% of the blocks run.

    NOTE: the paper's code downsamples its shortcuts by average pooling; this one keeps the
    CIFAR ResNet's option A (every other pixel), and always computes the branch it drops.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import models
    >>> import visiongrad as vg
    >>> net = models.StochasticDepthResNet(depth=8, num_classes=10)
    >>> net(vg.randn(1, 3, 32, 32)).shape
    (1, 10)
    """

    def __init__(self, depth: int = 110, num_classes: int = 10, in_channels: int = 3,
                 p_last: float = 0.5):
        if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
            raise ValueError(f"depth must be 6n + 2 for n >= 1, got {depth!r}")
        probs = linear_decay_survival((depth - 2) // 2, p_last)
        super().__init__(depth, num_classes, in_channels, survival_probs=probs)
        self.p_last = p_last


def _builder(depth: int):
    def build(num_classes: int = 10, in_channels: int = 3) -> CifarResNet:
        return CifarResNet(depth, num_classes, in_channels)
    build.__doc__ = f"The paper's CIFAR ResNet-{depth} (see ``CifarResNet``)."
    return build


CIFAR_RESNET_MODELS = {f"resnet{depth}": _builder(depth) for depth in (20, 32, 44, 56, 110)}
