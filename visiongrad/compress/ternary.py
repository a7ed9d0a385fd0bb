"""Binary and ternary weights as a training option: ``low_bit_weights(model, "ternary")``
returns a ``Sequential`` whose convolutions and linear layers use ternary (trained ternary
quantization: +W_p, 0, -W_n per layer, the two scales learned) or binary (alpha_f sign(w)
per output channel) weights computed from latent float weights in every forward pass.
Train it as any model (the Trainer, an optimizer over ``parameters()``, which include
the ternary scales); ``deployed_weights`` gives the low-bit weights to store.

As in the TTQ and XNOR-Net papers, the first and last layers keep float weights by
default (``keep_first_last``): they hold few of the weights and most of the damage.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn
from ..ops.quantize import BinaryWeight, TernaryWeight
from .quantize import conv_padding

KINDS = ("binary", "ternary")


class LowBitWeights(nn.Module):
    """A Conv2d or Linear (its parameters, shared) whose weight is binarized or ternarized
    in the forward pass. Ternary layers learn ``positive_scale`` and ``negative_scale``,
    initialised to the mean magnitude of the latent weights beyond the threshold."""

    def __init__(self, layer, kind: str, threshold: float = 0.05):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        self.layer, self.kind, self.threshold = layer, kind, threshold
        if kind == "ternary":
            w = layer.weight.data
            delta = threshold * np.abs(w).max()
            for name, part in (("positive_scale", w[w > delta]),
                               ("negative_scale", -w[w < -delta])):
                value = part.mean() if part.size else delta
                self.register_parameter(name, nn.Parameter(np.asarray(value, w.dtype)))

    def weight(self):
        """The low-bit weight the layer computes with (a Tensor in the graph)."""
        if self.kind == "binary":
            return BinaryWeight.apply(self.layer.weight)
        return TernaryWeight.apply(self.layer.weight, self.positive_scale, self.negative_scale,
                                   threshold=self.threshold)

    def forward(self, x):
        layer = self.layer
        if isinstance(layer, nn.Conv2d):
            return F.conv2d(x, self.weight(), layer.bias, layer.stride, conv_padding(layer))
        return F.linear(x, self.weight(), layer.bias)

    def extra_repr(self) -> str:
        return f"{self.kind}, threshold={self.threshold}" if self.kind == "ternary" else self.kind


def low_bit_weights(model, kind: str, threshold: float = 0.05,
                    keep_first_last: bool = True) -> nn.Sequential:
    """The twin of a ``Sequential`` classifier with binary or ternary weights (see the
    module's docstring); it shares ``model``'s parameters.

    Examples
    --------
    >>> from visiongrad.compress import low_bit_weights
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> ternary = low_bit_weights(model, 'ternary')
    >>> ternary(vg.ones(2, 1, 2, 2)).shape
    (2, 3)
    """
    if not isinstance(model, nn.Sequential):
        raise ValueError(f"low_bit_weights takes a Sequential classifier, got "
                         f"{type(model).__name__}")
    weighted = [i for i, m in enumerate(model) if isinstance(m, (nn.Conv2d, nn.Linear))]
    kept = {weighted[0], weighted[-1]} if keep_first_last else set()
    return nn.Sequential(*(LowBitWeights(m, kind, threshold)
                           if i in weighted and i not in kept else m
                           for i, m in enumerate(model)))


def deployed_weights(model) -> dict[str, np.ndarray]:
    """Each low-bit layer's weight as it is deployed: int8 codes in {-1, 0, 1} ({-1, 1} for
    binary) under ``NAME.codes``, with ``NAME.scales``: (W_p, W_n) for ternary, alpha per
    output channel for binary.

    Examples
    --------
    >>> from visiongrad.compress import deployed_weights
    >>> _ = vg.manual_seed(0)
    >>> from visiongrad.compress import low_bit_weights
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> ternary = low_bit_weights(model, 'ternary', keep_first_last=False)
    >>> sorted(deployed_weights(ternary))
    ['1.codes', '1.scales', '3.codes', '3.scales']
    """
    out = {}
    for name, module in model.named_modules():
        if isinstance(module, LowBitWeights):
            w = module.weight().data
            out[f"{name}.codes"] = np.sign(w).astype(np.int8)
            if module.kind == "ternary":
                out[f"{name}.scales"] = np.array([module.positive_scale.data,
                                                  module.negative_scale.data], np.float32)
            else:
                out[f"{name}.scales"] = np.abs(w.reshape(len(w), -1)).max(axis=1)
    return out
