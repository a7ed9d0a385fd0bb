"""``summary(model, input_shape)``: each layer's output shape, parameters, multiply-adds
and activation memory, and their totals."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from ..autograd import Tensor, no_grad
from ..backend import get_default_dtype, xp
from .conv import Conv2d, ConvTranspose2d
from .linear import Linear
from .module import Module

COUNTING_NOTE = (
    "MACs: multiply-adds of the matrix products and convolutions (what the papers call "
    "FLOPs); FLOPs = 2 x MACs + bias additions; element-wise layers (activations, "
    "normalisation, pooling, dropout) count 0. Activations: bytes of each layer's output.")


def layer_macs(module: Module, x_shape: tuple[int, ...], y_shape: tuple[int, ...]) -> int:
    """Multiply-adds of one forward pass of ``module`` from ``x_shape`` to ``y_shape``.

    Linear: in_features per output element; Conv2d: C kh kw per output element;
    ConvTranspose2d: F kh kw per *input* element (each input pixel is spread over a
    kh x kw window of F channels). Every other layer counts 0 (see ``COUNTING_NOTE``).
    """
    if isinstance(module, Linear):
        return _size(y_shape) * module.in_features
    if isinstance(module, Conv2d):
        kh, kw = module.kernel_size
        return _size(y_shape) * module.in_channels * kh * kw
    if isinstance(module, ConvTranspose2d):
        kh, kw = module.kernel_size
        return _size(x_shape) * module.out_channels * kh * kw
    return 0


def layer_flops(module: Module, x_shape: tuple[int, ...], y_shape: tuple[int, ...]) -> int:
    """FLOPs of one forward pass: 2 per multiply-add (:func:`layer_macs`) plus 1 per
    output element for a bias, if the layer has one."""
    bias = _size(y_shape) if getattr(module, "bias", None) is not None else 0
    macs = layer_macs(module, x_shape, y_shape)
    return 2 * macs + (bias if macs else 0)


def _size(shape) -> int:
    size = 1
    for n in shape:
        size *= int(n)
    return size


@dataclass
class LayerRow:
    """One forward call of one layer."""

    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    macs: int
    flops: int
    activation_bytes: int


def format_bytes(count: int) -> str:
    """``count`` bytes in B, KB, MB or GB (powers of 1024), three significant figures."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count} B"


@dataclass
class ModelSummary:
    """What ``summary`` measured; ``str()`` gives the table.

    Examples
    --------
    >>> report = nn.summary(nn.Linear(4, 2), (4,), file=None)
    >>> report.total_params, report.trainable_params, report.total_macs
    (10, 10, 8)
    """

    rows: list[LayerRow] = field(default_factory=list)
    input_shape: tuple[int, ...] = ()
    total_params: int = 0
    trainable_params: int = 0
    param_bytes: int = 0

    @property
    def total_macs(self) -> int:
        return sum(row.macs for row in self.rows)

    @property
    def total_flops(self) -> int:
        return sum(row.flops for row in self.rows)

    @property
    def activation_bytes(self) -> int:
        """Sum of every layer's output bytes: what a forward pass keeps for backward, if
        no layer works in place."""
        return sum(row.activation_bytes for row in self.rows)

    def __str__(self) -> str:
        header = ("Layer (type)", "Output shape", "Params", "MACs", "Activations")
        body = [(f"{row.name} ({row.kind})", str(row.output_shape), f"{row.params:,}",
                 f"{row.macs:,}", format_bytes(row.activation_bytes)) for row in self.rows]
        widths = [max(len(line[i]) for line in [header, *body]) for i in range(5)]

        def format_line(cells) -> str:
            return "  ".join([cells[0].ljust(widths[0]), cells[1].ljust(widths[1]),
                              *(cell.rjust(width) for cell, width in
                                zip(cells[2:], widths[2:], strict=True))])

        rule = "-" * len(format_line(header))
        lines = [rule, format_line(header), rule, *map(format_line, body), rule,
                 f"Input shape: {self.input_shape}",
                 f"Total params: {self.total_params:,} ({format_bytes(self.param_bytes)})",
                 f"Trainable params: {self.trainable_params:,}",
                 f"Non-trainable params: {self.total_params - self.trainable_params:,}",
                 f"Total MACs (forward, this input): {self.total_macs:,}",
                 f"Total FLOPs (forward, this input): {self.total_flops:,}",
                 f"Activation memory (forward, this input): "
                 f"{format_bytes(self.activation_bytes)}",
                 COUNTING_NOTE, rule]
        return "\n".join(lines)


def summary(model: Module, input_shape, batch_size: int = 1, dtype=None,
            file=sys.stdout) -> ModelSummary:
    """Run one forward pass and tabulate each layer's output shape, parameters,
    multiply-adds and activation memory.

    The pass runs on zeros under ``no_grad`` in evaluation mode (the model's modes are
    restored afterwards) and draws nothing from the random generator. Every layer
    (a module without submodules, or one holding parameters of its own) is recorded each
    time it is called, in call order, so models that are not ``Sequential`` work too; a
    layer called twice counts its parameters once and its multiply-adds twice.

    Parameters
    ----------
    model : Module
    input_shape : tuple of int
        The shape of one example, without the batch axis, e.g. (1, 28, 28).
    batch_size : int
        The batch size of the pass (MACs and activations are for the whole batch).
    dtype : dtype, optional
        Of the input; the default floating dtype unless given (integers for ``Embedding``).
    file : file-like or None
        Where to print the table; ``None`` prints nothing.

    Returns
    -------
    ModelSummary
        ``rows``, ``total_params``, ``trainable_params``, ``param_bytes``, ``total_macs``,
        ``total_flops``, ``activation_bytes``; ``str()`` of it is the printed table.

    Examples
    --------
    >>> model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
    ...                       nn.Flatten(), nn.Linear(8 * 4 * 4, 10))
    >>> report = nn.summary(model, (3, 4, 4), file=None)
    >>> report.total_params, len(report.rows)
    (1514, 4)
    """
    if not isinstance(model, Module):
        raise TypeError(f"summary needs an nn.Module, got {type(model).__name__}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    shape = (batch_size, *(int(n) for n in input_shape))
    result = ModelSummary(input_shape=shape)
    counted: set[int] = set()

    def record(name: str):
        def hook(module, inputs, output):
            own = [p for p in module._parameters.values() if p is not None]
            params = 0 if id(module) in counted else sum(p.size for p in own)
            counted.add(id(module))
            x_shape = tuple(inputs[0].shape) if inputs and hasattr(inputs[0], "shape") else ()
            y_shape = tuple(output.shape)
            result.rows.append(LayerRow(
                name, type(module).__name__, y_shape, params,
                layer_macs(module, x_shape, y_shape), layer_flops(module, x_shape, y_shape),
                _size(y_shape) * output.data.dtype.itemsize))
        return hook

    modes = [(module, module.training) for module in model.modules()]
    handles = [module.register_forward_hook(record(name))
               for name, module in model.named_modules()
               if not module._modules or any(p is not None for p in module._parameters.values())]
    try:
        model.eval()
        with no_grad():
            model(Tensor(xp.zeros(shape, dtype=dtype or get_default_dtype())))
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes:
            object.__setattr__(module, "training", training)
    params = list(model.parameters())
    result.total_params = sum(p.size for p in params)
    result.trainable_params = sum(p.size for p in params if p.requires_grad)
    result.param_bytes = sum(p.data.nbytes for p in params)
    if file is not None:
        print(result, file=file)
    return result
