"""Inference through fused layers: a convolution, the batch norm and ReLU after it (and a
residual block's sum) in one pass over the convolution's output.

With no graph recorded (``vg.no_grad()``), ``Sequential`` and the residual blocks run their
layers through ``run_layers``: each run of ``Conv2d``, then ``BatchNorm2d`` in evaluation
mode and/or ``ReLU``, becomes one ``ops.conv_eval.conv2d_eval`` (the batch norm's running
statistics as a per-channel scale and shift, ReLU in the same pass), and every other layer
is called as it is. Calling the layers one by one is the reference: the results agree to
float32 rounding (tests/nn/test_fusion.py holds them together on each zoo network).

A layer runs fused only where that cannot change what is seen: exactly the classes named
(a subclass, or an instance given its own ``forward``, may compute something else), no
forward hooks on it (a hook sees every layer's output), a batch norm in evaluation mode
with running statistics of its convolution's width. Nothing is cached: the
scale and shift are computed from the layers' current parameters and buffers on every call.
"""

from __future__ import annotations

from .. import functional as F
from ..autograd import is_grad_enabled
from ..ops.conv_eval import batch_norm_scale_shift, conv2d_eval
from .activation import ReLU
from .conv import Conv2d
from .module import Module
from .norm import BatchNorm2d


def fusion_applies() -> bool:
    """Whether layers may run fused now: no graph is being recorded."""
    return not is_grad_enabled()


def _plain(module, cls) -> bool:
    """Exactly a ``cls``, with no hooks and no ``forward`` of its own (guided backprop's
    ReLUs have one)."""
    return (type(module) is cls and not module._forward_hooks
            and "forward" not in module.__dict__)


def fusable_norm(module) -> bool:
    """A ``BatchNorm2d`` that applies a fixed affine map: evaluation mode, running
    statistics kept, no hooks."""
    return (_plain(module, BatchNorm2d) and not module.training
            and module.track_running_stats and module.running_mean is not None
            and module.running_var is not None)


def fused_runs(layers):
    """``layers`` as a list of runs (conv, norm or None, relu: bool), each a fusable
    ``Conv2d`` with the eval-mode ``BatchNorm2d`` and/or the ``ReLU`` that follow it, and
    of the other layers as they are.

    Examples
    --------
    >>> from visiongrad import nn
    >>> from visiongrad.nn.fusion import fused_runs
    >>> layers = [nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2).eval(), nn.ReLU(), nn.Flatten()]
    >>> [type(run).__name__ for run in fused_runs(layers)]
    ['tuple', 'Flatten']
    """
    runs, index = [], 0
    while index < len(layers):
        layer = layers[index]
        index += 1
        if not _plain(layer, Conv2d):
            runs.append(layer)
            continue
        norm = None
        if (index < len(layers) and fusable_norm(layers[index])
                and layers[index].num_features == layer.out_channels):  # else BN's error
            norm, index = layers[index], index + 1
        relu = index < len(layers) and _plain(layers[index], ReLU)
        index += relu
        runs.append((layer, norm, relu) if norm is not None or relu else layer)
    return runs


def conv_norm_relu(conv: Conv2d, norm: BatchNorm2d | None, relu: bool, x, residual=None):
    """relu?(norm?(conv(x)) + residual) in one ``conv2d_eval``."""
    scale = shift = None
    if norm is not None:
        scale, shift = batch_norm_scale_shift(
            norm.running_mean, norm.running_var, None if norm.weight is None else norm.weight.data,
            None if norm.bias is None else norm.bias.data, norm.eps)
    return conv2d_eval(x, conv.weight, conv.bias, conv.stride, conv.padding, conv.dilation,
                       conv.groups, scale, shift, residual, relu)


def run_layers(layers, x, residual=None):
    """``layers`` (a list, or a container) called in turn on ``x``; with a ``residual``,
    relu(layers(x) + residual). Under ``vg.no_grad()`` their fusable runs are fused
    (``fused_runs``), the sum and ReLU into the last run where it is a convolution with no
    ReLU of its own; a container with hooks is called as it is.

    Examples
    --------
    >>> from visiongrad import nn
    >>> from visiongrad.nn.fusion import run_layers
    >>> layers = [nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4).eval(), nn.ReLU()]
    >>> with vg.no_grad():
    ...     run_layers(layers, vg.randn(2, 3, 5, 5)).shape
    (2, 4, 5, 5)
    """
    if not fusion_applies() or (isinstance(layers, Module) and layers._forward_hooks):
        for layer in [layers] if isinstance(layers, Module) else layers:  # the reference
            x = layer(x)
        return x if residual is None else F.relu(x + residual)
    runs = fused_runs(list(layers))
    last = runs[-1] if runs else None
    fuse_sum = residual is not None and isinstance(last, tuple) and not last[2]
    for run in runs[:-1] if fuse_sum else runs:
        x = conv_norm_relu(*run, x) if isinstance(run, tuple) else run(x)
    if fuse_sum:
        return conv_norm_relu(last[0], last[1], True, x, residual)
    return x if residual is None else F.relu(x + residual)


RELU = ReLU()
"""A ReLU layer for the list of a block whose forward calls ``F.relu``."""


def block_layers(module: Module, names: str):
    """The layers of ``module`` named in ``names`` ("conv1 bn1 relu conv2 bn2"), ``relu``
    standing for ``F.relu`` (``RELU``) where the module has no layer of that name."""
    return [RELU if name == "relu" and name not in module._modules else getattr(module, name)
            for name in names.split()]
