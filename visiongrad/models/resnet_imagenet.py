"""ResNet (He et al. 2016) as torchvision builds it: basic and bottleneck blocks,
resnet18/34/50/101/152, with torchvision's names and state_dict keys."""

from __future__ import annotations

from .. import functional as F
from .. import nn
from ..nn.fusion import block_layers, fusion_applies, run_layers
from .zoo_init import check_zoo_args, init_torchvision_style


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)


class _Residual(nn.Module):
    """y = relu(gate(last_bn(residual(x))) + shortcut(x)); the shortcut is ``downsample`` (a
    module changing x's shape) or the identity, the gate is stochastic depth's
    :class:`~visiongrad.nn.SurvivalGate` when ``survival_prob < 1`` (the identity otherwise).
    Without a gate, the last batch norm, the addition and the ReLU run as one op
    (``BatchNorm2d.forward_relu``), as do each batch norm and the ReLU after it."""

    def add_shortcut_and_gate(self, downsample: nn.Module | None, survival_prob: float):
        """Register ``downsample`` and the gate (after the convolutions, torchvision's
        state_dict order)."""
        self.downsample = downsample
        self.gate = nn.SurvivalGate(survival_prob) if survival_prob < 1 else None

    fused_layer_names = ""
    """The residual branch's layers through its last batch norm, in order, by name ("relu":
    ``F.relu``), for ``nn.fusion.run_layers``; only the class that names them runs fused (a
    subclass may change ``residual``)."""

    def residual(self, x):
        """The residual branch up to its last convolution (before ``last_bn``)."""
        raise NotImplementedError

    def last_bn(self) -> nn.BatchNorm2d:
        raise NotImplementedError

    def forward(self, x):
        names = type(self).__dict__.get("fused_layer_names")
        if fusion_applies() and names and self.gate is None:  # inference (nn/fusion.py)
            shortcut = x if self.downsample is None else self.downsample(x)
            return run_layers(block_layers(self, names), x, residual=shortcut)
        out = self.residual(x)
        shortcut = x if self.downsample is None else self.downsample(x)
        if self.gate is None:
            return self.last_bn().forward_relu(out, residual=shortcut)
        return F.relu(self.gate(self.last_bn()(out)) + shortcut)


class BasicBlock(_Residual):
    """``conv3x3(stride) - BN - relu - conv3x3 - BN``, plus the shortcut, then relu
    (the paper's figure 5, left). Output channels: ``planes``.

    Examples
    --------
    >>> from visiongrad.models import BasicBlock
    >>> _ = vg.manual_seed(0)
    >>> BasicBlock(8, 8)(vg.randn(2, 8, 6, 6)).shape
    (2, 8, 6, 6)
    """

    expansion = 1
    fused_layer_names = "conv1 bn1 relu conv2 bn2"

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, survival_prob: float = 1.0):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.add_shortcut_and_gate(downsample, survival_prob)

    def residual(self, x):
        return self.conv2(self.bn1.forward_relu(self.conv1(x)))

    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn2


class Bottleneck(_Residual):
    """``conv1x1 - BN - relu - conv3x3(stride) - BN - relu - conv1x1(4 planes) - BN``, plus
    the shortcut, then relu (figure 5, right). Output channels: ``4 planes``.

    NOTE: the stride sits on the 3x3 convolution, as in torchvision ("ResNet v1.5"); the
    paper puts it on the first 1x1.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import models
    >>> import visiongrad as vg
    >>> from visiongrad import nn
    >>> down = nn.Sequential(nn.Conv2d(16, 32, 1, bias=False), nn.BatchNorm2d(32))
    >>> models.Bottleneck(16, 8, downsample=down)(vg.randn(1, 16, 8, 8)).shape   # expansion 4
    (1, 32, 8, 8)
    """

    expansion = 4
    fused_layer_names = "conv1 bn1 relu conv2 bn2 relu conv3 bn3"

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, survival_prob: float = 1.0):
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.add_shortcut_and_gate(downsample, survival_prob)

    def residual(self, x):
        x = self.bn1.forward_relu(self.conv1(x))
        return self.conv3(self.bn2.forward_relu(self.conv2(x)))

    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn3


