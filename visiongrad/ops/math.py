"""Elementwise arithmetic, exp/log/pow, reductions and shape operations.

Every class is one graph node: forward on arrays, backward with the local derivative
written out. Binary ops broadcast; their backward sums the gradient back to each input's
shape with ``unbroadcast``.
"""

from __future__ import annotations

import numpy as np

from ..accel import add
from ..autograd import Function, Tensor, unbroadcast
from ..backend import array_module, get_default_dtype, xp


def float_result(z, *inputs):
    """``z`` in PyTorch's dtype for a floating result (true division, powers) of ``inputs``.

    NumPy gives float64 whenever an integer array meets a float; PyTorch gives the first
    floating input's dtype, and the default dtype when every input is an integer.
    """
    if z.dtype.kind != "f":
        return z
    floats = [a.dtype for a in inputs if a.dtype.kind == "f"]
    if len(floats) == len(inputs):
        return z
    return z.astype(floats[0] if floats else get_default_dtype(), copy=False)


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def result_type(*operands) -> np.dtype:
    """The dtype of an elementwise op of ``operands`` (tensors, arrays, Python numbers),
    by PyTorch's promotion rule rather than NumPy's.

    Operands rank as dimensioned tensors, then 0-d tensors, then Python numbers; the
    result takes the highest category among all (bool < integer < floating < complex),
    from the highest-ranked operands of that category: ``maximum(float32 x, 0)`` is
    float32, ``maximum(int32 x, 0-d float64)`` is float64, ``maximum(float32 x, 0-d
    float64)`` is float32. A Python float alone is the default dtype, an int int64.
    """
    ranks: list[list[np.dtype]] = [[], [], []]
    for operand in operands:
        operand = operand.data if isinstance(operand, Tensor) else operand
        if isinstance(operand, (bool, int, float, complex)):
            ranks[2].append(np.dtype(bool) if isinstance(operand, bool) else
                            get_default_dtype() if isinstance(operand, float) else
                            np.dtype(type(operand)))
        else:
            operand = array_module(operand).asarray(operand)
            ranks[0 if operand.ndim else 1].append(operand.dtype)
    top = max(_CATEGORY[d.kind] for rank in ranks for d in rank)
    for rank in ranks:
        chosen = [d for d in rank if _CATEGORY[d.kind] == top]
        if chosen:
            return np.result_type(*chosen)
    raise ValueError("result_type needs at least one operand")


def promote(*operands) -> list:
    """``operands`` as tensors of their common ``result_type`` (a differentiable cast)."""
    dtype = result_type(*operands)
    tensors = []
    for operand in operands:
        if not isinstance(operand, Tensor):
            operand = Tensor._wrap(array_module(operand).asarray(operand, dtype=dtype))
        elif operand.dtype != dtype:
            operand = Cast.apply(operand, dtype=dtype)
        tensors.append(operand)
    return tensors


class Cast(Function):
    """Convert dtype. Forward: y = x as ``dtype``. Backward: dx = dy as x's dtype."""

    def forward(self, x, dtype):
        self.input_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, grad_out):
        return grad_out.astype(self.input_dtype)


class Add(Function):
    """Forward: z = x + y. Backward: dx = dz, dy = dz (each summed to its input's shape)."""

    def forward(self, x, y):
        self.x_shape, self.y_shape = x.shape, y.shape
        return add(x, y)

    def backward(self, grad_out):
        return unbroadcast(grad_out, self.x_shape), unbroadcast(grad_out, self.y_shape)


class Sub(Function):
    """Forward: z = x - y. Backward: dx = dz, dy = -dz."""

    def forward(self, x, y):
        self.x_shape, self.y_shape = x.shape, y.shape
        return x - y

    def backward(self, grad_out):
        dy = -unbroadcast(grad_out, self.y_shape) if self.needs_input_grad[1] else None
        return unbroadcast(grad_out, self.x_shape), dy


class Mul(Function):
    """Forward: z = x * y. Backward: dx = dz * y, dy = dz * x."""

    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, grad_out):
        dx = unbroadcast(grad_out * self.y, self.x.shape) if self.needs_input_grad[0] else None
        dy = unbroadcast(grad_out * self.x, self.y.shape) if self.needs_input_grad[1] else None
        return dx, dy


class Div(Function):
    """Forward: z = x / y. Backward: dx = dz / y, dy = -dz * x / y^2 = -dz * z / y."""

    def forward(self, x, y):
        self.x_shape, self.y = x.shape, y
        self.z = float_result(x / y, x, y)
        return self.z

    def backward(self, grad_out):
        dx_full = grad_out / self.y
        dx = unbroadcast(dx_full, self.x_shape) if self.needs_input_grad[0] else None
        dy = unbroadcast(-dx_full * self.z, self.y.shape) if self.needs_input_grad[1] else None
        return dx, dy


