"""``summary(model, input_shape)``: each layer's output shape, parameter count and FLOPs."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from ..autograd import Tensor, no_grad
from ..backend import get_default_dtype, xp
from .conv import Conv2d, ConvTranspose2d
from .linear import Linear
from .module import Module

FLOPS_NOTE = ("FLOPs: a multiply-add counts as 2 FLOPs (matrix products and convolutions), "
              "a bias addition as 1; element-wise layers (activations, normalisation, pooling, "
              "dropout) are not counted.")


def layer_flops(module: Module, x_shape: tuple[int, ...], y_shape: tuple[int, ...]) -> int:
    """FLOPs of one forward pass of ``module`` from input ``x_shape`` to output ``y_shape``.

    Linear: 2 * in_features per output element; Conv2d: 2 * C kh kw per output element;
    ConvTranspose2d: 2 * F kh kw per *input* element (each input pixel is spread over a
    kh x kw window of F channels); plus 1 per output element for the bias. Every other
    layer counts 0 (see ``FLOPS_NOTE``).
    """
    outputs = _size(y_shape)
    bias = outputs if getattr(module, "bias", None) is not None else 0
    if isinstance(module, Linear):
        return 2 * outputs * module.in_features + bias
    if isinstance(module, Conv2d):
        kh, kw = module.kernel_size
        return 2 * outputs * module.in_channels * kh * kw + bias
    if isinstance(module, ConvTranspose2d):
        kh, kw = module.kernel_size
        return 2 * _size(x_shape) * module.out_channels * kh * kw + bias
    return 0


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
    flops: int


@dataclass
class ModelSummary:
    """What ``summary`` measured; ``str()`` gives the table."""

    rows: list[LayerRow] = field(default_factory=list)
    input_shape: tuple[int, ...] = ()
    total_params: int = 0
    trainable_params: int = 0

    @property
    def total_flops(self) -> int:
        return sum(row.flops for row in self.rows)

    def __str__(self) -> str:
        header = ("Layer (type)", "Output shape", "Params", "FLOPs")
        body = [(f"{row.name} ({row.kind})", str(row.output_shape), f"{row.params:,}",
                 f"{row.flops:,}") for row in self.rows]
        widths = [max(len(line[i]) for line in [header, *body]) for i in range(4)]

        def format_line(cells) -> str:
            return "  ".join([cells[0].ljust(widths[0]), cells[1].ljust(widths[1]),
                              cells[2].rjust(widths[2]), cells[3].rjust(widths[3])])

        rule = "-" * len(format_line(header))
        lines = [rule, format_line(header), rule, *map(format_line, body), rule,
                 f"Input shape: {self.input_shape}",
                 f"Total params: {self.total_params:,}",
                 f"Trainable params: {self.trainable_params:,}",
                 f"Non-trainable params: {self.total_params - self.trainable_params:,}",
                 f"Total FLOPs (forward, this input): {self.total_flops:,}",
                 FLOPS_NOTE, rule]
        return "\n".join(lines)


def summary(model: Module, input_shape, batch_size: int = 1, dtype=None,
            file=sys.stdout) -> ModelSummary:
    """Run one forward pass and tabulate each layer's output shape, parameters and FLOPs.

    The pass runs on zeros under ``no_grad`` in evaluation mode (the model's modes are
    restored afterwards) and draws nothing from the random generator. Every layer
    (a module without submodules, or one holding parameters of its own) is recorded each
    time it is called, in call order, so models that are not ``Sequential`` work too.

    Parameters
    ----------
    model : Module
    input_shape : tuple of int
        The shape of one example, without the batch axis, e.g. (1, 28, 28).
    batch_size : int
        The batch size of the pass (FLOPs are for the whole batch).
    dtype : dtype, optional
        Of the input; the default floating dtype unless given (integers for ``Embedding``).
    file : file-like or None
        Where to print the table; ``None`` prints nothing.

    Returns
    -------
    ModelSummary
        ``rows``, ``total_params``, ``trainable_params``, ``total_flops``; ``str()`` of it
        is the printed table.
    """
    if not isinstance(model, Module):
        raise TypeError(f"summary needs an nn.Module, got {type(model).__name__}")
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
            result.rows.append(LayerRow(name, type(module).__name__, y_shape, params,
                                        layer_flops(module, x_shape, y_shape)))
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
    if file is not None:
        print(result, file=file)
    return result
