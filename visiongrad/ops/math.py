"""Elementwise arithmetic, exp/log/pow, reductions and shape operations.

Every class is one graph node: forward on arrays, backward with the local derivative
written out. Binary ops broadcast; their backward sums the gradient back to each input's
shape with ``unbroadcast``.
"""

from __future__ import annotations

import numpy as np

from ..accel import add
from ..autograd import Function, Tensor, unbroadcast
from ..backend import array_module, get_default_dtype


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
    if (len(operands) == 2 and isinstance(operands[0], Tensor) and operands[0].dtype.kind == "f"
            and isinstance(operands[1], (int, float)) and not isinstance(operands[1], bool)):
        return operands[0].dtype  # a floating tensor and a Python number: the common case
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


def promote(x, y) -> tuple[Tensor, Tensor]:
    """``x`` and ``y`` (tensors, arrays or numbers) as tensors of their common
    ``result_type`` (a differentiable cast), in the namespace of the tensors among them."""
    if isinstance(x, Tensor) and isinstance(y, Tensor) and x.dtype == y.dtype:
        return x, y  # nothing to promote: the common case, kept cheap
    dtype = result_type(x, y)
    xp = array_module(x, y)

    def promoted(operand):
        if not isinstance(operand, Tensor):
            return Tensor._wrap(xp.asarray(operand, dtype=dtype))
        return operand if operand.dtype == dtype else Cast.apply(operand, dtype=dtype)

    return promoted(x), promoted(y)


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
        xp = array_module(grad_out)
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
        xp = array_module(grad_out)
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
        xp = array_module(x)
        self.y = xp.exp(x)
        return self.y

    def backward(self, grad_out):
        return grad_out * self.y


class Log(Function):
    """Forward: y = ln x. Backward: dx = dy / x."""

    def forward(self, x):
        xp = array_module(x)
        self.x = x
        return xp.log(x)

    def backward(self, grad_out):
        return grad_out / self.x


class Sqrt(Function):
    """Forward: y = sqrt(x). Backward: dx = dy / (2 y)."""

    def forward(self, x):
        xp = array_module(x)
        self.y = xp.sqrt(x)
        return self.y

    def backward(self, grad_out):
        return grad_out / (2 * self.y)


class Abs(Function):
    """Forward: y = |x|. Backward: dx = dy * sign(x) (0 at x = 0, as in PyTorch)."""

    def forward(self, x):
        xp = array_module(x)
        self.sign = xp.sign(x)
        return xp.abs(x)

    def backward(self, grad_out):
        return grad_out * self.sign


class Clip(Function):
    """Forward: y = min(max(x, low), high). Backward: dx = dy where low <= x <= high, else 0."""

    def forward(self, x, low=None, high=None):
        xp = array_module(x)
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


# ----- functional forms (``functional``'s names; operators are the Tensor's) --------------


def exp(x) -> Tensor:
    """e^x elementwise; any shape.

    Examples
    --------
    >>> F.exp(vg.tensor([0.0, 1.0]))
    Tensor([1.     2.7183])
    """
    return Exp.apply(x)


def log(x) -> Tensor:
    """Natural logarithm elementwise; any shape (log 0 = -inf).

    Examples
    --------
    >>> F.log(vg.tensor([1.0, np.e]))
    Tensor([0. 1.])
    """
    return Log.apply(x)


def sqrt(x) -> Tensor:
    """Square root elementwise; any shape.

    Examples
    --------
    >>> F.sqrt(vg.tensor([4.0, 9.0]))
    Tensor([2. 3.])
    """
    return Sqrt.apply(x)


def abs(x) -> Tensor:  # noqa: A001 - mirrors torch.abs
    """|x| elementwise; any shape, same shape out (the gradient at 0 is 0).

    Examples
    --------
    >>> F.abs(vg.tensor([-1.5, 0.5, 2.0]))
    Tensor([1.5 0.5 2. ])
    """
    return Abs.apply(x)


def clip(x, low=None, high=None) -> Tensor:
    """NumPy's name for ``clamp``: x limited to [low, high] (either may be None).

    Examples
    --------
    >>> F.clip(vg.tensor([-1.5, 0.5, 2.0]), low=-1.0, high=1.0)
    Tensor([-1.   0.5  1. ])
    """
    return Clip.apply(x, low=low, high=high)
