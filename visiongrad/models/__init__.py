"""The model zoo: classifiers built from ``nn`` modules, and a registry by name.

Every model maps float32 images (N, C, H, W) to logits (N, num_classes) (the Trainer's
model protocol). The course's small models take ``input_shape=(C, H, W)`` and
``num_classes``; the architectures of the CNN lecture (AlexNet, ZFNet, VGG, GoogLeNet,
ResNet, the CIFAR ResNets, FractalNet, stochastic depth) take ``num_classes`` and
``in_channels``, and where torchvision has the network they have its names, state_dict
keys and shapes, so torchvision's weights give the same logits.

Examples
--------
>>> from visiongrad import models
>>> models.available()[:6]
['alexnet', 'fc', 'fractalnet', 'googlenet', 'lenet5', 'resnet101']
>>> net = models.create("lenet5", input_shape=(3, 32, 32), num_classes=10)
>>> net = models.create("resnet18", num_classes=10, in_channels=1)
"""

from __future__ import annotations

from .alexnet import AlexNet, ZFNet
from .captioning import CaptioningRNN, SceneEncoder
from .char_lm import CharRNN
from .cifar_resnet import (
    CIFAR_RESNET_MODELS,
    CifarResNet,
    OptionAShortcut,
    StochasticDepthResNet,
    linear_decay_survival,
)
from .convnets import (
    LeNet5,
    LeNet5Caffe,
    MadryConvNet,
    SmallVGG,
    ThreeLayerConvNet,
    TwoConvNet,
)
from .fc import FullyConnectedNet, LeNet300100, TwoLayerNet
from .fractalnet import FractalBlock, FractalNet, fractal_join
from .googlenet import GoogLeNet, GoogLeNetOutputs, Inception, InceptionAux, NaiveInception
from .resnet import ResidualBlock, SmallResNet
from .resnet_imagenet import RESNET_MODELS, BasicBlock, Bottleneck, ResNet
from .transfer import freeze, head_names, replace_head, unfreeze
from .vgg import VGG, VGG_MODELS

MODELS = {
    "two_layer": TwoLayerNet,
    "fc": FullyConnectedNet,
    "three_layer_convnet": ThreeLayerConvNet,
    "two_conv_net": TwoConvNet,
    "madry_convnet": MadryConvNet,
    "lenet5": LeNet5,
    "lenet_300_100": LeNet300100,
    "lenet5_caffe": LeNet5Caffe,
    "vgg_small": SmallVGG,
    "resnet_small": SmallResNet,
}
"""Every model :func:`create` builds, by name: the small ones, then (below) the ``ZOO``.

Examples
--------
>>> MODELS["lenet5"] is LeNet5, "resnet18" in MODELS
(True, True)
"""
SMALL_MODELS = tuple(MODELS)
"""The course's small models, which take ``input_shape``.

Examples
--------
>>> SMALL_MODELS[:3]
('two_layer', 'fc', 'three_layer_convnet')
"""

ZOO = {
    "alexnet": AlexNet, "zfnet": ZFNet, **VGG_MODELS, "googlenet": GoogLeNet, **RESNET_MODELS,
    **CIFAR_RESNET_MODELS, "fractalnet": FractalNet,
    "resnet110_stochastic_depth": StochasticDepthResNet,
}
"""The CNN lecture's architectures, which take ``num_classes`` and ``in_channels``.

Examples
--------
>>> ZOO["alexnet"] is AlexNet
True
"""
MODELS.update(ZOO)


def available() -> list[str]:
    """Names accepted by :func:`create`, sorted.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import models
    >>> 'resnet18' in models.available(), 'lenet5' in models.available()
    (True, True)
    """
    return sorted(MODELS)


def create(name: str, **kwargs):
    """Build the model registered as ``name`` with keyword arguments ``kwargs``.

    A zoo model given ``input_shape=(C, H, W)`` (as the small models take it) is built with
    ``in_channels=C``; its height and width are free.

    Raises
    ------
    ValueError
        For an unknown name, listing the valid ones.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import models
    >>> import visiongrad as vg
    >>> net = models.create('lenet5', input_shape=(1, 28, 28), num_classes=10)
    >>> net(vg.randn(2, 1, 28, 28)).shape
    (2, 10)
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r} (available: {', '.join(available())})")
    if name in ZOO and "input_shape" in kwargs:
        kwargs["in_channels"] = int(tuple(kwargs.pop("input_shape"))[0])
    return MODELS[name](**kwargs)


__all__ = ["AlexNet", "BasicBlock", "Bottleneck", "CifarResNet", "FractalBlock", "FractalNet",
           "FullyConnectedNet", "GoogLeNet", "GoogLeNetOutputs", "Inception", "InceptionAux",
           "LeNet300100", "LeNet5", "LeNet5Caffe", "MODELS", "MadryConvNet", "NaiveInception",
           "OptionAShortcut", "ResidualBlock", "ResNet", "SMALL_MODELS", "SmallResNet",
           "SmallVGG", "StochasticDepthResNet", "ThreeLayerConvNet", "TwoConvNet",
           "TwoLayerNet", "VGG", "ZFNet", "ZOO", "available", "create", "fractal_join",
           "linear_decay_survival"]
__all__ += ["freeze", "head_names", "replace_head", "unfreeze"]
__all__ += ["CaptioningRNN", "CharRNN", "SceneEncoder"]
