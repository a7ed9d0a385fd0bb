"""Plain convolutional networks: the course's three-layer convnet, a two-convolution
net, LeNet-5, a small VGG."""

from __future__ import annotations

from collections.abc import Sequence

from .. import nn
from .layers import SequentialClassifier, check_shape, classifier, conv_output_size


class ThreeLayerConvNet(SequentialClassifier):
    """The course's ``conv - relu - 2x2 max pool - affine - relu - affine``.

    The convolution has stride 1 and "same" padding ``(filter_size - 1) // 2``, so with an
    odd ``filter_size`` the pool halves the input's height and width.

    Parameters
    ----------
    input_shape : (C, H, W)
    num_filters, filter_size : int
        The course's defaults are 32 filters of 7x7 (``filter_size=5`` gives 5x5 pad 2).
    hidden_dim : int
    num_classes : int

    Shape
    -----
    (N, C, H, W) -> (N, num_classes)

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import models
    >>> import visiongrad as vg
    >>> net = models.ThreeLayerConvNet(input_shape=(1, 28, 28), num_filters=8, hidden_dim=32)
    >>> net(vg.randn(2, 1, 28, 28)).shape
    (2, 10)
    """

    def __init__(self, input_shape: Sequence[int] = (1, 28, 28), num_filters: int = 32,
                 filter_size: int = 7, hidden_dim: int = 100, num_classes: int = 10):
        channels, height, width = check_shape(input_shape, num_classes)
        padding = (filter_size - 1) // 2
        height, width = (conv_output_size(conv_output_size(size, filter_size, 1, padding), 2, 2)
                         for size in (height, width))
        super().__init__(
            nn.Conv2d(channels, num_filters, filter_size, padding=padding), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(num_filters * height * width, hidden_dim), nn.ReLU(),
            classifier(hidden_dim, num_classes))