class Neg(Function):
    """Forward: y = -x. Backward: dx = -dy."""

    def forward(self, x):
        return -x

    def backward(self, grad_out):
        return -grad_out


class PowScalar(Function):
    """Forward: y = x^p for a constant p. Backward: dx = dy * p * x^(p-1), and dx = 0 for
    p = 0 (y = 1 is constant; p * x^(p-1) would be 0 * inf = NaN at x = 0)."""

    def forward(self, x, exponent):
        self.x, self.exponent = x, exponent
        return float_result(x**exponent, x)

    def backward(self, grad_out):
        p = self.exponent
        if p == 0:
            return xp.zeros_like(grad_out)
        return grad_out * p * self.x ** (p - 1)


class Pow(Function):
    """Forward: z = x^y.

    Backward: dx = dz * y * x^(y-1), taken as 0 where y = 0 (z = 1 does not depend on x);
              dy = dz * z * log(x), taken as 0 where x = 0 and y >= 0 (z = 0^y is constant
              there; z * log x would be 0 * -inf = NaN). Both masks are PyTorch's.
    """

    def forward(self, x, y):
        self.x, self.y = x, y
        self.z = float_result(x**y, x, y)
        return self.z

    def backward(self, grad_out):
        dx = dy = None
        zero = xp.zeros((), dtype=grad_out.dtype)
        with xp.errstate(divide="ignore", invalid="ignore"):
            if self.needs_input_grad[0]:
                local = xp.where(self.y == 0, zero, self.y * self.x ** (self.y - 1))
                dx = unbroadcast(grad_out * local, self.x.shape)
            if self.needs_input_grad[1]:
                local = xp.where((self.x == 0) & (self.y >= 0), zero, self.z * xp.log(self.x))
                dy = unbroadcast(grad_out * local, self.y.shape)
        return dx, dy


class Exp(Function):
    """Forward: y = e^x. Backward: dx = dy * y."""

    def forward(self, x):
        self.y = xp.exp(x)
        return self.y

    def backward(self, grad_out):
        return grad_out * self.y


class Log(Function):
    """Forward: y = ln x. Backward: dx = dy / x."""

    def forward(self, x):
        self.x = x
        return xp.log(x)

    def backward(self, grad_out):
        return grad_out / self.x


class Sqrt(Function):
    """Forward: y = sqrt(x). Backward: dx = dy / (2 y)."""

    def forward(self, x):
        self.y = xp.sqrt(x)
        return self.y

    def backward(self, grad_out):
        return grad_out / (2 * self.y)


class Abs(Function):
    """Forward: y = |x|. Backward: dx = dy * sign(x) (0 at x = 0, as in PyTorch)."""

    def forward(self, x):
        self.sign = xp.sign(x)
        return xp.abs(x)

    def backward(self, grad_out):
        return grad_out * self.sign


class Clip(Function):
    """Forward: y = min(max(x, low), high). Backward: dx = dy where low <= x <= high, else 0."""

    def forward(self, x, low=None, high=None):
        if low is None and high is None:
            raise ValueError("clip: at least one of low and high must be given")
        self.inside = xp.ones(x.shape, dtype=bool)
        if low is not None:
            self.inside &= x >= low
        if high is not None:
            self.inside &= x <= high
        return xp.clip(x, low, high)

    def backward(self, grad_out):
        return grad_out * self.inside


class Where(Function):
    """Forward: z = x where condition else y. Backward: dx = dz * c, dy = dz * (1 - c)."""

    def forward(self, x, y, condition):
        self.condition, self.x_shape, self.y_shape = condition, x.shape, y.shape
        return xp.where(condition, x, y)

    def backward(self, grad_out):
        zero = xp.zeros((), dtype=grad_out.dtype)
        return (unbroadcast(xp.where(self.condition, grad_out, zero), self.x_shape),
                unbroadcast(xp.where(self.condition, zero, grad_out), self.y_shape))


def reduction_axis(x, axis):
    """``axis`` for reducing ``x``; a 0-d tensor reduces over 0, -1 or () as over None.

    PyTorch lets a 0-d tensor be reduced over dim 0 or -1 (a no-op); NumPy refuses some.
    """
    if x.ndim or axis is None:
        return axis
    if axis in (0, -1, (), (0,), (-1,)):
        return None
    raise ValueError(f"axis {axis} is out of range for a 0-d tensor (use 0, -1 or None)")


def _expand_reduced(grad_out, ndim, axis, keepdims):
    """Give the gradient of a reduction back the reduced axes (as size 1) to broadcast."""
    if keepdims:
        return grad_out
    if axis is None:
        return grad_out.reshape((1,) * ndim)
    axes = (axis,) if isinstance(axis, int) else axis
    return xp.expand_dims(grad_out, tuple(a % ndim for a in axes))


