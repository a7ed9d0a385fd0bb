"""Fully-connected networks: the course's two-layer net and FC nets of any depth."""

from __future__ import annotations

import math
from collections.abc import Sequence

from .. import nn
from .layers import SequentialClassifier, check_shape, classifier

NORMALIZATIONS = (None, "batchnorm", "layernorm")


class FullyConnectedNet(SequentialClassifier):
    """``{affine - [norm] - relu - [dropout]} x L - affine``, on flattened images.

    Parameters
    ----------
    hidden_dims : sequence of int
        Width of each hidden layer (L = its length; may be empty: a softmax classifier).
    input_shape : (C, H, W)
        Images are flattened to ``C * H * W`` features by the first layer.
    num_classes : int
    normalization : {None, "batchnorm", "layernorm"}
        Normalisation after each hidden affine layer.
    dropout : float
        Probability of dropping each hidden unit (PyTorch's meaning of ``p``); 0 for none.

    Shape
    -----
    (N, C, H, W) -> (N, num_classes)

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import models
    >>> import visiongrad as vg
    >>> net = models.FullyConnectedNet(hidden_dims=(64, 32), input_shape=(1, 8, 8), num_classes=5)
    >>> net(vg.randn(3, 1, 8, 8)).shape
    (3, 5)
    """

    def __init__(self, hidden_dims: Sequence[int] = (100, 100),
                 input_shape: Sequence[int] = (1, 28, 28), num_classes: int = 10,
                 normalization: str | None = None, dropout: float = 0.0):
        shape = check_shape(input_shape, num_classes)
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {NORMALIZATIONS}, "
                             f"got {normalization!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if any(int(width) < 1 for width in hidden_dims):
            raise ValueError(f"hidden_dims must be positive, got {list(hidden_dims)}")
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(shape)
        for hidden in hidden_dims:
            layers.append(nn.Linear(width, int(hidden)))
            if normalization == "batchnorm":
                layers.append(nn.BatchNorm1d(int(hidden)))
            elif normalization == "layernorm":
                layers.append(nn.LayerNorm(int(hidden)))
            layers.append(nn.ReLU())
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = int(hidden)
        layers.append(classifier(width, num_classes))
        super().__init__(*layers)


class TwoLayerNet(FullyConnectedNet):
    """The course's two-layer net: ``affine - relu - affine`` on flattened images.

    Parameters
    ----------
    input_shape : (C, H, W)
    hidden_dim : int
    num_classes : int

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import models
    >>> import visiongrad as vg
    >>> models.TwoLayerNet(input_shape=(1, 28, 28), hidden_dim=50)(vg.randn(2, 1, 28, 28)).shape
    (2, 10)
    """

    def __init__(self, input_shape: Sequence[int] = (1, 28, 28), hidden_dim: int = 100,
                 num_classes: int = 10):
        super().__init__([hidden_dim], input_shape=input_shape, num_classes=num_classes)


class LeNet300100(FullyConnectedNet):
    """LeCun et al.'s fully connected net ``784-300-100-10`` (``affine - relu`` twice, then
    the classifier): the LeNet-300-100 of Deep Compression's table 1 (266,610 parameters
    on 28x28 images).

    Parameters
    ----------
    input_shape : (C, H, W)
    num_classes : int

    Examples
    --------
    >>> from visiongrad.models import LeNet300100
    >>> _ = vg.manual_seed(0)
    >>> LeNet300100()(vg.randn(2, 1, 28, 28)).shape
    (2, 10)
    """

    def __init__(self, input_shape: Sequence[int] = (1, 28, 28), num_classes: int = 10):
        super().__init__([300, 100], input_shape=input_shape, num_classes=num_classes)
