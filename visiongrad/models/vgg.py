"""VGG (Simonyan and Zisserman 2015): configurations A-E, torchvision's names and keys."""

from __future__ import annotations

from .. import nn
from .alexnet import paper_lrn
from .zoo_init import check_zoo_args, init_torchvision_style

POOL, LRN = "M", "LRN"
CONFIGS: dict[str, list] = {
    "A": [64, POOL, 128, POOL, 256, 256, POOL, 512, 512, POOL, 512, 512, POOL],
    "A-LRN": [64, LRN, POOL, 128, POOL, 256, 256, POOL, 512, 512, POOL, 512, 512, POOL],
    "B": [64, 64, POOL, 128, 128, POOL, 256, 256, POOL, 512, 512, POOL, 512, 512, POOL],
    "C": [64, 64, POOL, 128, 128, POOL, 256, 256, (256, 1), POOL, 512, 512, (512, 1), POOL,
          512, 512, (512, 1), POOL],
    "D": [64, 64, POOL, 128, 128, POOL, 256, 256, 256, POOL, 512, 512, 512, POOL,
          512, 512, 512, POOL],
    "E": [64, 64, POOL, 128, 128, POOL, 256, 256, 256, 256, POOL, 512, 512, 512, 512, POOL,
          512, 512, 512, 512, POOL],
}
"""The paper's table 1: an int is a 3x3 convolution (pad 1) with that many filters and a
ReLU, ``(filters, 1)`` a 1x1 convolution, "M" a 2x2 max pool, "LRN" local response
normalisation."""


def make_features(config: list, batch_norm: bool, in_channels: int = 3) -> nn.Sequential:
    """The convolutional part: conv - [batch norm] - relu per entry, as torchvision's
    ``make_layers`` (so the keys are ``features.<index>``)."""
    layers: list[nn.Module] = []
    for entry in config:
        if entry == POOL:
            layers.append(nn.MaxPool2d(2, stride=2))
        elif entry == LRN:
            layers.append(paper_lrn())
        else:
            filters, kernel = entry if isinstance(entry, tuple) else (entry, 3)
            layers.append(nn.Conv2d(in_channels, filters, kernel, padding=kernel // 2))
            if batch_norm:
                layers.append(nn.BatchNorm2d(filters))
            layers.append(nn.ReLU())
            in_channels = filters
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """VGG: stacks of 3x3 convolutions between 2x2 max pools, then three fully connected
    layers; torchvision's ``VGG`` with ``features``, ``avgpool``, ``classifier``.

    The paper's table 1 (conv<receptive field>-<channels>; every conv has a ReLU):

    =========== =========== =========== =========== =========== ===========
    A (11)      A-LRN (11)  B (13)      C (16)      D (16)      E (19)
    =========== =========== =========== =========== =========== ===========
    conv3-64    conv3-64    conv3-64    conv3-64    conv3-64    conv3-64
                LRN         conv3-64    conv3-64    conv3-64    conv3-64
    maxpool
    conv3-128   conv3-128   conv3-128   conv3-128   conv3-128   conv3-128
                            conv3-128   conv3-128   conv3-128   conv3-128
    maxpool
    conv3-256   conv3-256   conv3-256   conv3-256   conv3-256   conv3-256
    conv3-256   conv3-256   conv3-256   conv3-256   conv3-256   conv3-256
                                        conv1-256   conv3-256   conv3-256
                                                                conv3-256
    maxpool
    conv3-512   conv3-512   conv3-512   conv3-512   conv3-512   conv3-512
    conv3-512   conv3-512   conv3-512   conv3-512   conv3-512   conv3-512
                                        conv1-512   conv3-512   conv3-512
                                                                conv3-512
    maxpool
    (the same five as above: 512 channels)
    maxpool
    FC-4096, FC-4096, FC-1000, soft-max
    =========== =========== =========== =========== =========== ===========

    Parameters (millions, paper's table 2): A, A-LRN 133; B 133; C 134; D 138; E 144
    (torchvision's vgg16: 138,357,544). ``avgpool`` (adaptive, to 7x7) lets inputs of any
    size of at least 32x32 reach the 512 x 7 x 7 classifier, as in torchvision.

    Parameters
    ----------
    features : nn.Sequential
        From :func:`make_features`.
    num_classes : int
    dropout : float
        Before the second and third fully connected layers.

    Examples
    --------
    Configuration A's convolutional part: eight 3x3 convolutions, five 2x2 pools that take
    a 32x32 image down to 1x1. ``VGG(features, num_classes=10)`` (or
    ``VGG.from_config("A", num_classes=10)``) adds the pooling to 7x7 and the classifier,
    129 million parameters in all (not built here).

    >>> from visiongrad.models.vgg import CONFIGS, make_features
    >>> features = make_features(CONFIGS["A"], batch_norm=False)
    >>> sum(isinstance(layer, nn.Conv2d) for layer in features)
    8
    >>> features(vg.zeros(1, 3, 32, 32)).shape
    (1, 512, 1, 1)
    """

    def __init__(self, features: nn.Sequential, num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        check_zoo_args(num_classes, 1)
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(4096, num_classes))
        init_torchvision_style(self)

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))

    @classmethod
    def from_config(cls, config: str, batch_norm: bool = False, num_classes: int = 1000,
                    in_channels: int = 3, dropout: float = 0.5) -> VGG:
        """The network of the paper's column ``config`` ("A", "A-LRN", "B", "C", "D", "E")."""
        if config not in CONFIGS:
            raise ValueError(f"config must be one of {', '.join(CONFIGS)}, got {config!r}")
        check_zoo_args(num_classes, in_channels)
        return cls(make_features(CONFIGS[config], batch_norm, in_channels), num_classes,
                   dropout)


def _builder(config: str, batch_norm: bool):
    def build(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> VGG:
        return VGG.from_config(config, batch_norm, num_classes, in_channels, dropout)
    suffix = " with batch norm after each convolution" if batch_norm else ""
    build.__doc__ = f"VGG configuration {config} of the paper{suffix} (see ``VGG``)."
    return build


VGG_MODELS = {
    "vgg11": _builder("A", False), "vgg11_bn": _builder("A", True),
    "vgg13": _builder("B", False), "vgg13_bn": _builder("B", True),
    "vgg16": _builder("D", False), "vgg16_bn": _builder("D", True),
    "vgg19": _builder("E", False), "vgg19_bn": _builder("E", True),
    "vgg11_lrn": _builder("A-LRN", False), "vgg16_1x1": _builder("C", False),
}
"""Registry names: torchvision's ``vgg11`` .. ``vgg19_bn`` (configurations A, B, D, E),
plus the paper's A-LRN (``vgg11_lrn``) and C (``vgg16_1x1``)."""