class Sum(Function):
    """Forward: y = sum of x over ``axis``. Backward: dx = dy broadcast back over ``axis``."""

    def forward(self, x, axis=None, keepdims=False):
        axis = reduction_axis(x, axis)
        self.input_shape, self.axis, self.keepdims = x.shape, axis, keepdims
        return x.sum(axis=axis, keepdims=keepdims)

    def backward(self, grad_out):
        grad = _expand_reduced(grad_out, len(self.input_shape), self.axis, self.keepdims)
        return xp.broadcast_to(grad, self.input_shape)


class Mean(Function):
    """Forward: y = sum(x) / n over ``axis``. Backward: dx = dy / n, broadcast back."""

    def forward(self, x, axis=None, keepdims=False):
        axis = reduction_axis(x, axis)
        self.input_shape, self.axis, self.keepdims = x.shape, axis, keepdims
        out = x.mean(axis=axis, keepdims=keepdims)
        self.count = x.size // max(out.size, 1) if x.size else 0
        return out

    def backward(self, grad_out):
        grad = _expand_reduced(grad_out, len(self.input_shape), self.axis, self.keepdims)
        return xp.broadcast_to(grad / self.count, self.input_shape)


class Max(Function):
    """Forward: y = max of x over ``axis``.

    Backward: the gradient goes to the maximal elements; ties share it equally
    (dx = dy * [x == y] / count), as ``torch.amax`` does.
    """

    reduce = staticmethod(xp.max)

    def forward(self, x, axis=None, keepdims=False):
        axis = reduction_axis(x, axis)
        self.input_shape, self.axis, self.keepdims = x.shape, axis, keepdims
        out = self.reduce(x, axis=axis, keepdims=True)
        self.is_extreme = x == out
        return out if keepdims else (out.squeeze(axis) if axis is not None else out.reshape(()))

    def backward(self, grad_out):
        grad = _expand_reduced(grad_out, len(self.input_shape), self.axis, self.keepdims)
        count = self.is_extreme.sum(axis=self.axis, keepdims=True, dtype=grad_out.dtype)
        return self.is_extreme * (grad / count)


class Min(Max):
    """Forward: y = min of x over ``axis``. Backward: as Max, to the minimal elements."""

    reduce = staticmethod(xp.min)


class Reshape(Function):
    """Forward: y = x with a new shape. Backward: dx = dy reshaped to x's shape."""

    def forward(self, x, shape):
        self.input_shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"cannot reshape a tensor of shape {x.shape} to {shape}") from None

    def backward(self, grad_out):
        return grad_out.reshape(self.input_shape)


class Transpose(Function):
    """Forward: y = x with axes permuted. Backward: dx = dy with the inverse permutation."""

    def forward(self, x, axes=None):
        y = x.transpose(axes)
        # the inverse permutation of the axes as non-negative numbers (-1 is the last)
        axes = tuple(reversed(range(x.ndim))) if axes is None else axes
        self.inverse = tuple(sorted(range(x.ndim), key=lambda i: axes[i] % x.ndim))
        return y

    def backward(self, grad_out):
        return grad_out.transpose(self.inverse)


def _is_advanced(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(not isinstance(p, (int, slice, type(None), type(Ellipsis))) for p in parts)


class Index(Function):
    """Forward: y = x[index]. Backward: dx = zeros with dy added at ``index``.

    Integer-array indices may pick an element more than once; their gradients are summed
    (scatter-add), so advanced indexing uses ``add.at`` while basic slicing assigns.
    """

    def forward(self, x, index):
        self.input_shape, self.dtype, self.index = x.shape, x.dtype, index
        return x[index]

    def backward(self, grad_out):
        grad = xp.zeros(self.input_shape, dtype=self.dtype)
        if _is_advanced(self.index):
            xp.add.at(grad, self.index, grad_out)
        else:
            grad[self.index] = grad_out
        return grad


class Concat(Function):
    """Forward: y = [x1, x2, ...] joined along ``axis``. Backward: dy split at the seams."""

    def forward(self, *xs, axis=0):
        self.axis = axis
        self.sections = xp.cumsum([x.shape[axis] for x in xs])[:-1]
        return xp.concatenate(xs, axis=axis)

    def backward(self, grad_out):
        return tuple(xp.split(grad_out, self.sections, axis=self.axis))


class Stack(Function):
    """Forward: y = [x1, x2, ...] stacked on a new ``axis``. Backward: dy unstacked."""

    def forward(self, *xs, axis=0):
        self.axis = axis
        return xp.stack(xs, axis=axis)

    def backward(self, grad_out):
        return tuple(xp.moveaxis(grad_out, self.axis, 0))
