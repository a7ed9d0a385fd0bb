"""A small convnet trained for a few seconds on the embedded Fashion-MNIST subset, shared by
the attack tests (module-scoped: trained once per test file)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # the tests import adversarial_helpers

from adversarial_helpers import fashion, small_convnet, train_quickly  # noqa: E402

import visiongrad as vg  # noqa: E402


@pytest.fixture(scope="module")
def trained():
    """(model, test images, test labels): about 80% accurate on the embedded test split."""
    vg.manual_seed(0)
    images, labels = fashion("train", 3000)
    model = train_quickly(small_convnet(), images, labels)
    x, y = fashion("test", 200)
    return model, x, y
