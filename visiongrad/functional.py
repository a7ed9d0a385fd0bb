"""The functional API: one function per op, each a thin wrapper around ``Function.apply``.

Where ``torch.nn.functional`` has an op, the function here has the same name, argument
order and meaning; the course's own forms get their own names (``affine``,
``multiclass_hinge``). Arguments may be tensors or arrays.
"""

from __future__ import annotations

from .autograd import Tensor, concat, stack, where
from .ops import linear as _linear
from .ops import math as _math

__all__ = ["concat", "stack", "where", "matmul", "linear", "affine", "exp", "log", "sqrt",
           "abs", "clip"]

# ----- math and linear ------------------------------------------------------------------


def matmul(x, y) -> Tensor:
    """Matrix product ``x @ y`` (batched, broadcast)."""
    return _linear.MatMul.apply(x, y)


def linear(x, weight, bias=None) -> Tensor:
    """y = x W^T + b with x (..., in), weight (out, in), bias (out,), as in PyTorch."""
    return _linear.Linear.apply(x, weight) if bias is None else \
        _linear.Linear.apply(x, weight, bias)


def affine(x, w, b=None) -> Tensor:
    """The course's affine layer: x (N, d1..dk) flattened to (N, D), y = x w + b, w (D, M)."""
    return _linear.Affine.apply(x, w) if b is None else _linear.Affine.apply(x, w, b)


def exp(x) -> Tensor:
    return _math.Exp.apply(x)


def log(x) -> Tensor:
    return _math.Log.apply(x)


def sqrt(x) -> Tensor:
    return _math.Sqrt.apply(x)


def abs(x) -> Tensor:  # noqa: A001 - mirrors torch.abs
    return _math.Abs.apply(x)


def clip(x, low=None, high=None) -> Tensor:
    return _math.Clip.apply(x, low=low, high=high)


# ----- activations, normalisation, regularisation, embedding, losses ----------------------
# (section owned by ops/activation.py, norm.py, regularize.py, embedding.py, loss.py)


# ----- convolution, pooling, upsampling ----------------------------------------------------
# (section owned by ops/conv.py)
