"""The model zoo: classifiers built from ``nn`` modules, and a registry by name.

Every model maps float32 images (N, C, H, W) to logits (N, num_classes) (the Trainer's
model protocol) and takes ``input_shape=(C, H, W)`` and ``num_classes`` keywords.

>>> from visiongrad import models
>>> models.available()
['fc', 'lenet5', 'resnet_small', 'three_layer_convnet', 'two_layer', 'vgg_small']
>>> net = models.create("lenet5", input_shape=(3, 32, 32), num_classes=10)
"""

from __future__ import annotations

from .convnets import LeNet5, SmallVGG, ThreeLayerConvNet
from .fc import FullyConnectedNet, TwoLayerNet
from .resnet import BasicBlock, SmallResNet

MODELS = {
    "two_layer": TwoLayerNet,
    "fc": FullyConnectedNet,
    "three_layer_convnet": ThreeLayerConvNet,
    "lenet5": LeNet5,
    "vgg_small": SmallVGG,
    "resnet_small": SmallResNet,
}


def available() -> list[str]:
    """Names accepted by :func:`create`, sorted."""
    return sorted(MODELS)


def create(name: str, **kwargs):
    """Build the model registered as ``name`` with keyword arguments ``kwargs``.

    Raises
    ------
    ValueError
        For an unknown name, listing the valid ones.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r} (available: {', '.join(available())})")
    return MODELS[name](**kwargs)


__all__ = ["BasicBlock", "FullyConnectedNet", "LeNet5", "MODELS", "SmallResNet", "SmallVGG",
           "ThreeLayerConvNet", "TwoLayerNet", "available", "create"]