class ResNet(nn.Module):
    """ResNet for ImageNet: 7x7/2 stem, 3x3/2 max pool, four stages (64, 128, 256, 512
    planes; stride 2 from the second), global average pooling, linear classifier.

    The paper's table 1:

    ========  ===========  ==========  ==========  ===========  ===========  ===========
    stage     output       18-layer    34-layer    50-layer     101-layer    152-layer
    ========  ===========  ==========  ==========  ===========  ===========  ===========
    conv1     112x112      7x7, 64, stride 2; then 3x3 max pool, stride 2
    conv2_x   56x56        [3x3, 64]   [3x3, 64]   [1x1, 64     x3 (all three)
                           x2          x3           3x3, 64
                                                    1x1, 256]
    conv3_x   28x28        [3x3,128]x2 [3x3,128]x4 [.., 512]x4  [.., 512]x4  [.., 512]x8
    conv4_x   14x14        [3x3,256]x2 [3x3,256]x6 [..,1024]x6  [..,1024]x23 [..,1024]x36
    conv5_x   7x7          [3x3,512]x2 [3x3,512]x3 [..,2048]x3  [..,2048]x3  [..,2048]x3
              1x1          average pool, 1000-d fc, softmax
    FLOPs                  1.8e9       3.6e9       3.8e9        7.6e9        11.3e9
    ========  ===========  ==========  ==========  ===========  ===========  ===========

    Blocks are :class:`BasicBlock` (18, 34) or :class:`Bottleneck` (50, 101, 152); a block
    that changes the shape has a projection shortcut ``downsample`` (1x1 conv with the
    stride, then BN: the paper's option B). Parameters: resnet18 11,689,512, resnet34
    21,797,672, resnet50 25,557,032, resnet101 44,549,160, resnet152 60,192,808.

    Parameters
    ----------
    block : BasicBlock or Bottleneck
    layers : four ints, blocks per stage
    num_classes : int
    zero_init_residual : bool
        Start each block's last BN weight at zero, so each block begins as the identity.
    in_channels : int
        Input channels of the stem (3 in torchvision).

    Examples
    --------
    >>> from visiongrad.models import BasicBlock, ResNet
    >>> _ = vg.manual_seed(0)
    >>> resnet10 = ResNet(BasicBlock, [1, 1, 1, 1], num_classes=10)
    >>> resnet10.eval()(vg.randn(1, 3, 32, 32)).shape
    (1, 10)
    """

    def __init__(self, block, layers, num_classes: int = 1000, zero_init_residual: bool = False,
                 in_channels: int = 3):
        super().__init__()
        check_zoo_args(num_classes, in_channels)
        if len(layers) != 4 or min(layers) < 1:
            raise ValueError(f"layers must be four positive block counts, got {layers!r}")
        self.inplanes = 64
        self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        stages = zip((64, 128, 256, 512), layers, strict=True)
        for index, (planes, count) in enumerate(stages, start=1):
            setattr(self, f"layer{index}",
                    self._make_layer(block, planes, count, 1 if index == 1 else 2))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        init_torchvision_style(self, linear_std=None)
        if zero_init_residual:
            for module in self.modules():
                if isinstance(module, (BasicBlock, Bottleneck)):
                    nn.init.zeros_(module.bn2.weight if isinstance(module, BasicBlock)
                                   else module.bn3.weight)

    def _make_layer(self, block, planes: int, blocks: int, stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def features(self, x):
        """The pooled 512 (or 2048) features before ``fc``: (N, C, H, W) -> (N, D)."""
        if fusion_applies():  # inference: conv1-bn1-relu in one output pass (nn/fusion.py)
            x = run_layers(block_layers(self, "conv1 bn1 relu maxpool"), x)
        else:  # training: bn1 and its ReLU as one op
            x = self.maxpool(self.bn1.forward_relu(self.conv1(x), relu=self.relu))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.avgpool(x).flatten(1)

    def forward(self, x):
        return self.fc(self.features(x))


RESNET_LAYERS = {"resnet18": (BasicBlock, (2, 2, 2, 2)), "resnet34": (BasicBlock, (3, 4, 6, 3)),
                 "resnet50": (Bottleneck, (3, 4, 6, 3)), "resnet101": (Bottleneck, (3, 4, 23, 3)),
                 "resnet152": (Bottleneck, (3, 8, 36, 3))}


def _builder(name: str):
    block, layers = RESNET_LAYERS[name]

    def build(num_classes: int = 1000, in_channels: int = 3,
              zero_init_residual: bool = False) -> ResNet:
        return ResNet(block, layers, num_classes, zero_init_residual, in_channels)
    build.__doc__ = f"{name}: {block.__name__} x {layers} (see ``ResNet``)."
    return build


RESNET_MODELS = {name: _builder(name) for name in RESNET_LAYERS}
