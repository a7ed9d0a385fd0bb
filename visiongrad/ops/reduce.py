"""Reductions and searches: prod, var/std, logsumexp, cumsum, any/all, argmax/argmin,
topk, sort/argsort, under PyTorch's names (``dim``, ``keepdim``).

Indices and booleans come back as tensors without a gradient; the values of topk and
sort are a gather of x at those indices (``indexing.Gather``), so their gradient goes back
to the positions the values came from.
"""

from __future__ import annotations

from typing import NamedTuple

from ..autograd import Function, Tensor
from ..backend import array_module
from .dims import normalize_dim, normalize_dims, reduction_axis
from .indexing import Gather
from .math import Sqrt
from .shape import Reshape


def _data(x):
    xp = array_module(x)
    return x.data if isinstance(x, Tensor) else xp.asarray(x)


def _axis(x, dim):
    """``dim`` (None, an int or a sequence) as NumPy's axis for reducing array ``x``."""
    if dim is None or x.ndim == 0:
        return reduction_axis(x, dim if not isinstance(dim, list) else tuple(dim))
    return normalize_dims(dim, x.ndim) if isinstance(dim, (tuple, list)) \
        else normalize_dim(dim, x.ndim)


def _expand_reduced(grad_out, ndim, axis, keepdims):
    """Give the gradient of a reduction back the reduced axes (as size 1) to broadcast."""
    xp = array_module(grad_out)
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
        xp = array_module(grad_out)
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
        xp = array_module(grad_out)
        grad = _expand_reduced(grad_out, len(self.input_shape), self.axis, self.keepdims)
        return xp.broadcast_to(grad / self.count, self.input_shape)


class Max(Function):
    """Forward: y = max of x over ``axis``.

    Backward: the gradient goes to the maximal elements; ties share it equally
    (dx = dy * [x == y] / count), as ``torch.amax`` does.
    """

    extreme = "max"  # the array method that reduces

    def forward(self, x, axis=None, keepdims=False):
        axis = reduction_axis(x, axis)
        self.input_shape, self.axis, self.keepdims = x.shape, axis, keepdims
        out = getattr(x, self.extreme)(axis=axis, keepdims=True)
        self.is_extreme = x == out
        return out if keepdims else (out.squeeze(axis) if axis is not None else out.reshape(()))

    def backward(self, grad_out):
        grad = _expand_reduced(grad_out, len(self.input_shape), self.axis, self.keepdims)
        count = self.is_extreme.sum(axis=self.axis, keepdims=True, dtype=grad_out.dtype)
        return self.is_extreme * (grad / count)


class Min(Max):
    """Forward: y = min of x over ``axis``. Backward: as Max, to the minimal elements."""

    extreme = "min"


class Prod(Function):
    """Forward: y = prod of x over ``axis``.

    Backward: dx_i = dy * prod_{j != i} x_j, computed without dividing by zero: with p the
    product of the non-zero entries and c the number of zeros in the reduced slice,
    dx_i = dy * p / x_i if c = 0; dy * p at the one zero if c = 1 (0 elsewhere); 0 if c >= 2.
    """

    def forward(self, x, axis, keepdim):
        self.x, self.axis, self.keepdim = x, axis, keepdim
        return x.prod(axis=axis, keepdims=keepdim)

    def backward(self, grad_out):
        xp = array_module(grad_out)
        x = self.x
        is_zero = x == 0
        zeros = is_zero.sum(axis=self.axis, keepdims=True)
        p = xp.where(is_zero, 1, x).prod(axis=self.axis, keepdims=True)
        safe_x = xp.where(is_zero, 1, x)
        local = xp.where(is_zero, p * (zeros == 1), p / safe_x * (zeros == 0))
        return _expand_reduced(grad_out, x.ndim, self.axis, self.keepdim) * local


class Var(Function):
    """Forward: y = sum((x - mean)^2) / (N - correction) over ``axis`` (N elements each).

    Backward: dx = dy * 2 (x - mean) / (N - correction).
    """

    def forward(self, x, axis, correction, keepdim):
        xp = array_module(x)
        self.axis, self.keepdim, self.ndim = axis, keepdim, x.ndim
        self.centred = x - x.mean(axis=axis, keepdims=True)
        count = x.size
        if axis is not None:
            axes = (axis,) if isinstance(axis, int) else axis
            count = int(xp.prod([x.shape[a] for a in axes]))
        self.dof = max(count - correction, 0)
        with xp.errstate(divide="ignore", invalid="ignore"):
            return (self.centred**2).sum(axis=axis, keepdims=keepdim) / x.dtype.type(self.dof)

    def backward(self, grad_out):
        xp = array_module(grad_out)
        with xp.errstate(divide="ignore", invalid="ignore"):
            scale = grad_out.dtype.type(2) / grad_out.dtype.type(self.dof)
            grad = _expand_reduced(grad_out, self.ndim, self.axis, self.keepdim)
            return grad * scale * self.centred


