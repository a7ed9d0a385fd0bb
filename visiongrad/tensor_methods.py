"""Tensor methods for the tensor API, as in PyTorch (``x.squeeze(0)``, ``x.topk(3)``).

Each method is the functional form with the tensor as its first argument; they are
attached here rather than written out in ``autograd.Tensor`` to keep the engine small.

Examples
--------
>>> import visiongrad as vg
>>> x = vg.tensor([[3.0, 1.0, 2.0]])
>>> x.squeeze(0).shape, x.topk(2)[0].data
((3,), array([[3., 2.]], dtype=float32))
"""

from __future__ import annotations

from . import functional
from .autograd import Tensor
from .ops import elementwise, indexing, reduce, shape
from .ops.math import Transpose

_METHODS = {
    shape: ["squeeze", "unsqueeze", "flatten", "expand", "flip", "roll", "repeat", "split",
            "chunk", "tril", "triu"],
    elementwise: ["maximum", "minimum", "clamp", "sign", "floor", "ceil", "round", "trunc",
                  "isnan", "isinf", "isfinite", "rsqrt", "log2", "log10", "sin", "cos",
                  "erf"],
    reduce: ["prod", "var", "std", "logsumexp", "cumsum", "any", "all", "argmax", "argmin",
             "topk", "sort", "argsort"],
    indexing: ["gather", "scatter", "scatter_add", "index_select", "masked_fill", "nonzero"],
    functional: ["sigmoid", "tanh", "relu", "softmax", "log_softmax"],
}

for _module, _names in _METHODS.items():
    for _name in _names:
        setattr(Tensor, _name, getattr(_module, _name))


def _permute(self, *dims) -> Tensor:
    """PyTorch's name for a transpose by a full permutation of the axes."""
    dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
    if sorted(d % max(self.ndim, 1) for d in dims) != list(range(self.ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of {self.ndim} dims")
    return Transpose.apply(self, axes=dims)


Tensor.permute = _permute
