"""Quantization-aware training: a float classifier trained through fake quantization of
its weights (per output channel, symmetric) and activations (per tensor, affine), so that
it learns weights that survive rounding to few bits.

``prepare_qat(model, bits)`` returns a new ``Sequential`` that shares the model's
parameters: each Conv2d/Linear quantizes its weight on the fly (``QATConv2d``,
``QATLinear``), and an ``ActivationFakeQuantize`` follows the input and the end of every
block (conv/linear [+ batch norm] [+ ReLU]) except the last, where the int8 path
quantizes. The gradient passes the rounding straight through (``ops.quantize.FakeQuantize``).

NOTE: batch norm stays a separate float layer here (not folded into the weights before
they are quantized, as the int8 path does), which is simpler and the same for the
simulated post-training baseline (``calibrate_fake_quant`` without training) that QAT is
compared with.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn
from ..autograd import no_grad, tensor
from ..ops.quantize import FakeQuantize
from .observers import affine_qparams
from .quantize import SKIPPED, conv_padding


def fake_quantize_weight(weight, bits: int):
    """w quantized per output channel to signed ``bits`` (symmetric, scale max|w_f| /
    (2^(bits-1) - 1), held constant) and dequantized, gradient straight through."""
    limit = 2 ** (bits - 1) - 1
    flat = np.abs(weight.data.reshape(len(weight.data), -1)).max(axis=1)
    scale = np.where(flat > 0, flat / limit, 1.0).astype(weight.data.dtype)
    scale = scale.reshape((-1,) + (1,) * (weight.data.ndim - 1))
    return FakeQuantize.apply(weight, scale, np.zeros_like(scale), quant_min=-limit,
                              quant_max=limit)


class QATConv2d(nn.Module):
    """``conv`` (its parameters, shared) with its weight fake-quantized to ``bits``."""

    def __init__(self, conv, bits: int):
        super().__init__()
        self.conv, self.bits = conv, bits

    def forward(self, x):
        c = self.conv
        return F.conv2d(x, fake_quantize_weight(c.weight, self.bits), c.bias, c.stride,
                        conv_padding(c))


class QATLinear(nn.Module):
    """``linear`` (its parameters, shared) with its weight fake-quantized to ``bits``."""

    def __init__(self, linear, bits: int):
        super().__init__()
        self.linear, self.bits = linear, bits

    def forward(self, x):
        return F.linear(x, fake_quantize_weight(self.linear.weight, self.bits), self.linear.bias)


class ActivationFakeQuantize(nn.Module):
    """Per-tensor affine fake quantization of an activation to unsigned ``bits``.

    Its range [lo, hi] is, in training, a moving average of each batch's min and max
    (lo <- lo + c (min - lo), c = ``averaging``, PyTorch's moving-average observer); while
    ``calibrating``, the min and max over every batch seen, nothing quantized (the
    post-training recipe); in eval mode, fixed.

    Examples
    --------
    >>> from visiongrad.compress import ActivationFakeQuantize
    >>> _ = vg.manual_seed(0)
    >>> quantize = ActivationFakeQuantize(bits=2).eval()
    >>> quantize.lo, quantize.hi = 0.0, 3.0
    >>> quantize(vg.tensor([0.4, 1.6, 5.0]))
    Tensor([0. 2. 3.])
    """

    def __init__(self, bits: int = 8, averaging: float = 0.01):
        super().__init__()
        self.bits, self.averaging = bits, averaging
        self.lo: float | None = None
        self.hi: float | None = None
        self.calibrating = False

    def forward(self, x):
        lo, hi = float(x.data.min()), float(x.data.max())
        if self.calibrating or self.lo is None:
            self.lo = lo if self.lo is None else min(self.lo, lo)
            self.hi = hi if self.hi is None else max(self.hi, hi)
            if self.calibrating:
                return x
        elif self.training:
            self.lo += self.averaging * (lo - self.lo)
            self.hi += self.averaging * (hi - self.hi)
        scale, zero_point = affine_qparams(self.lo, self.hi, self.bits)
        dtype = x.data.dtype
        return FakeQuantize.apply(x, np.asarray(scale, dtype), np.asarray(zero_point, dtype),
                                  quant_min=0, quant_max=2 ** self.bits - 1)

    def extra_repr(self) -> str:
        return f"bits={self.bits}, range=({self.lo}, {self.hi})"


def prepare_qat(model, bits: int = 8) -> nn.Sequential:
    """The fake-quantized twin of a ``Sequential`` classifier (see the module's docstring);
    it shares ``model``'s parameters and buffers, so training it trains ``model``.

    Examples
    --------
    >>> from visiongrad.compress import prepare_qat
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> qat = prepare_qat(model)
    >>> qat(vg.ones(2, 1, 2, 2)).shape
    (2, 3)
    """
    if not isinstance(model, nn.Sequential):
        raise ValueError(f"prepare_qat takes a Sequential classifier, got {type(model).__name__}")
    if not 2 <= bits <= 8:
        raise ValueError(f"bits must be between 2 and 8, got {bits}")
    modules = [m for m in model if not isinstance(m, SKIPPED)]
    last = max(i for i, m in enumerate(modules) if isinstance(m, (nn.Conv2d, nn.Linear)))
    layers: list[nn.Module] = [ActivationFakeQuantize(bits)]
    for index, module in enumerate(modules):
        if isinstance(module, nn.Conv2d):
            layers.append(QATConv2d(module, bits))
        elif isinstance(module, nn.Linear):
            layers.append(QATLinear(module, bits))
        else:
            layers.append(module)
        block_ends = index + 1 >= len(modules) or isinstance(
            modules[index + 1], (nn.Conv2d, nn.Linear, nn.MaxPool2d, nn.Flatten))
        if index < last and block_ends and not isinstance(module, (nn.MaxPool2d, nn.Flatten)):
            layers.append(ActivationFakeQuantize(bits))
    return nn.Sequential(*layers)


def calibrate_fake_quant(qat_model, images: np.ndarray, batch_size: int = 256) -> None:
    """Set every ``ActivationFakeQuantize``'s range to the min and max of its input over
    ``images`` (eval mode, no graph): post-training quantization, simulated.

    Examples
    --------
    >>> from visiongrad.compress import calibrate_fake_quant
    >>> _ = vg.manual_seed(0)
    >>> from visiongrad.compress import prepare_qat
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> qat = prepare_qat(model)
    >>> images = np.random.default_rng(0).random((8, 1, 2, 2)).astype(np.float32)
    >>> calibrate_fake_quant(qat, images)
    >>> qat(vg.tensor(images)).shape
    (8, 3)
    """
    observers = [m for m in qat_model.modules() if isinstance(m, ActivationFakeQuantize)]
    for observer in observers:
        observer.lo = observer.hi = None
        observer.calibrating = True
    was_training = qat_model.training
    qat_model.eval()
    try:
        with no_grad():
            for start in range(0, len(images), batch_size):
                qat_model(tensor(np.asarray(images[start:start + batch_size])))
    finally:
        for observer in observers:
            observer.calibrating = False
        qat_model.train(was_training)
