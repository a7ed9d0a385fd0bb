"""Post-training int8 quantization of a sequential classifier (``quantize_model``), and the
per-layer table of what it did.

The recipe (as PyTorch's eager mode and ONNX Runtime's static quantization do it):

1. Fold each batch norm into the convolution before it: with a = gamma / sqrt(var + eps),
   W' = a W (per output channel) and b' = a (b - mean) + beta.
2. Fuse each ReLU into the layer before it (the output's lower clamp is its zero point).
3. Calibrate: run the float model on calibration images and pick every activation's
   range (``ActivationObserver``: min/max, percentile or MSE), hence its per-tensor affine
   uint8 (scale, zero point); the input image gets one too.
4. Quantize each weight per output channel, symmetric int8 (``symmetric_scales``).
5. Build the integer layers (``compress/int8.py``); the last layer returns float32 scores.

The model must be a ``Sequential`` (the zoo's ``SequentialClassifier``: the three-layer
convnet, LeNet-5, SmallVGG, the fully connected nets) of Conv2d (groups 1, dilation 1),
BatchNorm2d/1d, ReLU, MaxPool2d, Flatten, Linear and Dropout/Identity (dropped at
inference), ending in a Conv2d or Linear; anything else is refused by name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import functional as F
from .. import nn
from ..autograd import no_grad, tensor
from .int8 import (
    Int8Conv2d,
    Int8Flatten,
    Int8Linear,
    Int8MaxPool2d,
    Int8Product,
    Int8ReLU,
    QuantizedClassifier,
)
from .observers import ActivationObserver, quantize_symmetric, symmetric_scales

SKIPPED = (nn.Dropout, nn.Identity)


@dataclass
class Block:
    """One step of the float model as it is quantized: ``kind`` "conv", "linear", "pool",
    "flatten" or "relu"; for conv/linear the BN-folded float weight and bias, with the
    ReLU fused; ``name`` is the index of its first module in the model."""

    kind: str
    name: str
    module: object
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    relu: bool = False

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The float output (NCHW images) for float input ``x``."""
        if self.kind == "conv":
            y = F.conv2d(tensor(x), tensor(self.weight), tensor(self.bias),
                         self.module.stride, conv_padding(self.module)).data
        elif self.kind == "linear":
            y = F.linear(tensor(x.reshape(len(x), -1)), tensor(self.weight),
                         tensor(self.bias)).data
        elif self.kind == "pool":
            y = self.module(tensor(x)).data
        elif self.kind == "flatten":
            y = x.reshape(len(x), -1)
        else:
            y = x
        return np.maximum(y, 0) if self.relu else y


