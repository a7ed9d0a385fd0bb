"""The activations of newer networks: softplus, SiLU, GELU, CELU and SELU, hardtanh and
ReLU6, hardsigmoid, hardswish, mish, logsigmoid (the course's own ones, sigmoid to
softmax, are in ``ops/activation.py``).

Each is an elementwise ``Unary``: ``f`` gives y = f(x) and ``derivative`` gives dy/dx,
written out beside it; the output has the input's shape. Names, arguments and the
derivative at the kinks follow ``torch.nn.functional``.
"""

from __future__ import annotations

import math

from ..autograd import Tensor
from ..backend import array_module
from .activation import array_sigmoid, array_softplus
from .elementwise import Unary, array_erf


class Softplus(Unary):
    """y = log(1 + e^(beta x)) / beta, and y = x where beta x > threshold (PyTorch's
    switch to the linear function); dy/dx = sigmoid(beta x), and 1 past the threshold."""

    def f(self, x):
        xp = array_module(x)
        linear = self.beta * x > self.threshold
        return xp.where(linear, x, array_softplus(self.beta * x) / self.beta)

    def derivative(self, x, y):
        xp = array_module(x)
        return xp.where(self.beta * x > self.threshold, 1, array_sigmoid(self.beta * x))


class SiLU(Unary):
    """y = x sigmoid(x) (swish); dy/dx = s + x s (1 - s), s = sigmoid(x)."""

    def f(self, x):
        return x * array_sigmoid(x)

    def derivative(self, x, y):
        s = array_sigmoid(x)
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
        xp = array_module(x)
        if self.approximate == "tanh":
            return 0.5 * x * (1 + xp.tanh(_GELU_C * (x + 0.044715 * x**3)))
        return 0.5 * x * (1 + array_erf(x / math.sqrt(2)))

    def derivative(self, x, y):
        xp = array_module(x)
        if self.approximate == "tanh":
            t = xp.tanh(_GELU_C * (x + 0.044715 * x**3))
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _GELU_C * (1 + 3 * 0.044715 * x * x)
        phi = xp.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return 0.5 * (1 + array_erf(x / math.sqrt(2))) + x * phi


class CELU(Unary):
    """y = scale * (x for x > 0, else alpha (e^(x/inner) - 1));
    dy/dx = scale * (1 for x > 0, else alpha / inner * e^(x/inner)).

    CELU(alpha) is scale = 1, inner = alpha; SELU is its two constants with inner = 1.
    """

    def f(self, x):
        xp = array_module(x)
        negative = xp.minimum(x, 0) / self.inner  # the exponential of x > 0 is never used
        return self.scale * xp.where(x > 0, x, self.alpha * xp.expm1(negative))

    def derivative(self, x, y):
        xp = array_module(x)
        negative = xp.minimum(x, 0) / self.inner
        return self.scale * xp.where(x > 0, 1, self.alpha / self.inner * xp.exp(negative))


#: SELU's alpha and scale (Klambauer et al.): the values for which zero mean and unit
#: variance are a fixed point of a SELU layer's activations.
SELU_ALPHA = 1.6732632423543772848170429916717
#: (see ``SELU_ALPHA``)
SELU_SCALE = 1.0507009873554804934193349852946


class Hardtanh(Unary):
    """y = min(max(x, min_val), max_val); dy/dx = 1 for min_val < x < max_val, else 0
    (PyTorch's backward passes nothing at the bounds themselves)."""

    def f(self, x):
        xp = array_module(x)
        return xp.clip(x, self.min_val, self.max_val)

    def derivative(self, x, y):
        return ((x > self.min_val) & (x < self.max_val)).astype(x.dtype)


class Hardsigmoid(Unary):
    """y = relu6(x + 3) / 6; dy/dx = 1/6 for -3 < x < 3, else 0."""

    def f(self, x):
        xp = array_module(x)
        return xp.clip(x / 6 + 0.5, 0, 1)

    def derivative(self, x, y):
        return ((x > -3) & (x < 3)) / x.dtype.type(6)


class Hardswish(Unary):
    """y = x relu6(x + 3) / 6; dy/dx = 0 for x < -3, x / 3 + 1/2 for -3 <= x <= 3, 1 above
    (PyTorch's choice at the kinks)."""

    def f(self, x):
        xp = array_module(x)
        return x * xp.clip(x / 6 + 0.5, 0, 1)

    def derivative(self, x, y):
        xp = array_module(x)
        return xp.where(x < -3, 0, xp.where(x <= 3, x / 3 + 0.5, 1)).astype(x.dtype)


class Mish(Unary):
    """y = x tanh(softplus(x)); dy/dx = t + x (1 - t^2) sigmoid(x), t = tanh(softplus(x))."""

    def f(self, x):
        xp = array_module(x)
        return x * xp.tanh(array_softplus(x))

    def derivative(self, x, y):
        xp = array_module(x)
        t = xp.tanh(array_softplus(x))
        return t + x * (1 - t * t) * array_sigmoid(x)


