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

from ..autograd import Function, Tensor, as_tensor, unbroadcast, where
from ..backend import xp
from .math import Clip, promote


class Maximum(Function):
    """Forward: z = max(x, y) elementwise (broadcast).

    Backward: dx = dz * ([x > y] + [x == y] / 2), dy = dz * ([y > x] + [x == y] / 2): a tie
    shares the gradient equally, as in PyTorch.
    """

    pick = staticmethod(xp.maximum)

    def forward(self, x, y):
        self.x, self.y = x, y
        self.z = self.pick(x, y)
        return self.z

    def backward(self, grad_out):
        share = xp.where(self.x == self.y, 0.5, 1.0).astype(grad_out.dtype)
        return (unbroadcast(grad_out * (self.z == self.x) * share, self.x.shape),
                unbroadcast(grad_out * (self.z == self.y) * share, self.y.shape))


class Minimum(Maximum):
    """Forward: z = min(x, y). Backward: as Maximum, to the smaller input."""

    pick = staticmethod(xp.minimum)


class PiecewiseConstant(Function):
    """Forward: y = f(x) for a step function f (sign, floor, ceil, round, trunc).

    Backward: dx = 0 (f is flat wherever it is differentiable), as in PyTorch.
    """

    def forward(self, x, fn):
        return fn(x)

    def backward(self, grad_out):
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
        return 1 / xp.sqrt(x)

    def derivative(self, x, y):
        return -0.5 * y**3


class LogBase(Unary):
    """y = log_b(x) = ln x / ln b; dy/dx = 1 / (x ln b)."""

    def f(self, x):
        return xp.log(x) / math.log(self.base)

    def derivative(self, x, y):
        return 1 / (x * math.log(self.base))


class Sin(Unary):
    """y = sin x; dy/dx = cos x."""

    def f(self, x):
        return xp.sin(x)

    def derivative(self, x, y):
        return xp.cos(x)


class Cos(Unary):
    """y = cos x; dy/dx = -sin x."""

    def f(self, x):
        return xp.cos(x)

    def derivative(self, x, y):
        return -xp.sin(x)


_math_erf = xp.vectorize(math.erf, otypes=[float])


def _erf(x):
    """erf of an array via the C library's erf (NumPy has none).

    NOTE: one Python call per element: exact to libm precision, slower than PyTorch's."""
    return _math_erf(x).astype(x.dtype, copy=False)


class Erf(Unary):
    """y = erf(x) = 2/sqrt(pi) int_0^x e^(-t^2) dt; dy/dx = 2/sqrt(pi) e^(-x^2)."""

    def f(self, x):
        return _erf(x)

    def derivative(self, x, y):
        return 2 / math.sqrt(math.pi) * xp.exp(-x * x)


