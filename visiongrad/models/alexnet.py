"""AlexNet (Krizhevsky et al. 2012) as torchvision builds it, and ZFNet (Zeiler and Fergus
2014), its visualisation-guided revision."""

from __future__ import annotations

from .. import nn
from .zoo_init import check_zoo_args, init_torchvision_style


def _classifier(in_features: int, num_classes: int, dropout: float) -> nn.Sequential:
    """``dropout - fc4096 - relu - dropout - fc4096 - relu - fc``: torchvision's AlexNet
    head (keys ``classifier.1``, ``.4``, ``.6``)."""
    return nn.Sequential(
        nn.Dropout(dropout), nn.Linear(in_features, 4096), nn.ReLU(),
        nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU(),
        nn.Linear(4096, num_classes))


class AlexNet(nn.Module):
    """AlexNet in torchvision's single-tower form (the "one weird trick" variant: 64, 192,
    384, 256, 256 filters and no local response normalisation), same names and keys.

    The paper's network (two GPU towers, 224x224 input, counts summed over the towers):

    ======  ==================  ============  ==============
    layer   filters             stride        output
    ======  ==================  ============  ==============
    conv1   96 x 11x11          4             55x55x96, LRN, max pool 3/2
    conv2   256 x 5x5           1             27x27x256, LRN, max pool 3/2
    conv3   384 x 3x3           1             13x13x384
    conv4   384 x 3x3           1             13x13x384
    conv5   256 x 3x3           1             13x13x256, max pool 3/2 -> 6x6x256
    fc6     4096                              dropout 0.5
    fc7     4096                              dropout 0.5
    fc8     1000                              softmax
    ======  ==================  ============  ==============

    About 60M parameters in the paper; torchvision's variant has 61,100,840.
    ``avgpool`` (adaptive, to 6x6) lets any input of at least 63x63 through.

    Shape: (N, in_channels, H, W) -> (N, num_classes)

    Examples
    --------
    >>> from visiongrad.models import AlexNet
    >>> _ = vg.manual_seed(0)
    >>> AlexNet(num_classes=10)(vg.randn(1, 3, 64, 64)).shape
    (1, 10)
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5, in_channels: int = 3):
        super().__init__()
        check_zoo_args(num_classes, in_channels)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, 11, stride=4, padding=2), nn.ReLU(),
            nn.MaxPool2d(3, stride=2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, stride=2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, stride=2))
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = _classifier(256 * 6 * 6, num_classes, dropout)

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


class ZFNet(nn.Module):
    """ZFNet (Zeiler and Fergus 2014, table 1 / figure 3): AlexNet with a 7x7 stride-2 first
    layer (the 11x11 stride-4 one left dead filters and aliasing) and stride 2 in conv2.

    ======  ==================  ======  ===================================
    layer   filters             stride  output (224x224 input)
    ======  ==================  ======  ===================================
    conv1   96 x 7x7            2       110x110x96, max pool 3/2, contrast norm.
    conv2   256 x 5x5           2       26x26x256, max pool 3/2, contrast norm.
    conv3   384 x 3x3           1       13x13x384
    conv4   384 x 3x3           1       13x13x384
    conv5   256 x 3x3           1       13x13x256, max pool 3/2 -> 6x6x256
    fc6     4096                        dropout 0.5
    fc7     4096                        dropout 0.5
    fc8     C-way softmax
    ======  ==================  ======  ===================================

    The contrast normalisation is AlexNet's local response normalisation (n = 5,
    alpha = 1e-4, beta = 0.75, k = 2 in the paper's form). Pooling pads by one so the
    paper's sizes come out (55 -> 26 -> 13); ``avgpool`` (adaptive, to 6x6) as in AlexNet.

    Shape: (N, in_channels, H, W) -> (N, num_classes)

    Examples
    --------
    >>> from visiongrad.models import ZFNet
    >>> _ = vg.manual_seed(0)
    >>> ZFNet(num_classes=10)(vg.randn(1, 3, 64, 64)).shape
    (1, 10)
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5, in_channels: int = 3):
        super().__init__()
        check_zoo_args(num_classes, in_channels)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 96, 7, stride=2, padding=1), nn.ReLU(),
            nn.MaxPool2d(3, stride=2, padding=1), paper_lrn(),
            nn.Conv2d(96, 256, 5, stride=2), nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1),
            paper_lrn(),
            nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, stride=2))
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = _classifier(256 * 6 * 6, num_classes, dropout)
        init_torchvision_style(self)

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def paper_lrn() -> nn.LocalResponseNorm:
    """AlexNet's normalisation, n = 5, alpha = 1e-4, beta = 0.75, k = 2, in PyTorch's
    arguments (which divide alpha by the size)."""
    return nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)