class LogSumExp(Function):
    """Forward: y = m + log sum exp(x - m) over ``axis``, m = max x (no overflow).

    Backward: dx = dy * exp(x - y) = dy * softmax(x) over ``axis``.
    """

    def forward(self, x, axis, keepdim):
        xp = array_module(x)
        self.x, self.axis, self.keepdim = x, axis, keepdim
        m = x.max(axis=axis, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        self.y = m + xp.log(xp.exp(x - m).sum(axis=axis, keepdims=True))
        if keepdim:
            return self.y
        return self.y.reshape(()) if axis is None else xp.squeeze(self.y, axis)

    def backward(self, grad_out):
        xp = array_module(grad_out)
        grad = _expand_reduced(grad_out, self.x.ndim, self.axis, self.keepdim)
        return grad * xp.exp(self.x - self.y)


class CumSum(Function):
    """Forward: y_i = sum_{j <= i} x_j along ``axis``.

    Backward: dx_j = sum_{i >= j} dy_i, the cumulative sum of dy taken from the end.
    """

    def forward(self, x, axis):
        xp = array_module(x)
        self.axis = axis
        return xp.cumsum(x, axis=axis)

    def backward(self, grad_out):
        xp = array_module(grad_out)
        return xp.flip(xp.cumsum(xp.flip(grad_out, self.axis), axis=self.axis), self.axis)


# ----- public API -----------------------------------------------------------------------


def prod(x, dim=None, keepdim: bool = False) -> Tensor:
    """Product of the entries along ``dim`` (or of all of them).

    Examples
    --------
    >>> F.prod(vg.tensor([[1.0, 2.0], [3.0, 4.0]]), dim=0)
    Tensor([3. 8.])
    """
    return Prod.apply(x, axis=_axis(_data(x), dim), keepdim=keepdim)


def var(x, dim=None, *, correction: int = 1, keepdim: bool = False) -> Tensor:
    """Variance with Bessel's ``correction`` (1: unbiased, 0: the population variance).

    Examples
    --------
    >>> F.var(vg.tensor([1.0, 2.0, 3.0, 4.0]))
    Tensor(1.6667)
    >>> F.var(vg.tensor([[1.0, 3.0], [2.0, 6.0]]), dim=1, correction=0)
    Tensor([1. 4.])
    """
    return Var.apply(x, axis=_axis(_data(x), dim), correction=correction, keepdim=keepdim)


def std(x, dim=None, *, correction: int = 1, keepdim: bool = False) -> Tensor:
    """sqrt(var); backward d std = d var / (2 std) (Sqrt's).

    Examples
    --------
    >>> F.std(vg.tensor([1.0, 2.0, 3.0, 4.0]))
    Tensor(1.291)
    >>> F.std(vg.tensor([1.0, 2.0, 3.0, 4.0]), correction=0)
    Tensor(1.118)
    """
    return Sqrt.apply(var(x, dim, correction=correction, keepdim=keepdim))


def logsumexp(x, dim, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) along ``dim``, computed stably (the maximum is shifted out).

    Examples
    --------
    >>> F.logsumexp(vg.tensor([[0.0, 0.0], [1000.0, 1000.0]]), dim=1)
    Tensor([6.9315e-01 1.0007e+03])
    """
    return LogSumExp.apply(x, axis=_axis(_data(x), dim), keepdim=keepdim)


def cumsum(x, dim: int) -> Tensor:
    """Running sum along ``dim``; same shape as x.

    Examples
    --------
    >>> F.cumsum(vg.tensor([1.0, 2.0, 3.0]), dim=0)
    Tensor([1. 3. 6.])
    """
    array = _data(x)
    if array.ndim == 0:  # the running sum of one number is itself
        normalize_dim(dim, 0)
        return Reshape.apply(x, shape=())
    return CumSum.apply(x, axis=normalize_dim(dim, array.ndim))


def _boolean(fn, x, dim, keepdim) -> Tensor:
    xp = array_module(x)
    array = _data(x)
    return Tensor._wrap(xp.asarray(fn(array, axis=_axis(array, dim), keepdims=keepdim)))


def any(x, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001 - torch.any
    """True where some entry along ``dim`` (or of the whole tensor) is non-zero.

    Examples
    --------
    >>> F.any(vg.tensor([[0.0, 0.0], [2.0, 0.0]]), dim=1)
    Tensor([False  True])
    """
    xp = array_module(x)
    return _boolean(xp.any, x, dim, keepdim)


def all(x, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001 - torch.all
    """True where every entry along ``dim`` (or of the whole tensor) is non-zero.

    Examples
    --------
    >>> F.all(vg.tensor([[1.0, 0.0], [2.0, 3.0]]), dim=1)
    Tensor([False  True])
    """
    xp = array_module(x)
    return _boolean(xp.all, x, dim, keepdim)


def _arg(fn, x, dim, keepdim) -> Tensor:
    xp = array_module(x)
    array = _data(x)
    axis = None if dim is None or array.ndim == 0 else normalize_dim(dim, array.ndim)
    if array.ndim == 0 and dim is not None:
        normalize_dim(dim, 0)
    if array.size == 0 and (axis is None or array.shape[axis] == 0):
        what = "an empty tensor" if axis is None else f"dim {axis} of size 0"
        raise ValueError(f"{fn.__name__}: cannot reduce {what} (shape {array.shape}): "
                         f"there is no extreme to point at")
    return Tensor._wrap(xp.asarray(fn(array, axis=axis, keepdims=keepdim), dtype=xp.int64))


def argmax(x, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the (first) maximum along ``dim``, or into the flattened tensor.

    Examples
    --------
    >>> F.argmax(vg.tensor([[1.0, 3.0, 2.0], [4.0, 0.0, 4.0]]), dim=1)
    Tensor([1 0])
    """
    xp = array_module(x)
    return _arg(xp.argmax, x, dim, keepdim)


def argmin(x, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the (first) minimum along ``dim``, or into the flattened tensor.

    Examples
    --------
    >>> F.argmin(vg.tensor([[1.0, 3.0, 0.0], [4.0, 0.0, 4.0]]), dim=1)
    Tensor([2 1])
    """
    xp = array_module(x)
    return _arg(xp.argmin, x, dim, keepdim)


class ValuesIndices(NamedTuple):
    """(values, indices), as returned by PyTorch's topk and sort."""

    values: Tensor
    indices: Tensor


def argsort(x, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """Indices that sort ``x`` along ``dim`` (ties keep their order: always stable).

    Examples
    --------
    >>> F.argsort(vg.tensor([3.0, 1.0, 2.0]))
    Tensor([1 2 0])
    >>> F.argsort(vg.tensor([3.0, 1.0, 2.0]), descending=True)
    Tensor([0 2 1])
    """
    xp = array_module(x)
    array = _data(x)
    if array.ndim == 0:
        normalize_dim(dim, 0)
        return Tensor._wrap(xp.zeros((), dtype=xp.int64))
    axis = normalize_dim(dim, array.ndim)
    if descending:  # stable descending order: reverse, sort stably, map back
        flipped = xp.flip(array, axis)
        order = xp.argsort(flipped, axis=axis, kind="stable")
        indices = array.shape[axis] - 1 - xp.flip(order, axis)
    else:
        indices = xp.argsort(array, axis=axis, kind="stable")
    return Tensor._wrap(indices.astype(xp.int64))


def sort(x, dim: int = -1, descending: bool = False, stable: bool = False) -> ValuesIndices:
    """(sorted values, their indices in x) along ``dim``; values carry the gradient.

    Examples
    --------
    >>> values, indices = F.sort(vg.tensor([3.0, 1.0, 2.0]))
    >>> values, indices
    (Tensor([1. 2. 3.]), Tensor([1 2 0]))
    """
    indices = argsort(x, dim, descending)
    if indices.ndim == 0:  # one number is sorted
        return ValuesIndices(Reshape.apply(x, shape=()), indices)
    dim = normalize_dim(dim, indices.ndim)
    return ValuesIndices(Gather.apply(x, index=indices.data, dim=dim), indices)


def topk(x, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> ValuesIndices:  # noqa: A002
    """The ``k`` largest (or smallest) entries along ``dim``, in order, and their indices.

    Examples
    --------
    >>> values, indices = F.topk(vg.tensor([1.0, 5.0, 3.0, 4.0]), 2)
    >>> values, indices
    (Tensor([5. 4.]), Tensor([1 3]))
    """
    xp = array_module(x)
    array = _data(x)
    dim = normalize_dim(dim, array.ndim)
    n = array.shape[dim] if array.ndim else 1
    if not 0 <= k <= n:
        raise ValueError(f"topk: k must be in [0, {n}] for dim {dim}, got {k}")
    if array.ndim == 0:
        return sort(x)
    order = argsort(array, dim, descending=largest).data
    indices = xp.take(order, xp.arange(k), axis=dim)
    return ValuesIndices(Gather.apply(x, index=indices, dim=dim), Tensor._wrap(indices))
