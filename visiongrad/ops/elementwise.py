"""Elementwise functions beyond arithmetic: extrema of two tensors, rounding, tests for
NaN/inf, rsqrt, logs in base 2 and 10, sin/cos, erf, and the smooth and piecewise-linear
activations of PyTorch (softplus, silu, gelu, selu, celu, hardtanh, relu6, hardsigmoid,
hardswish, mish, logsigmoid).

Each class is one node: forward on arrays, backward with the local derivative written out
(dx = dy * f'(x)). The lower-case functions at the end are the public API, with PyTorch's
names and arguments; ``functional`` and the Tensor methods re-export them.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Function, Tensor, as_tensor, unbroadcast
from ..backend import array_module, to_numpy
from .indexing import where
from .math import Clip, promote


class Maximum(Function):
    """Forward: z = max(x, y) elementwise (broadcast).

    Backward: dx = dz * ([x > y] + [x == y] / 2), dy = dz * ([y > x] + [x == y] / 2): a tie
    shares the gradient equally, as in PyTorch.
    """

    pick = "maximum"  # the namespace's function that picks between x and y

    def forward(self, x, y):
        self.x, self.y = x, y
        self.z = getattr(array_module(x, y), self.pick)(x, y)
        return self.z

    def backward(self, grad_out):
        xp = array_module(grad_out)
        share = xp.where(self.x == self.y, 0.5, 1.0).astype(grad_out.dtype)
        return (unbroadcast(grad_out * (self.z == self.x) * share, self.x.shape),
                unbroadcast(grad_out * (self.z == self.y) * share, self.y.shape))


class Minimum(Maximum):
    """Forward: z = min(x, y). Backward: as Maximum, to the smaller input."""

    pick = "minimum"


class PiecewiseConstant(Function):
    """Forward: y = f(x) for a step function f (sign, floor, ceil, round, trunc).

    Backward: dx = 0 (f is flat wherever it is differentiable), as in PyTorch.
    """

    def forward(self, x, fn):
        return fn(x)

    def backward(self, grad_out):
        xp = array_module(grad_out)
        return xp.zeros_like(grad_out)


class Unary(Function):
    """An elementwise y = f(x) whose backward is dx = dy * f'(x) with f' from x and y.

    Subclasses define ``f(x)`` and ``derivative(x, y)``; ``options`` (beta, alpha, ...) are
    stored as attributes before ``f`` runs.
    """

    def forward(self, x, **options):
        self.__dict__.update(options)
        self.x = x
        self.y = self.f(x)
        return self.y

    def backward(self, grad_out):
        return grad_out * self.derivative(self.x, self.y)


class Rsqrt(Unary):
    """y = 1 / sqrt(x); dy/dx = -y^3 / 2."""

    def f(self, x):
        xp = array_module(x)
        return 1 / xp.sqrt(x)

    def derivative(self, x, y):
        return -0.5 * y**3


class LogBase(Unary):
    """y = log_b(x) = ln x / ln b; dy/dx = 1 / (x ln b)."""

    def f(self, x):
        xp = array_module(x)
        return xp.log(x) / math.log(self.base)

    def derivative(self, x, y):
        return 1 / (x * math.log(self.base))


class Sin(Unary):
    """y = sin x; dy/dx = cos x."""

    def f(self, x):
        xp = array_module(x)
        return xp.sin(x)

    def derivative(self, x, y):
        xp = array_module(x)
        return xp.cos(x)


class Cos(Unary):
    """y = cos x; dy/dx = -sin x."""

    def f(self, x):
        xp = array_module(x)
        return xp.cos(x)

    def derivative(self, x, y):
        xp = array_module(x)
        return -xp.sin(x)


_math_erf = np.vectorize(math.erf, otypes=[float])


def array_erf(x):
    """erf of an array via the C library's erf (NumPy has none), on the host.

    NOTE: one Python call per element: exact to libm precision, slower than PyTorch's."""
    values = _math_erf(to_numpy(x)).astype(x.dtype, copy=False)
    return array_module(x).asarray(values)


class Erf(Unary):
    """y = erf(x) = 2/sqrt(pi) int_0^x e^(-t^2) dt; dy/dx = 2/sqrt(pi) e^(-x^2)."""

    def f(self, x):
        return array_erf(x)

    def derivative(self, x, y):
        xp = array_module(x)
        return 2 / math.sqrt(math.pi) * xp.exp(-x * x)


# ----- public API (functional names; Tensor methods where PyTorch has them) --------------


def maximum(x, y) -> Tensor:
    """Elementwise max(x, y) in PyTorch's result dtype (a Python number does not promote).

    Examples
    --------
    >>> F.maximum(vg.tensor([1.0, 5.0]), vg.tensor([3.0, 2.0]))
    Tensor([3. 5.])
    """
    return Maximum.apply(*promote(x, y))


def minimum(x, y) -> Tensor:
    """Elementwise min(x, y), broadcast, in PyTorch's result dtype.

    Examples
    --------
    >>> F.minimum(vg.tensor([1.0, 5.0]), vg.tensor([3.0, 2.0]))
    Tensor([1. 2.])
    """
    return Minimum.apply(*promote(x, y))


