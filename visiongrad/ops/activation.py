"""Activation functions: sigmoid, tanh, relu, leaky_relu, prelu, elu, maxout, softmax
(the course's; softplus, GELU, SiLU and the other newer ones are in
``ops/activation_modern.py``).

Each class is one graph node: forward on arrays, backward with the local derivative
written out. Elementwise activations keep their input's shape; softmax and log_softmax
normalise along ``dim``; maxout shrinks axis 1 by its number of pieces.
"""

from __future__ import annotations

from .. import accel
from ..autograd import Function, Tensor, array_of
from ..backend import array_module
from .dims import normalize_dim


def array_sigmoid(x):
    """1 / (1 + e^-x) without overflow: e^-|x| never exceeds 1."""
    xp = array_module(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def array_softplus(x):
    """log(1 + e^x) = max(x, 0) + log(1 + e^-|x|), exact and without overflow."""
    xp = array_module(x)
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


class Sigmoid(Function):
    """Logistic sigmoid.

    Forward:  y = 1 / (1 + e^-x), computed as e^x / (1 + e^x) for x < 0 so that no
              exponential overflows
    Backward: dx = dy * y * (1 - y)
    Shapes:   any; y has x's shape
    """

    def forward(self, x):
        self.y = array_sigmoid(x)
        return self.y

    def backward(self, grad_out):
        return grad_out * self.y * (1 - self.y)


class Tanh(Function):
    """Hyperbolic tangent. Forward: y = tanh(x). Backward: dx = dy * (1 - y^2)."""

    def forward(self, x):
        xp = array_module(x)
        self.y = xp.tanh(x)
        return self.y

    def backward(self, grad_out):
        return grad_out * (1 - self.y * self.y)


class ReLU(Function):
    """Rectified linear unit.

    Forward:  y = max(x, 0)
    Backward: dx = dy * [y > 0]   (0 at the kink x = 0, as in PyTorch; [x > 0] = [y > 0])
    (``accel.relu``, ``accel.relu_backward``: one pass on every core, the backward compiled)
    """

    def forward(self, x):
        xp = array_module(x)
        self.y = accel.relu(x)
        if self.y is None:
            self.y = xp.maximum(x, 0)
        return self.y

    def backward(self, grad_out):
        dx = accel.relu_backward(grad_out, self.y)
        return grad_out * (self.y > 0) if dx is None else dx


class LeakyReLU(Function):
    """Leaky ReLU with a fixed slope a for negative inputs.

    Forward:  y = x if x > 0 else a x
    Backward: dx = dy if x > 0 else a dy
    """

    def forward(self, x, negative_slope=0.01):
        self.x, self.a = x, negative_slope  # accel.leaky_relu: one compiled pass, every core
        y = accel.leaky_relu(x, negative_slope)
        return x * self.slopes() if y is None else y

    def backward(self, grad_out):
        dx = accel.leaky_relu_backward(grad_out, self.x, self.a)
        return grad_out * self.slopes() if dx is None else dx

    def slopes(self):  # 1 where x > 0, else a
        return array_module(self.x).where(self.x > 0, 1, self.a).astype(self.x.dtype)


class PReLU(Function):
    """Parametric ReLU: a leaky ReLU whose negative slope a is learned (as in PyTorch).

    Forward:  y = x if x > 0 else a_c x, with one slope per channel c (axis 1) or one
              slope shared by every element
    Backward: dx = dy if x > 0 else a_c dy;
              da_c = sum of dy * x over the elements of channel c where x <= 0
    Shapes:   x (N, C, ...) ; a (C,) or (1,)
    """

    def forward(self, x, weight):
        xp = array_module(x)
        channels = x.shape[1] if x.ndim >= 2 else 1
        if weight.ndim != 1 or weight.size not in (1, channels):
            raise ValueError(
                f"prelu: weight of shape {weight.shape} must have 1 or {channels} elements "
                f"(one per channel on axis 1 of the input of shape {x.shape})"
            )
        # the slope broadcast against x: channel axis 1, singleton elsewhere
        slope = weight.reshape((1, -1) + (1,) * (x.ndim - 2)) if weight.size > 1 else weight
        self.x, self.weight_shape = x, weight.shape
        self.positive = x > 0
        self.slope = xp.where(self.positive, x.dtype.type(1), slope)
        return x * self.slope

    def backward(self, grad_out):
        xp = array_module(grad_out)
        dx = grad_out * self.slope if self.needs_input_grad[0] else None
        dweight = None
        if self.needs_input_grad[1]:
            negative_part = xp.where(self.positive, 0, grad_out * self.x)
            if self.weight_shape[0] == 1:
                dweight = negative_part.sum().reshape(self.weight_shape)
            else:
                dweight = negative_part.sum(axis=(0,) + tuple(range(2, self.x.ndim)))
        return dx, dweight


class ELU(Function):
    """Exponential linear unit.

    Forward:  y = x if x > 0 else alpha (e^x - 1)
    Backward: dx = dy if x > 0 else dy * alpha e^x
    """

    def forward(self, x, alpha=1.0):
        xp = array_module(x)
        self.positive = x > 0
        self.negative_slope = alpha * xp.exp(xp.minimum(x, 0))  # alpha e^x where x <= 0
        return xp.where(self.positive, x, alpha * xp.expm1(xp.minimum(x, 0)))

    def backward(self, grad_out):
        xp = array_module(grad_out)
        return xp.where(self.positive, grad_out, grad_out * self.negative_slope)


class Maxout(Function):
    """Maxout (Goodfellow et al., in the course): the max over k linear pieces.

    Axis 1 holds C * k features (or channels); each run of k consecutive ones is one
    unit's pieces, and the unit outputs their maximum. The pieces themselves come from
    the layer before (e.g. a linear layer with C * k outputs).

    Forward:  y[n, c, ...] = max_{j < k} x[n, c k + j, ...]
    Backward: dx[n, c k + j, ...] = dy[n, c, ...] if j is the (first) argmax, else 0
    Shapes:   x (N, C k, ...) -> y (N, C, ...)

    NOTE: PyTorch has no maxout op.
    """

    def forward(self, x, pieces):
        xp = array_module(x)
        if x.ndim < 2 or pieces < 1 or x.shape[1] % pieces:
            raise ValueError(
                f"maxout: axis 1 of the input of shape {x.shape} must split into groups of "
                f"{pieces} pieces"
            )
        self.x_shape = x.shape
        grouped = x.reshape(x.shape[0], x.shape[1] // pieces, pieces, *x.shape[2:])
        self.winner = xp.expand_dims(grouped.argmax(axis=2), 2)
        return xp.take_along_axis(grouped, self.winner, axis=2).squeeze(2)

    def backward(self, grad_out):
        xp = array_module(grad_out)
        n, c = grad_out.shape[:2]
        pieces = self.x_shape[1] // c
        grad = xp.zeros((n, c, pieces) + grad_out.shape[2:], dtype=grad_out.dtype)
        xp.put_along_axis(grad, self.winner, xp.expand_dims(grad_out, 2), axis=2)
        return grad.reshape(self.x_shape)


class Softmax(Function):
    """Softmax along ``dim``.

    Forward:  y_i = e^(x_i - m) / sum_j e^(x_j - m), m = max_j x_j (the shift changes
              nothing mathematically and keeps every exponent <= 0)
    Backward: dx_i = y_i (dy_i - sum_j dy_j y_j)
    """

    def forward(self, x, dim):
        xp = array_module(x)
        self.dim = dim
        e = xp.exp(x - x.max(axis=dim, keepdims=True))
        self.y = e / e.sum(axis=dim, keepdims=True)
        return self.y

    def backward(self, grad_out):
        return self.y * (grad_out - (grad_out * self.y).sum(axis=self.dim, keepdims=True))


def array_log_softmax(x, dim):
    """log softmax of array ``x`` along ``dim``: x - m - log sum_j e^(x_j - m), m = max x."""
    xp = array_module(x)
    shifted = x - x.max(axis=dim, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))


class LogSoftmax(Function):
    """Logarithm of the softmax along ``dim``, without forming the softmax first.

    Forward:  y_i = x_i - m - log sum_j e^(x_j - m), m = max_j x_j
    Backward: dx_i = dy_i - softmax(x)_i sum_j dy_j, softmax(x) = e^y
    """

    def forward(self, x, dim):
        self.dim = dim
        self.y = array_log_softmax(x, dim)
        return self.y

    def backward(self, grad_out):
        xp = array_module(grad_out)
        return grad_out - xp.exp(self.y) * grad_out.sum(axis=self.dim, keepdims=True)


# ----- functional forms (PyTorch's names; the Tensor's methods where it has them) -------


def sigmoid(x) -> Tensor:
    """1 / (1 + exp(-x)) elementwise; any shape.

    Examples
    --------
    >>> F.sigmoid(vg.tensor([0.0, 2.0]))
    Tensor([0.5    0.8808])
    """
    return Sigmoid.apply(x)


def tanh(x) -> Tensor:
    """Hyperbolic tangent elementwise; any shape.

    Examples
    --------
    >>> F.tanh(vg.tensor([0.0, 1.0]))
    Tensor([0.     0.7616])
    """
    return Tanh.apply(x)


def relu(x) -> Tensor:
    """max(0, x) elementwise; any shape.

    Examples
    --------
    >>> F.relu(vg.tensor([-1.0, 2.0]))
    Tensor([0. 2.])
    """
    return ReLU.apply(x)


def leaky_relu(x, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, else ``negative_slope`` x (default 0.01), elementwise.

    Examples
    --------
    >>> F.leaky_relu(vg.tensor([-1.0, 2.0]), 0.1)
    Tensor([-0.1  2. ])
    """
    return LeakyReLU.apply(x, negative_slope=negative_slope)


def prelu(x, weight) -> Tensor:
    """Leaky ReLU with a learned slope ``weight``: (C,) per channel on axis 1, or (1,).

    Examples
    --------
    >>> F.prelu(vg.tensor([[-1.0, 2.0], [-4.0, -3.0]]), vg.tensor([0.1, 0.5]))
    Tensor([[-0.1  2. ]
     [-0.4 -1.5]])
    """
    return PReLU.apply(x, weight)


def elu(x, alpha: float = 1.0) -> Tensor:
    """x if x > 0 else alpha (e^x - 1) elementwise (default alpha 1); any shape.

    Examples
    --------
    >>> F.elu(vg.tensor([-1.0, 0.0, 2.0]))
    Tensor([-0.6321  0.      2.    ])
    """
    return ELU.apply(x, alpha=alpha)


def maxout(x, pieces: int) -> Tensor:
    """The course's maxout: max over each run of ``pieces`` consecutive entries of axis 1.

    Shapes: x (N, C * pieces, ...) -> (N, C, ...).

    Examples
    --------
    >>> F.maxout(vg.tensor([[1.0, 5.0, -2.0, -3.0]]), pieces=2)
    Tensor([[ 5. -2.]])
    """
    return Maxout.apply(x, pieces=pieces)


def softmax(x, dim: int) -> Tensor:
    """exp(x) / sum of exp(x) along ``dim`` (the maximum shifted out); same shape as x.

    Examples
    --------
    >>> F.softmax(vg.tensor([[0.0, 0.0], [0.0, np.log(3.0)]]), dim=1)
    Tensor([[0.5  0.5 ]
     [0.25 0.75]])
    """
    return Softmax.apply(x, dim=normalize_dim(dim, array_of(x).ndim))


def log_softmax(x, dim: int) -> Tensor:
    """x - logsumexp(x) along ``dim``, computed stably; same shape as x.

    Examples
    --------
    >>> F.log_softmax(vg.tensor([[0.0, 0.0]]), dim=1)
    Tensor([[-0.6931 -0.6931]])
    """
    return LogSoftmax.apply(x, dim=normalize_dim(dim, array_of(x).ndim))