def conv_padding(conv) -> tuple[int, int]:
    """The convolution's padding as a pair ("same" at stride 1: (k - 1) // 2; "valid": 0)."""
    if conv.padding == "valid":
        return (0, 0)
    if conv.padding == "same":
        return tuple((k - 1) // 2 for k in conv.kernel_size)
    return tuple(conv.padding)


def fold_batch_norm(weight, bias, norm) -> tuple[np.ndarray, np.ndarray]:
    """(W', b') of a layer followed by batch norm ``norm`` in eval mode: a = gamma /
    sqrt(running_var + eps), W' = a W per output channel, b' = a (b - running_mean) + beta.

    Examples
    --------
    >>> from visiongrad.compress import fold_batch_norm
    >>> _ = vg.manual_seed(0)
    >>> norm = nn.BatchNorm2d(2).eval()
    >>> weight, bias = np.ones((2, 1, 1, 1), np.float32), np.zeros(2, np.float32)
    >>> weight, bias = fold_batch_norm(weight, bias, norm)      # gamma 1, beta 0, var 1
    >>> weight.ravel(), bias
    (array([0.999995, 0.999995], dtype=float32), array([0., 0.], dtype=float32))
    """
    gamma = norm.weight.data if norm.weight is not None else 1.0
    beta = norm.bias.data if norm.bias is not None else 0.0
    a = gamma / np.sqrt(norm.running_var + norm.eps)
    shape = (-1,) + (1,) * (weight.ndim - 1)
    return ((weight * a.reshape(shape)).astype(np.float32),
            (a * (bias - norm.running_mean) + beta).astype(np.float32))


def plan_blocks(model) -> list[Block]:
    """The model's modules grouped into quantizable blocks (BN folded, ReLU fused).

    Examples
    --------
    >>> from visiongrad.compress import plan_blocks
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
    ...                       nn.Flatten(), nn.Linear(4, 3)).eval()
    >>> len(plan_blocks(model))
    3
    """
    if not isinstance(model, nn.Sequential):
        raise ValueError(f"quantize_model takes a Sequential classifier, got "
                         f"{type(model).__name__}")
    modules = [(str(i), m) for i, m in enumerate(model) if not isinstance(m, SKIPPED)]
    blocks: list[Block] = []
    index = 0
    while index < len(modules):
        name, module = modules[index]
        index += 1
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            if isinstance(module, nn.Conv2d) and (module.groups != 1
                                                  or tuple(module.dilation) != (1, 1)):
                raise ValueError(f"layer {name}: only convolutions with groups=1 and "
                                 f"dilation 1 are quantized, got {module}")
            weight = module.weight.data.astype(np.float32)
            bias = (module.bias.data if module.bias is not None
                    else np.zeros(len(weight))).astype(np.float32)
            if index < len(modules) and isinstance(modules[index][1],
                                                   (nn.BatchNorm2d, nn.BatchNorm1d)):
                weight, bias = fold_batch_norm(weight, bias, modules[index][1])
                index += 1
            relu = index < len(modules) and isinstance(modules[index][1], nn.ReLU)
            index += relu
            kind = "conv" if isinstance(module, nn.Conv2d) else "linear"
            blocks.append(Block(kind, name, module, weight, bias, relu))
        elif isinstance(module, nn.MaxPool2d):
            if module.ceil_mode or tuple(getattr(module, "dilation", (1, 1))) != (1, 1):
                raise ValueError(f"layer {name}: max pooling with ceil_mode or dilation is "
                                 f"not quantized")
            blocks.append(Block("pool", name, module))
        elif isinstance(module, nn.Flatten):
            blocks.append(Block("flatten", name, module))
        elif isinstance(module, nn.ReLU):
            blocks.append(Block("relu", name, module, relu=True))
        else:
            raise ValueError(f"layer {name} ({type(module).__name__}) cannot be quantized: "
                             f"int8 inference takes Conv2d, BatchNorm, ReLU, MaxPool2d, "
                             f"Flatten, Linear and Dropout")
    if not blocks or blocks[-1].kind not in ("conv", "linear"):
        raise ValueError("quantize_model needs a model that ends in a Conv2d or Linear layer")
    return blocks


def calibrate(blocks: list[Block], images: np.ndarray, method: str, bits: int = 8,
              batch_size: int = 256, **observer_options) -> list[ActivationObserver]:
    """Run the float blocks on ``images`` in batches; return the observer of the input
    followed by one per block (conv, linear and relu blocks watch their outputs)."""
    observers = [ActivationObserver(method, bits, seed=i, **observer_options)
                 for i in range(len(blocks) + 1)]
    with no_grad():
        for start in range(0, len(images), batch_size):
            x = np.asarray(images[start:start + batch_size], np.float32)
            observers[0].observe(x)
            for block, observer in zip(blocks, observers[1:], strict=True):
                x = block.forward(x)
                if block.kind in ("conv", "linear", "relu"):
                    observer.observe(x)
    return observers


def quantize_model(model, calibration_images: np.ndarray, method: str = "minmax",
                   percentile: float = 99.99, batch_size: int = 256,
                   path: str | None = None) -> QuantizedClassifier:
    """int8 post-training quantization of ``model`` (see the module's docstring).

    Parameters
    ----------
    model : nn.Sequential
        In eval mode (batch norm's running statistics are folded).
    calibration_images : ndarray (N, C, H, W) float
        Preprocessed as the model takes them (a few hundred to a thousand training images).
    method : {"minmax", "percentile", "mse"}
        How each activation's range is chosen (``compress.observers``).
    percentile : float
        For ``method="percentile"``.
    path : {"vnni", "avx2"}, optional
        Force one compiled path of the integer product (tests; default: the best present).

    Returns
    -------
    QuantizedClassifier

    Examples
    --------
    >>> from visiongrad.compress import quantize_model
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(),
    ...                       nn.Flatten(), nn.Linear(4, 3)).eval()
    >>> images = np.random.default_rng(0).random((8, 1, 3, 3)).astype(np.float32)
    >>> int8 = quantize_model(model, images)
    >>> error = np.abs(int8(images).data - model(vg.tensor(images)).data).max()
    >>> int8(images).shape, bool(error < 0.05)
    ((8, 3), True)
    """
    if len(calibration_images) == 0:
        raise ValueError("quantize_model needs at least one calibration image")
    blocks = plan_blocks(model)
    observers = calibrate(blocks, calibration_images, method, batch_size=batch_size,
                          percentile=percentile)
    input_qparams = qparams = observers[0].qparams()
    layers: list[nn.Module] = []
    shape = calibration_images.shape[1:]  # (C, H, W) while images, (D,) after flattening
    for position, (block, observer) in enumerate(zip(blocks, observers[1:], strict=True)):
        last = position == len(blocks) - 1
        if block.kind in ("conv", "linear"):
            out_qparams = None if last else observer.qparams()
            scales = symmetric_scales(block.weight)
            weight_q = quantize_symmetric(block.weight, scales)
            if block.kind == "conv":
                layer = Int8Conv2d(weight_q, scales, block.bias, block.module.stride,
                                   conv_padding(block.module), qparams, out_qparams,
                                   block.relu, path)
                shape = (len(weight_q), *conv_output(shape[1:], block))
            else:
                layer = Int8Linear(channels_last_columns(weight_q, shape), scales, block.bias,
                                   qparams, out_qparams, block.relu, path)
                shape = (len(weight_q),)
            layers.append(layer)
            qparams = out_qparams
        elif block.kind == "pool":
            pool = block.module
            layers.append(Int8MaxPool2d(pool.kernel_size, pool.stride, pool.padding))
            shape = (shape[0], *pool_output(shape[1:], pool))
        elif block.kind == "flatten":
            layers.append(Int8Flatten())
        else:
            layers.append(Int8ReLU(qparams[1]))
    return QuantizedClassifier(input_qparams, layers)


def conv_output(hw, block: Block) -> tuple[int, int]:
    kernel, stride, padding = block.weight.shape[2:], block.module.stride, conv_padding(
        block.module)
    return tuple((hw[a] + 2 * padding[a] - kernel[a]) // stride[a] + 1 for a in (0, 1))


def pool_output(hw, pool) -> tuple[int, int]:
    return tuple((hw[a] + 2 * pool.padding[a] - pool.kernel_size[a]) // pool.stride[a] + 1
                 for a in (0, 1))


def channels_last_columns(weight_q: np.ndarray, shape) -> np.ndarray:
    """A linear layer's weight (F, C H W) with its columns reordered to (H, W, C), the
    order in which the int8 path flattens a channels-last image; unchanged for (D,) input."""
    if len(shape) != 3:
        return weight_q
    return np.ascontiguousarray(weight_q.reshape(len(weight_q), *shape).transpose(0, 2, 3, 1)
                                ).reshape(len(weight_q), -1)


def layer_table(model, quantized: QuantizedClassifier, images: np.ndarray) -> list[dict]:
    """Per quantized conv/linear layer: its name, shape, float32 and int8 bytes (int8
    weights + a float32 scale and bias per channel), the output's (scale, zero point) and
    the signal-to-quantization-noise ratio (dB) of its int8 output against the float
    model's on ``images``: 10 log10(sum y^2 / sum (y - y_int8)^2).

    Examples
    --------
    >>> from visiongrad.compress import layer_table
    >>> _ = vg.manual_seed(0)
    >>> from visiongrad.compress import quantize_model
    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(),
    ...                       nn.Flatten(), nn.Linear(4, 3)).eval()
    >>> images = np.random.default_rng(0).random((8, 1, 3, 3)).astype(np.float32)
    >>> table = layer_table(model, quantize_model(model, images), images)
    >>> [(row['layer'], row['kind'], row['int8_bytes']) for row in table]
    [('0', 'conv', 68), ('3', 'linear', 36)]
    """
    blocks = plan_blocks(model)
    x = np.asarray(images, np.float32)
    float_outputs = []
    with no_grad():
        for block in blocks:
            x = block.forward(x)
            float_outputs.append(x)
    int8_outputs = quantized.trace(images)
    rows = []
    layers = list(quantized.layers)
    for block, layer, expected, got in zip(blocks, layers, float_outputs, int8_outputs,
                                           strict=True):
        if not isinstance(layer, Int8Product):
            continue
        noise = float(np.sum((expected - got) ** 2))
        signal = float(np.sum(expected.astype(np.float64) ** 2))
        rows.append({"layer": block.name, "kind": block.kind,
                     "shape": list(layer.weight_q.shape),
                     "float32_bytes": 4 * (layer.weight_q.size + len(layer.bias)),
                     "int8_bytes": layer.weight_q.size + 8 * len(layer.bias),
                     "out_scale": None if layer.out_qparams is None else layer.out_qparams[0],
                     "out_zero_point": None if layer.out_qparams is None
                     else layer.out_qparams[1],
                     "sqnr_db": float("inf") if noise == 0 else 10 * np.log10(signal / noise)})
    return rows