def _sigmoid(x):
    """1 / (1 + e^-x) without overflow: e^-|x| never exceeds 1."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _softplus(x):
    """log(1 + e^x) = max(x, 0) + log(1 + e^-|x|), exact and without overflow."""
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


class Softplus(Unary):
    """y = log(1 + e^(beta x)) / beta, and y = x where beta x > threshold (PyTorch's
    switch to the linear function); dy/dx = sigmoid(beta x), and 1 past the threshold."""

    def f(self, x):
        return xp.where(self.beta * x > self.threshold, x, _softplus(self.beta * x) / self.beta)

    def derivative(self, x, y):
        return xp.where(self.beta * x > self.threshold, 1, _sigmoid(self.beta * x))


class SiLU(Unary):
    """y = x sigmoid(x) (swish); dy/dx = s + x s (1 - s), s = sigmoid(x)."""

    def f(self, x):
        return x * _sigmoid(x)

    def derivative(self, x, y):
        s = _sigmoid(x)
        return s + x * s * (1 - s)


_GELU_C = math.sqrt(2 / math.pi)


class GELU(Unary):
    """Gaussian error linear unit, y = x Phi(x).

    exact ("none"): Phi(x) = (1 + erf(x / sqrt 2)) / 2; dy/dx = Phi(x) + x phi(x), with
                    phi(x) = e^(-x^2/2) / sqrt(2 pi)
    "tanh":         y = x (1 + t) / 2, t = tanh(u), u = sqrt(2/pi) (x + 0.044715 x^3);
                    dy/dx = (1 + t) / 2 + x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2) / 2
    """

    def f(self, x):
        if self.approximate == "tanh":
            return 0.5 * x * (1 + xp.tanh(_GELU_C * (x + 0.044715 * x**3)))
        return 0.5 * x * (1 + _erf(x / math.sqrt(2)))

    def derivative(self, x, y):
        if self.approximate == "tanh":
            t = xp.tanh(_GELU_C * (x + 0.044715 * x**3))
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _GELU_C * (1 + 3 * 0.044715 * x * x)
        phi = xp.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return 0.5 * (1 + _erf(x / math.sqrt(2))) + x * phi


class CELU(Unary):
    """y = scale * (x for x > 0, else alpha (e^(x/inner) - 1));
    dy/dx = scale * (1 for x > 0, else alpha / inner * e^(x/inner)).

    CELU(alpha) is scale = 1, inner = alpha; SELU is its two constants with inner = 1.
    """

    def f(self, x):
        negative = xp.minimum(x, 0) / self.inner  # the exponential of x > 0 is never used
        return self.scale * xp.where(x > 0, x, self.alpha * xp.expm1(negative))

    def derivative(self, x, y):
        negative = xp.minimum(x, 0) / self.inner
        return self.scale * xp.where(x > 0, 1, self.alpha / self.inner * xp.exp(negative))


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


class Hardtanh(Unary):
    """y = min(max(x, min_val), max_val); dy/dx = 1 for min_val < x < max_val, else 0
    (PyTorch's backward passes nothing at the bounds themselves)."""

    def f(self, x):
        return xp.clip(x, self.min_val, self.max_val)

    def derivative(self, x, y):
        return ((x > self.min_val) & (x < self.max_val)).astype(x.dtype)


class Hardsigmoid(Unary):
    """y = relu6(x + 3) / 6; dy/dx = 1/6 for -3 < x < 3, else 0."""

    def f(self, x):
        return xp.clip(x / 6 + 0.5, 0, 1)

    def derivative(self, x, y):
        return ((x > -3) & (x < 3)) / x.dtype.type(6)


class Hardswish(Unary):
    """y = x relu6(x + 3) / 6; dy/dx = 0 for x < -3, x / 3 + 1/2 for -3 <= x <= 3, 1 above
    (PyTorch's choice at the kinks)."""

    def f(self, x):
        return x * xp.clip(x / 6 + 0.5, 0, 1)

    def derivative(self, x, y):
        return xp.where(x < -3, 0, xp.where(x <= 3, x / 3 + 0.5, 1)).astype(x.dtype)


class Mish(Unary):
    """y = x tanh(softplus(x)); dy/dx = t + x (1 - t^2) sigmoid(x), t = tanh(softplus(x))."""

    def f(self, x):
        return x * xp.tanh(_softplus(x))

    def derivative(self, x, y):
        t = xp.tanh(_softplus(x))
        return t + x * (1 - t * t) * _sigmoid(x)


class LogSigmoid(Unary):
    """y = log sigmoid(x) = -softplus(-x); dy/dx = 1 - sigmoid(x) = sigmoid(-x)."""

    def f(self, x):
        return -_softplus(-x)

    def derivative(self, x, y):
        return _sigmoid(-x)


# ----- public API (functional names; Tensor methods where PyTorch has them) --------------


def maximum(x, y) -> Tensor:
    """Elementwise max(x, y) in PyTorch's result dtype (a Python number does not promote)."""
    return Maximum.apply(*promote(x, y))


def minimum(x, y) -> Tensor:
    return Minimum.apply(*promote(x, y))


def clamp(x, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's argument names
    """min(max(x, min), max); bounds are numbers or tensors. The gradient flows to x inside
    [min, max] and to a tensor bound where it is the one taken, as in PyTorch."""
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
    return PiecewiseConstant.apply(x, fn=xp.sign)


def floor(x) -> Tensor:
    return PiecewiseConstant.apply(x, fn=xp.floor)


def ceil(x) -> Tensor:
    return PiecewiseConstant.apply(x, fn=xp.ceil)


def round(x) -> Tensor:  # noqa: A001 - torch.round; halves go to even, as in PyTorch
    return PiecewiseConstant.apply(x, fn=xp.round)


def trunc(x) -> Tensor:
    return PiecewiseConstant.apply(x, fn=xp.trunc)


def isnan(x) -> Tensor:
    """Boolean tensor, no gradient."""
    return Tensor._wrap(xp.isnan(_data(x)))


def isinf(x) -> Tensor:
    return Tensor._wrap(xp.isinf(_data(x)))


def isfinite(x) -> Tensor:
    return Tensor._wrap(xp.isfinite(_data(x)))


def rsqrt(x) -> Tensor:
    return Rsqrt.apply(x)


def log2(x) -> Tensor:
    return LogBase.apply(x, base=2)


def log10(x) -> Tensor:
    return LogBase.apply(x, base=10)


def sin(x) -> Tensor:
    return Sin.apply(x)


def cos(x) -> Tensor:
    return Cos.apply(x)


def erf(x) -> Tensor:
    return Erf.apply(x)


def softplus(x, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return Softplus.apply(x, beta=beta, threshold=threshold)


def silu(x) -> Tensor:
    return SiLU.apply(x)


def gelu(x, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(x, approximate=approximate)


def selu(x) -> Tensor:
    return CELU.apply(x, alpha=SELU_ALPHA, scale=SELU_SCALE, inner=1.0)


def celu(x, alpha: float = 1.0) -> Tensor:
    if alpha == 0:
        raise ValueError("celu: alpha must be non-zero")
    return CELU.apply(x, alpha=alpha, scale=1.0, inner=alpha)


def hardtanh(x, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val {min_val} exceeds max_val {max_val}")
    return Hardtanh.apply(x, min_val=min_val, max_val=max_val)


def relu6(x) -> Tensor:
    return Hardtanh.apply(x, min_val=0.0, max_val=6.0)


def hardsigmoid(x) -> Tensor:
    return Hardsigmoid.apply(x)


def hardswish(x) -> Tensor:
    return Hardswish.apply(x)


def mish(x) -> Tensor:
    return Mish.apply(x)


def logsigmoid(x) -> Tensor:
    return LogSigmoid.apply(x)
