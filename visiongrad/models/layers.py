"""Pieces the model zoo shares: input-shape checks, output-size arithmetic, the classifier."""

from __future__ import annotations

from collections.abc import Sequence

from .. import nn
from ..ops.window import checked_output_size

CLASSIFIER_STD = 0.01
"""Standard deviation of every model's last layer: small scores, so the loss starts at log C."""


def check_shape(input_shape: Sequence[int], num_classes: int) -> tuple[int, int, int]:
    """Validate ``input_shape`` (C, H, W) and ``num_classes``; return the shape as a tuple."""
    shape = tuple(int(size) for size in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"input_shape must be (channels, height, width) of positive sizes, "
                         f"got {tuple(input_shape)}")
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer of at least 2, got {num_classes!r}")
    return shape


conv_output_size = checked_output_size
"""Output height (or width) of a convolution or pooling, ``(size + 2p - k) // s + 1``, or a
ValueError where the window does not fit (``ops.window.checked_output_size``)."""


class SequentialClassifier(nn.Sequential):
    """A ``Sequential`` whose last layer is the classifier (the head), so that
    ``features(x)`` is everything before it (used for transfer learning)."""

    def features(self, x):
        """The input of the last layer: (N, C, H, W) -> (N, D)."""
        for module in list(self)[:-1]:
            x = module(x)
        return x


def classifier(in_features: int, num_classes: int) -> nn.Linear:
    """The final ``Linear`` layer, weights drawn with std 0.01 and zero bias.

    Small final scores make every class about equally likely at the start, so the initial
    softmax loss is close to ``log(num_classes)`` whatever the layers before it do.
    """
    layer = nn.Linear(in_features, num_classes)
    nn.init.small_random_(layer.weight, std=CLASSIFIER_STD)
    nn.init.zeros_(layer.bias)
    return layer