class LogSigmoid(Unary):
    """y = log sigmoid(x) = -softplus(-x); dy/dx = 1 - sigmoid(x) = sigmoid(-x)."""

    def f(self, x):
        return -array_softplus(-x)

    def derivative(self, x, y):
        return array_sigmoid(-x)


# ----- functional forms (PyTorch's names) -----------------------------------------------


def softplus(x, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta elementwise, and x itself where beta x > ``threshold``.

    A smooth ReLU; its derivative is sigmoid(beta x). Any shape.

    Examples
    --------
    >>> F.softplus(vg.tensor([-1.0, 0.0, 30.0]))
    Tensor([ 0.3133  0.6931 30.    ])
    """
    return Softplus.apply(x, beta=beta, threshold=threshold)


def silu(x) -> Tensor:
    """x sigmoid(x) elementwise (SiLU, also called swish); any shape.

    Examples
    --------
    >>> F.silu(vg.tensor([-1.0, 0.0, 1.0]))
    Tensor([-0.2689  0.      0.7311])
    """
    return SiLU.apply(x)


def gelu(x, approximate: str = "none") -> Tensor:
    """x Phi(x) elementwise, Phi the standard normal CDF (GELU); any shape.

    Parameters
    ----------
    approximate : {"none", "tanh"}
        ``"none"`` computes Phi with erf; ``"tanh"`` uses
        (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2, as BERT and GPT-2 did.

    Examples
    --------
    >>> F.gelu(vg.tensor([-1.0, 0.0, 1.0]))
    Tensor([-0.1587  0.      0.8413])
    >>> F.gelu(vg.tensor([1.0]), approximate="tanh")
    Tensor([0.8412])
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(x, approximate=approximate)


def selu(x) -> Tensor:
    """``SELU_SCALE`` * (x if x > 0 else ``SELU_ALPHA`` (e^x - 1)) elementwise; any shape.

    The two constants make a deep stack of SELU layers keep zero mean and unit variance
    (Klambauer et al., "Self-normalizing neural networks").

    Examples
    --------
    >>> F.selu(vg.tensor([-1.0, 0.0, 1.0]))
    Tensor([-1.1113  0.      1.0507])
    """
    return CELU.apply(x, alpha=SELU_ALPHA, scale=SELU_SCALE, inner=1.0)


def celu(x, alpha: float = 1.0) -> Tensor:
    """x if x > 0 else alpha (e^(x / alpha) - 1) elementwise; any shape; ``alpha`` != 0.

    Examples
    --------
    >>> F.celu(vg.tensor([-1.0, 0.0, 1.0]), alpha=2.0)
    Tensor([-0.7869  0.      1.    ])
    """
    if alpha == 0:
        raise ValueError("celu: alpha must be non-zero")
    return CELU.apply(x, alpha=alpha, scale=1.0, inner=alpha)


def hardtanh(x, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """x clipped to [``min_val``, ``max_val``] elementwise; any shape.

    Examples
    --------
    >>> F.hardtanh(vg.tensor([-2.0, 0.5, 3.0]))
    Tensor([-1.   0.5  1. ])
    """
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val {min_val} exceeds max_val {max_val}")
    return Hardtanh.apply(x, min_val=min_val, max_val=max_val)


def relu6(x) -> Tensor:
    """min(max(x, 0), 6) elementwise (MobileNet's ReLU); any shape.

    Examples
    --------
    >>> F.relu6(vg.tensor([-1.0, 3.0, 8.0]))
    Tensor([0. 3. 6.])
    """
    return Hardtanh.apply(x, min_val=0.0, max_val=6.0)


def hardsigmoid(x) -> Tensor:
    """relu6(x + 3) / 6 elementwise: a piecewise-linear sigmoid; any shape.

    Examples
    --------
    >>> F.hardsigmoid(vg.tensor([-4.0, 0.0, 1.5, 4.0]))
    Tensor([0.   0.5  0.75 1.  ])
    """
    return Hardsigmoid.apply(x)


def hardswish(x) -> Tensor:
    """x relu6(x + 3) / 6 elementwise (MobileNetV3's swish); any shape.

    Examples
    --------
    >>> F.hardswish(vg.tensor([-1.5, 0.0, 1.5, 4.0]))
    Tensor([-0.375  0.     1.125  4.   ])
    """
    return Hardswish.apply(x)


def mish(x) -> Tensor:
    """x tanh(softplus(x)) elementwise (Misra's mish); any shape.

    Examples
    --------
    >>> F.mish(vg.tensor([-1.0, 0.0, 1.0]))
    Tensor([-0.3034  0.      0.8651])
    """
    return Mish.apply(x)


def logsigmoid(x) -> Tensor:
    """log sigmoid(x) = -softplus(-x) elementwise, exact for large |x|; any shape.

    Examples
    --------
    >>> F.logsigmoid(vg.tensor([-100.0, 0.0, 2.0]))
    Tensor([-100.       -0.6931   -0.1269])
    """
    return LogSigmoid.apply(x)
