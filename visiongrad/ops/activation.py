"""Activation functions: sigmoid, tanh, relu, leaky_relu, prelu, elu, maxout, softmax.

Each class is one graph node: forward on arrays, backward with the local derivative
written out. Elementwise activations keep their input's shape; softmax and log_softmax
normalise along ``dim``; maxout shrinks axis 1 by its number of pieces.
"""

from __future__ import annotations

from .. import accel
from ..autograd import Function
from ..backend import xp


def sigmoid(x):
    """1 / (1 + e^-x) of array ``x``, as e^x / (1 + e^x) where x < 0 (no overflow)."""
    e = xp.exp(-xp.abs(x))  # e^-|x| lies in (0, 1]
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid(Function):
    """Logistic sigmoid.

    Forward:  y = 1 / (1 + e^-x), computed as e^x / (1 + e^x) for x < 0 so that no
              exponential overflows
    Backward: dx = dy * y * (1 - y)
    Shapes:   any; y has x's shape
    """

    def forward(self, x):
        self.y = sigmoid(x)
        return self.y

    def backward(self, grad_out):
        return grad_out * self.y * (1 - self.y)


class Tanh(Function):
    """Hyperbolic tangent. Forward: y = tanh(x). Backward: dx = dy * (1 - y^2)."""

    def forward(self, x):
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
        self.slope = xp.where(x > 0, x.dtype.type(1), x.dtype.type(negative_slope))
        return x * self.slope

    def backward(self, grad_out):
        return grad_out * self.slope


class PReLU(Function):
    """Parametric ReLU: a leaky ReLU whose negative slope a is learned (as in PyTorch).

    Forward:  y = x if x > 0 else a_c x, with one slope per channel c (axis 1) or one
              slope shared by every element
    Backward: dx = dy if x > 0 else a_c dy;
              da_c = sum of dy * x over the elements of channel c where x <= 0
    Shapes:   x (N, C, ...) ; a (C,) or (1,)
    """

    def forward(self, x, weight):
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
        self.positive = x > 0
        self.negative_slope = alpha * xp.exp(xp.minimum(x, 0))  # alpha e^x where x <= 0
        return xp.where(self.positive, x, alpha * xp.expm1(xp.minimum(x, 0)))

    def backward(self, grad_out):
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
        self.dim = dim
        e = xp.exp(x - x.max(axis=dim, keepdims=True))
        self.y = e / e.sum(axis=dim, keepdims=True)
        return self.y

    def backward(self, grad_out):
        return self.y * (grad_out - (grad_out * self.y).sum(axis=self.dim, keepdims=True))


def log_softmax(x, dim):
    """log softmax of array ``x`` along ``dim``: x - m - log sum_j e^(x_j - m), m = max x."""
    shifted = x - x.max(axis=dim, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))


class LogSoftmax(Function):
    """Logarithm of the softmax along ``dim``, without forming the softmax first.

    Forward:  y_i = x_i - m - log sum_j e^(x_j - m), m = max_j x_j
    Backward: dx_i = dy_i - softmax(x)_i sum_j dy_j, softmax(x) = e^y
    """

    def forward(self, x, dim):
        self.dim = dim
        self.y = log_softmax(x, dim)
        return self.y

    def backward(self, grad_out):
        return grad_out - xp.exp(self.y) * grad_out.sum(axis=self.dim, keepdims=True)
