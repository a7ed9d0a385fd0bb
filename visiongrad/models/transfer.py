"""Transfer learning: find and replace a network's classifier head, freeze the rest.

>>> from visiongrad import models, optim
>>> net = models.create("resnet18", num_classes=1000)       # e.g. with ImageNet weights
>>> head = models.replace_head(net, num_classes=10)        # a fresh nn.Linear(512, 10)
>>> models.freeze(net, except_head=True)                   # features fixed, head trains
>>> opt = optim.SGD([{"params": head.parameters(), "lr": 1e-2}], lr=1e-3)

A frozen parameter has ``requires_grad = False``: ``backward`` gives it no gradient and
optimizers skip it. A frozen batch norm also stays in evaluation mode (it normalises with
the running statistics it was trained with and never updates them), whatever
``model.train()`` says: without that, a frozen backbone would still drift as its batch
statistics followed the new data.
"""

from __future__ import annotations

from .. import nn
from ..nn.norm import BatchNorm1d, BatchNorm2d
from .alexnet import AlexNet, ZFNet
from .googlenet import GoogLeNet
from .layers import classifier
from .vgg import VGG

__all__ = ["FrozenBatchNorm1d", "FrozenBatchNorm2d", "freeze", "head_names", "replace_head",
           "unfreeze"]


class _StaysInEval:
    """A layer whose ``train(mode)`` always sets evaluation mode."""

    def train(self, mode: bool = True):
        return super().train(False)


class FrozenBatchNorm1d(_StaysInEval, BatchNorm1d):
    """``BatchNorm1d`` that stays in evaluation mode (set by :func:`freeze`); same
    parameters, buffers and ``state_dict`` keys as ``BatchNorm1d``."""


class FrozenBatchNorm2d(_StaysInEval, BatchNorm2d):
    """``BatchNorm2d`` that stays in evaluation mode (set by :func:`freeze`); same
    parameters, buffers and ``state_dict`` keys as ``BatchNorm2d``.

    NOTE: unlike torchvision's ``FrozenBatchNorm2d``, whose weight and bias are buffers,
    these stay parameters (frozen by ``requires_grad``), so :func:`unfreeze` can train them
    again and checkpoints load into the plain layer.
    """


_FROZEN = {BatchNorm1d: FrozenBatchNorm1d, BatchNorm2d: FrozenBatchNorm2d}
_THAWED = {frozen: plain for plain, frozen in _FROZEN.items()}


def head_names(model: nn.Module) -> list[str]:
    """Dotted names of the classifier head(s): the last ``Linear`` that maps features to
    class scores (``fc`` for ResNets, GoogLeNet, FractalNet; ``classifier.6`` for AlexNet
    and VGG; the last layer of the course's ``Sequential`` models), plus GoogLeNet's
    auxiliary classifiers' ``aux1.fc2`` and ``aux2.fc2`` when it has them.

    Raises
    ------
    TypeError
        For a model whose head is not a ``Linear`` in one of those places.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import models
    >>> models.head_names(models.TwoLayerNet(hidden_dim=8))
    ['3']
    """
    if isinstance(model, (AlexNet, ZFNet, VGG)):
        names = [f"classifier.{len(model.classifier) - 1}"]
    elif isinstance(model, nn.Sequential):
        names = [str(len(model) - 1)]
    else:
        names = ["fc"]
    if isinstance(model, GoogLeNet):
        names += [f"{aux}.fc2" for aux in ("aux1", "aux2") if model._modules.get(aux)]
    for name in names:
        if not isinstance(_get(model, name), nn.Linear):
            raise TypeError(f"{type(model).__name__} has no Linear classifier head at "
                            f"{name!r}; replace its head by hand")
    return names


def _get(model: nn.Module, name: str):
    module = model
    for part in name.split("."):
        module = module._modules.get(part) if isinstance(module, nn.Module) else None
    return module


def replace_head(model: nn.Module, num_classes: int) -> nn.Module:
    """Replace the classifier head(s) (:func:`head_names`) by fresh ``Linear`` layers with
    ``num_classes`` outputs, weights of std 0.01 and zero bias (so the loss starts near
    log(num_classes)); return the new main head (for GoogLeNet with auxiliary classifiers,
    an ``nn.ModuleList`` of all three). Build the optimizer afterwards, so it holds the
    new parameters.

    Examples
    --------
    >>> import visiongrad as vg
    >>> from visiongrad import models
    >>> net = models.TwoLayerNet(hidden_dim=8)
    >>> head = models.replace_head(net, num_classes=3)
    >>> head.out_features, net(vg.randn(2, 1, 28, 28)).shape
    (3, (2, 3))
    """
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer of at least 2, got {num_classes!r}")
    new = []
    for name in head_names(model):
        parent_name, _, attribute = name.rpartition(".")
        parent = _get(model, parent_name) if parent_name else model
        layer = classifier(_get(model, name).in_features, num_classes)
        setattr(parent, attribute, layer)
        new.append(layer)
    return new[0] if len(new) == 1 else nn.ModuleList(new)


def freeze(module: nn.Module, except_head: bool = False) -> nn.Module:
    """Freeze ``module`` (and its submodules): ``requires_grad = False`` on every parameter,
    gradients cleared, batch norm layers switched to their ``Frozen`` class (same object,
    state and keys) so they stay in evaluation mode. With ``except_head=True`` the
    classifier head(s) of the model (:func:`head_names`) stay trainable. Returns ``module``.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import models
    >>> import visiongrad as vg
    >>> net = models.TwoLayerNet(hidden_dim=8)
    >>> _ = models.freeze(net, except_head=True)
    >>> [p.requires_grad for p in net.parameters()]
    [False, False, True, True]
    """
    module.requires_grad_(False)
    module.zero_grad()
    for layer in module.modules():
        if type(layer) in _FROZEN:
            layer.__class__ = _FROZEN[type(layer)]
            layer.eval()
    if except_head:
        for name in head_names(module):
            _get(module, name).requires_grad_(True)
    return module


def unfreeze(module: nn.Module) -> nn.Module:
    """Undo :func:`freeze`: every parameter trainable, batch norm back to its plain class
    and to ``module``'s mode. Returns ``module``.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import models
    >>> import visiongrad as vg
    >>> net = models.freeze(models.TwoLayerNet(hidden_dim=8))
    >>> all(p.requires_grad for p in models.unfreeze(net).parameters())
    True
    """
    module.requires_grad_(True)
    for layer in module.modules():
        if type(layer) in _THAWED:
            layer.__class__ = _THAWED[type(layer)]
            object.__setattr__(layer, "training", module.training)
    return module