def clamp(x, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's argument names
    """min(max(x, min), max); bounds are numbers or tensors. The gradient flows to x inside
    [min, max] and to a tensor bound where it is the one taken, as in PyTorch.

    Examples
    --------
    >>> F.clamp(vg.tensor([-1.5, 0.5, 2.0]), min=0.0, max=1.0)
    Tensor([0.  0.5 1. ])
    """
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if not isinstance(min, Tensor) and not isinstance(max, Tensor):
        return Clip.apply(x, low=min, high=max)
    x = as_tensor(x)
    if min is not None:
        x = where(x.data < _data(min), min, x)
    if max is not None:
        x = where(x.data > _data(max), max, x)
    return x


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def sign(x) -> Tensor:
    """-1, 0 or 1 by the sign of x, elementwise (zero gradient).

    Examples
    --------
    >>> F.sign(vg.tensor([-1.5, 0.5, 2.0]))
    Tensor([-1.  1.  1.])
    """
    xp = array_module(x)
    return PiecewiseConstant.apply(x, fn=xp.sign)


def floor(x) -> Tensor:
    """Largest integer <= x, elementwise (zero gradient).

    Examples
    --------
    >>> F.floor(vg.tensor([-1.5, 0.5, 2.0]))
    Tensor([-2.  0.  2.])
    """
    xp = array_module(x)
    return PiecewiseConstant.apply(x, fn=xp.floor)


def ceil(x) -> Tensor:
    """Smallest integer >= x, elementwise (zero gradient).

    Examples
    --------
    >>> F.ceil(vg.tensor([-1.5, 0.5, 2.0]))
    Tensor([-1.  1.  2.])
    """
    xp = array_module(x)
    return PiecewiseConstant.apply(x, fn=xp.ceil)


def round(x) -> Tensor:  # noqa: A001 - torch.round; halves go to even, as in PyTorch
    """Round half to even elementwise, as PyTorch (zero gradient).

    Examples
    --------
    >>> F.round(vg.tensor([0.5, 1.5, 2.7]))
    Tensor([0. 2. 3.])
    """
    xp = array_module(x)
    return PiecewiseConstant.apply(x, fn=xp.round)


def trunc(x) -> Tensor:
    """x rounded toward zero, elementwise (zero gradient).

    Examples
    --------
    >>> F.trunc(vg.tensor([-1.5, 0.5, 2.0]))
    Tensor([-1.  0.  2.])
    """
    xp = array_module(x)
    return PiecewiseConstant.apply(x, fn=xp.trunc)


def isnan(x) -> Tensor:
    """Boolean tensor, no gradient.

    Examples
    --------
    >>> F.isnan(vg.tensor([1.0, np.inf, np.nan]))
    Tensor([False False  True])
    """
    xp = array_module(x)
    return Tensor._wrap(xp.isnan(_data(x)))


def isinf(x) -> Tensor:
    """Boolean tensor: True where x is +inf or -inf; no gradient.

    Examples
    --------
    >>> F.isinf(vg.tensor([1.0, -np.inf, np.nan]))
    Tensor([False  True False])
    """
    xp = array_module(x)
    return Tensor._wrap(xp.isinf(_data(x)))


def isfinite(x) -> Tensor:
    """Boolean tensor: True where x is neither inf nor nan; no gradient.

    Examples
    --------
    >>> F.isfinite(vg.tensor([1.0, np.inf, np.nan]))
    Tensor([ True False False])
    """
    xp = array_module(x)
    return Tensor._wrap(xp.isfinite(_data(x)))


def rsqrt(x) -> Tensor:
    """1 / sqrt(x) elementwise; any shape.

    Examples
    --------
    >>> F.rsqrt(vg.tensor([4.0, 0.25]))
    Tensor([0.5 2. ])
    """
    return Rsqrt.apply(x)


def log2(x) -> Tensor:
    """Base-2 logarithm elementwise; any shape.

    Examples
    --------
    >>> F.log2(vg.tensor([1.0, 8.0]))
    Tensor([0. 3.])
    """
    return LogBase.apply(x, base=2)


def log10(x) -> Tensor:
    """Base-10 logarithm elementwise; any shape.

    Examples
    --------
    >>> F.log10(vg.tensor([1.0, 100.0]))
    Tensor([0. 2.])
    """
    return LogBase.apply(x, base=10)


def sin(x) -> Tensor:
    """sin(x) elementwise; any shape.

    Examples
    --------
    >>> F.sin(vg.tensor([0.0, np.pi / 2]))
    Tensor([0. 1.])
    """
    return Sin.apply(x)


def cos(x) -> Tensor:
    """cos(x) elementwise; any shape.

    Examples
    --------
    >>> F.cos(vg.tensor([0.0, np.pi]))
    Tensor([ 1. -1.])
    """
    return Cos.apply(x)


def erf(x) -> Tensor:
    """The Gauss error function elementwise; any shape.

    Examples
    --------
    >>> F.erf(vg.tensor([0.0, 1.0]))
    Tensor([0.     0.8427])
    """
    return Erf.apply(x)
