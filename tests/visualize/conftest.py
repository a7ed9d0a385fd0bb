"""Tiny float64 models for the visualisation tests."""

import numpy as np
import pytest

from visiongrad import models, nn


@pytest.fixture
def tiny_convnet():
    """The course's three-layer convnet on 1x8x8 images, 3 classes, float64."""
    return models.create("three_layer_convnet", input_shape=(1, 8, 8), num_classes=3,
                         num_filters=3, filter_size=3, hidden_dim=6).to(np.float64)


@pytest.fixture
def images():
    return np.random.default_rng(0).standard_normal((3, 1, 8, 8))


@pytest.fixture
def linear_model():
    """A builder: Flatten + Linear with a given (classes, C*H*W) weight and no bias."""
    def build(weight: np.ndarray) -> nn.Sequential:
        layer = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
        layer.weight.data = weight.astype(np.float64)
        return nn.Sequential(nn.Flatten(), layer)
    return build