class LeNet5(SequentialClassifier):
    """LeNet-5 in its modern form (ReLU and max pooling instead of tanh and subsampling).

    ``conv5x5(6, pad 2) - relu - pool - conv5x5(16) - relu - pool - fc120 - relu - fc84 -
    relu - fc``. The padding of the first convolution makes a 28x28 input behave like
    LeCun's 32x32 one (5x5x16 features before the classifier).

    Parameters
    ----------
    input_shape : (C, H, W)
    num_classes : int

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import models
    >>> import visiongrad as vg
    >>> models.LeNet5(input_shape=(3, 32, 32))(vg.randn(2, 3, 32, 32)).shape
    (2, 10)
    """

    def __init__(self, input_shape: Sequence[int] = (1, 28, 28), num_classes: int = 10):
        channels, height, width = check_shape(input_shape, num_classes)
        height, width = (conv_output_size(conv_output_size(conv_output_size(size, 2, 2), 5), 2, 2)
                         for size in (height, width))
        super().__init__(
            nn.Conv2d(channels, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(16 * height * width, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            classifier(84, num_classes))


class LeNet5Caffe(SequentialClassifier):
    """LeNet-5 as in Caffe's MNIST example: the network of Deep Compression's table 1
    (431,080 parameters on 28x28 images).

    ``conv5x5(20) - pool - conv5x5(50) - pool - fc500 - relu - fc``: no padding and no
    non-linearity after the convolutions, as in Caffe's ``lenet_train_test.prototxt``.

    Parameters
    ----------
    input_shape : (C, H, W)
    num_classes : int

    Examples
    --------
    >>> from visiongrad.models import LeNet5Caffe
    >>> _ = vg.manual_seed(0)
    >>> LeNet5Caffe()(vg.randn(2, 1, 28, 28)).shape
    (2, 10)
    """

    def __init__(self, input_shape: Sequence[int] = (1, 28, 28), num_classes: int = 10):
        channels, height, width = check_shape(input_shape, num_classes)
        height, width = (conv_output_size(conv_output_size(conv_output_size(
            conv_output_size(size, 5), 2, 2), 5), 2, 2) for size in (height, width))
        super().__init__(
            nn.Conv2d(channels, 20, 5), nn.MaxPool2d(2), nn.Conv2d(20, 50, 5), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(50 * height * width, 500), nn.ReLU(),
            classifier(500, num_classes))


class TwoConvNet(SequentialClassifier):
    """Two convolutions before the affines, for more capacity than the three-layer convnet at
    about its speed (adversarial training needs the capacity: Madry et al., 2018):

    ``conv(c1) - relu - 2x2 max pool - conv(c2) - relu - 2x2 max pool - affine(hidden) -
    relu - affine``, "same" padding ``(filter_size - 1) // 2``, stride 1.

    Parameters
    ----------
    input_shape : (C, H, W)
    num_filters : (int, int)
        Channels of the two convolutions.
    filter_size : int
    hidden_dim : int
    num_classes : int

    Shape
    -----
    (N, C, H, W) -> (N, num_classes)

    Examples
    --------
    >>> from visiongrad.models import TwoConvNet
    >>> _ = vg.manual_seed(0)
    >>> TwoConvNet(num_filters=(4, 8), hidden_dim=16)(vg.randn(2, 1, 28, 28)).shape
    (2, 10)
    """

    def __init__(self, input_shape: Sequence[int] = (1, 28, 28),
                 num_filters: Sequence[int] = (32, 64), filter_size: int = 3,
                 hidden_dim: int = 256, num_classes: int = 10):
        channels, height, width = check_shape(input_shape, num_classes)
        first, second = num_filters
        padding = (filter_size - 1) // 2
        for _ in range(2):
            height, width = (conv_output_size(conv_output_size(size, filter_size, 1, padding),
                                              2, 2) for size in (height, width))
        super().__init__(
            nn.Conv2d(channels, first, filter_size, padding=padding), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(first, second, filter_size, padding=padding), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(second * height * width, hidden_dim), nn.ReLU(),
            classifier(hidden_dim, num_classes))


class MadryConvNet(TwoConvNet):
    """Madry et al.'s (2018) MNIST network, the capacity their PGD training needed: a
    :class:`TwoConvNet` with 5x5 filters and 1024 hidden units,
    ``conv5x5(32) - relu - pool - conv5x5(64) - relu - pool - affine(1024) - relu - affine``.
    Its parameters and shapes are :class:`TwoConvNet`'s, with these defaults.

    Examples
    --------
    >>> from visiongrad.models import MadryConvNet
    >>> _ = vg.manual_seed(0)
    >>> net = MadryConvNet()
    >>> net(vg.randn(2, 1, 28, 28)).shape, sum(p.size for p in net.parameters())
    ((2, 10), 3274634)
    """

    def __init__(self, input_shape: Sequence[int] = (1, 28, 28),
                 num_filters: Sequence[int] = (32, 64), filter_size: int = 5,
                 hidden_dim: int = 1024, num_classes: int = 10):
        super().__init__(input_shape, num_filters, filter_size, hidden_dim, num_classes)


def conv_bn_relu(in_channels: int, out_channels: int, stride: int = 1) -> list:
    """``conv3x3 (pad 1, no bias) - batch norm - relu``, as a list of layers."""
    return [nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU()]


class SmallVGG(SequentialClassifier):
    """A small VGG-style net: stacks of 3x3 convolutions with batch norm, then two affines.

    ``[conv3x3(w)-BN-relu] x2 - pool - [conv3x3(2w)-BN-relu] x2 - pool - fc(hidden) - relu
    - [dropout] - fc``, with ``w = width`` (32 by default).

    Parameters
    ----------
    input_shape : (C, H, W)
    num_classes : int
    width : int
        Channels of the first stack (the second has twice as many).
    hidden_dim : int
    dropout : float
        Dropout probability before the last layer (0: none).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import models
    >>> import visiongrad as vg
    >>> models.SmallVGG(width=8, hidden_dim=32)(vg.randn(2, 1, 28, 28)).shape
    (2, 10)
    """

    def __init__(self, input_shape: Sequence[int] = (1, 28, 28), num_classes: int = 10,
                 width: int = 32, hidden_dim: int = 256, dropout: float = 0.0):
        channels, height, width_px = check_shape(input_shape, num_classes)
        height, width_px = (conv_output_size(conv_output_size(size, 2, 2), 2, 2)
                            for size in (height, width_px))
        head: list = [nn.Flatten(), nn.Linear(2 * width * height * width_px, hidden_dim),
                      nn.ReLU()]
        if dropout:
            head.append(nn.Dropout(dropout))
        super().__init__(
            *conv_bn_relu(channels, width), *conv_bn_relu(width, width), nn.MaxPool2d(2),
            *conv_bn_relu(width, 2 * width), *conv_bn_relu(2 * width, 2 * width),
            nn.MaxPool2d(2), *head, classifier(hidden_dim, num_classes))
