"""A small residual network (He et al. 2016, the CIFAR variant) from residual blocks."""

from __future__ import annotations

from collections.abc import Sequence

from .. import functional as F
from .. import nn
from ..nn.container import run_in_turn
from ..nn.fusion import fusion_applies, run_layers
from .convnets import conv_bn_relu
from .layers import check_shape, classifier


class ResidualBlock(nn.Module):
    """``relu(bn(conv3x3(relu(bn(conv3x3(x))))) + shortcut(x))``, as ``residual`` and
    ``shortcut`` submodules (torchvision's block of the same sums, with its parameter names,
    is ``resnet_imagenet.BasicBlock``).

    The shortcut is the identity when the shape is kept, and a projection (1x1 conv with
    the block's stride, then batch norm) when the stride or the channel count changes.

    Shape
    -----
    (N, in_channels, H, W) -> (N, out_channels, H', W'), ``H' = (H - 1) // stride + 1``

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import models
    >>> import visiongrad as vg
    >>> models.ResidualBlock(16, 32, stride=2)(vg.randn(1, 16, 8, 8)).shape
    (1, 32, 4, 4)
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.residual = nn.Sequential(
            *conv_bn_relu(in_channels, out_channels, stride),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels))
        self.shortcut = (
            nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                          nn.BatchNorm2d(out_channels))
            if stride != 1 or in_channels != out_channels else nn.Sequential())

    def forward(self, x):
        shortcut = self.shortcut(x)
        if fusion_applies():  # inference: the sum and ReLU in the last convolution's pass
            return run_layers(self.residual, x, residual=shortcut)
        *branch, last = self.residual
        if self.residual._forward_hooks or not isinstance(last, nn.BatchNorm2d):
            return F.relu(self.residual(x) + shortcut)
        # training: the last batch norm, the sum and the ReLU as one op (F.batch_norm_relu)
        return last.forward_relu(run_in_turn(branch, x), residual=shortcut)


class SmallResNet(nn.Module):
    """``conv3x3(w)-BN-relu``, three stages of basic blocks at ``w, 2w, 4w`` channels
    (stride 2 between stages), global average pooling and a linear classifier.

    With the defaults (``width=16``, two blocks per stage) this is ResNet-14 of the CIFAR
    family: 6n+2 layers with n = 2.

    Parameters
    ----------
    input_shape : (C, H, W)
    num_classes : int
    width : int
        Channels of the stem and first stage.
    blocks_per_stage : int

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import models
    >>> import visiongrad as vg
    >>> models.SmallResNet(width=8)(vg.randn(2, 1, 28, 28)).shape
    (2, 10)
    """

    def __init__(self, input_shape: Sequence[int] = (1, 28, 28), num_classes: int = 10,
                 width: int = 16, blocks_per_stage: int = 2):
        super().__init__()
        channels, _, _ = check_shape(input_shape, num_classes)
        if blocks_per_stage < 1:
            raise ValueError(f"blocks_per_stage must be positive, got {blocks_per_stage}")
        self.stem = nn.Sequential(*conv_bn_relu(channels, width))
        blocks, in_channels = [], width
        for stage, out_channels in enumerate((width, 2 * width, 4 * width)):
            for index in range(blocks_per_stage):
                stride = 2 if stage > 0 and index == 0 else 1
                blocks.append(ResidualBlock(in_channels, out_channels, stride))
                in_channels = out_channels
        self.stages = nn.Sequential(*blocks)
        self.pool = nn.GlobalAvgPool2d()
        self.fc = classifier(in_channels, num_classes)

    def features(self, x):
        """The pooled features before ``fc``: (N, C, H, W) -> (N, 4 * width)."""
        return self.pool(self.stages(self.stem(x))).flatten(1)

    def forward(self, x):
        return self.fc(self.features(x))
