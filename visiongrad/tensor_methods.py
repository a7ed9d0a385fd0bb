"""The Tensor's methods by family, the mixin classes ``autograd.Tensor`` is written with:

    class Tensor(ArithmeticMixin, ReductionMixin, ShapeMixin, IndexingMixin,
                 ElementwiseMixin, ActivationMixin)

Each method is its family's functional form (``ops/<family>.py``) with the tensor as the
first argument, under PyTorch's name (``x.squeeze(0)``, ``x.topk(3)``, ``x + y``); NumPy's
``axis``/``keepdims`` are accepted beside ``dim``/``keepdim`` where NumPy users expect them.

The op modules import ``Tensor`` themselves, so a method reaches its op through the
``ops`` package when it is called (``_ops.math.Add``), never by an import here.
NOTE: unlike PyTorch, ``max(dim)``/``min(dim)`` give the values only (``argmax`` gives
the indices).

Examples
--------
>>> import visiongrad as vg
>>> x = vg.tensor([[3.0, 1.0, 2.0]])
>>> x.squeeze(0).shape, x.topk(2)[0].data
((3,), array([[3., 2.]], dtype=float32))
"""

from __future__ import annotations

import numpy as np

from . import ops as _ops
from .backend import array_module


class ArithmeticMixin:
    """Operators and the elementwise functions of ``ops/math.py`` (and ``@``)."""

    __slots__ = ()

    def _coerce(self, other):
        """``other`` as a tensor; Python numbers take this tensor's dtype (no upcast)."""
        Tensor = type(self)
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (int, float, bool)) and self.dtype.kind == "f":
            return Tensor._wrap(array_module(self.data).asarray(other, dtype=self.dtype))
        return Tensor(other)

    def __add__(self, other):
        return _ops.math.Add.apply(self, self._coerce(other))

    def __radd__(self, other):
        return _ops.math.Add.apply(self._coerce(other), self)

    def __sub__(self, other):
        return _ops.math.Sub.apply(self, self._coerce(other))

    def __rsub__(self, other):
        return _ops.math.Sub.apply(self._coerce(other), self)

    def __mul__(self, other):
        return _ops.math.Mul.apply(self, self._coerce(other))

    def __rmul__(self, other):
        return _ops.math.Mul.apply(self._coerce(other), self)

    def __truediv__(self, other):
        return _ops.math.Div.apply(self, self._coerce(other))

    def __rtruediv__(self, other):
        return _ops.math.Div.apply(self._coerce(other), self)

    def __matmul__(self, other):
        return _ops.linear.MatMul.apply(self, self._coerce(other))

    def __rmatmul__(self, other):
        return _ops.linear.MatMul.apply(self._coerce(other), self)

    def __pow__(self, exponent):
        if isinstance(exponent, type(self)):
            return _ops.math.Pow.apply(self, exponent)
        return _ops.math.PowScalar.apply(self, exponent=exponent)

    def __rpow__(self, base):
        return _ops.math.Pow.apply(self._coerce(base), self)

    def __neg__(self):
        return _ops.math.Neg.apply(self)

    # comparisons give boolean tensors without a gradient
    def _compare(self, other, compare):
        other = other.data if isinstance(other, type(self)) else other
        return type(self)._wrap(compare(self.data, other))

    def __eq__(self, other):  # type: ignore[override]
        return self._compare(other, lambda a, b: a == b)

    def __ne__(self, other):  # type: ignore[override]
        return self._compare(other, lambda a, b: a != b)

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b)

    __hash__ = object.__hash__

    def exp(self):
        return _ops.math.Exp.apply(self)

    def log(self):
        return _ops.math.Log.apply(self)

    def sqrt(self):
        return _ops.math.Sqrt.apply(self)

    def abs(self):
        return _ops.math.Abs.apply(self)

    def clip(self, low=None, high=None):
        return _ops.math.Clip.apply(self, low=low, high=high)

    def astype(self, dtype):
        """A copy converted to ``dtype`` (differentiable between floating types)."""
        return _ops.math.Cast.apply(self, dtype=np.dtype(dtype))


class ReductionMixin:
    """Reductions and searches of ``ops/reduce.py``."""

    __slots__ = ()

    def sum(self, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool = False):
        return _ops.reduce.Sum.apply(self, axis=axis if dim is None else dim,
                                     keepdims=keepdims or keepdim)

    def mean(self, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool = False):
        return _ops.reduce.Mean.apply(self, axis=axis if dim is None else dim,
                                      keepdims=keepdims or keepdim)

    def max(self, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool = False):
        return _ops.reduce.Max.apply(self, axis=axis if dim is None else dim,
                                     keepdims=keepdims or keepdim)

    def min(self, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool = False):
        return _ops.reduce.Min.apply(self, axis=axis if dim is None else dim,
                                     keepdims=keepdims or keepdim)

    def prod(self, dim=None, keepdim: bool = False):
        return _ops.reduce.prod(self, dim, keepdim)

    def var(self, dim=None, *, correction: int = 1, keepdim: bool = False):
        return _ops.reduce.var(self, dim, correction=correction, keepdim=keepdim)

    def std(self, dim=None, *, correction: int = 1, keepdim: bool = False):
        return _ops.reduce.std(self, dim, correction=correction, keepdim=keepdim)

    def logsumexp(self, dim, keepdim: bool = False):
        return _ops.reduce.logsumexp(self, dim, keepdim)

    def cumsum(self, dim: int):
        return _ops.reduce.cumsum(self, dim)

    def any(self, dim=None, keepdim: bool = False):
        return _ops.reduce.any(self, dim, keepdim)

    def all(self, dim=None, keepdim: bool = False):
        return _ops.reduce.all(self, dim, keepdim)

    def argmax(self, dim=None, keepdim: bool = False):
        return _ops.reduce.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim: bool = False):
        return _ops.reduce.argmin(self, dim, keepdim)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
        return _ops.reduce.topk(self, k, dim, largest, sorted)

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False):
        return _ops.reduce.sort(self, dim, descending, stable)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False):
        return _ops.reduce.argsort(self, dim, descending, stable)


class ShapeMixin:
    """Shape operations of ``ops/shape.py``."""

    __slots__ = ()

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return _ops.shape.Reshape.apply(self, shape=tuple(shape))

    def transpose(self, *axes):
        """NumPy's transpose: reverse the axes, or permute them as given."""
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        return _ops.shape.Transpose.apply(self, axes=tuple(axes) if axes else None)

    @property
    def T(self):
        return self.transpose()

    def permute(self, *dims):
        """PyTorch's name for a transpose by a full permutation of the axes."""
        return _ops.shape.permute(self, *dims)

    def squeeze(self, dim=None):
        return _ops.shape.squeeze(self, dim)

    def unsqueeze(self, dim: int):
        return _ops.shape.unsqueeze(self, dim)

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        return _ops.shape.flatten(self, start_dim, end_dim)

    def expand(self, *sizes):
        return _ops.shape.expand(self, *sizes)

    def flip(self, dims):
        return _ops.shape.flip(self, dims)

    def roll(self, shifts, dims=None):
        return _ops.shape.roll(self, shifts, dims)

    def repeat(self, *repeats):
        return _ops.shape.repeat(self, *repeats)

    def split(self, split_size_or_sections, dim: int = 0):
        return _ops.shape.split(self, split_size_or_sections, dim)

    def chunk(self, chunks: int, dim: int = 0):
        return _ops.shape.chunk(self, chunks, dim)

    def tril(self, diagonal: int = 0):
        return _ops.shape.tril(self, diagonal)

    def triu(self, diagonal: int = 0):
        return _ops.shape.triu(self, diagonal)


class IndexingMixin:
    """Indexing of ``ops/indexing.py``: ``x[index]`` and the integer-tensor picks."""

    __slots__ = ()

    def __getitem__(self, index):
        Tensor = type(self)
        if isinstance(index, Tensor):
            index = index.data
        elif isinstance(index, tuple):
            index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
        return _ops.indexing.Index.apply(self, index=index)

    def gather(self, dim: int, index):
        return _ops.indexing.gather(self, dim, index)

    def scatter(self, dim: int, index, src):
        return _ops.indexing.scatter(self, dim, index, src)

    def scatter_add(self, dim: int, index, src):
        return _ops.indexing.scatter_add(self, dim, index, src)

    def index_select(self, dim: int, index):
        return _ops.indexing.index_select(self, dim, index)

    def masked_fill(self, mask, value):
        return _ops.indexing.masked_fill(self, mask, value)

    def nonzero(self, *, as_tuple: bool = False):
        return _ops.indexing.nonzero(self, as_tuple=as_tuple)


class ElementwiseMixin:
    """Elementwise functions of ``ops/elementwise.py``."""

    __slots__ = ()

    def maximum(self, other):
        return _ops.elementwise.maximum(self, other)

    def minimum(self, other):
        return _ops.elementwise.minimum(self, other)

    def clamp(self, min=None, max=None):  # noqa: A002 - PyTorch's argument names
        return _ops.elementwise.clamp(self, min, max)

    def sign(self):
        return _ops.elementwise.sign(self)

    def floor(self):
        return _ops.elementwise.floor(self)

    def ceil(self):
        return _ops.elementwise.ceil(self)

    def round(self):
        return _ops.elementwise.round(self)

    def trunc(self):
        return _ops.elementwise.trunc(self)

    def isnan(self):
        return _ops.elementwise.isnan(self)

    def isinf(self):
        return _ops.elementwise.isinf(self)

    def isfinite(self):
        return _ops.elementwise.isfinite(self)

    def rsqrt(self):
        return _ops.elementwise.rsqrt(self)

    def log2(self):
        return _ops.elementwise.log2(self)

    def log10(self):
        return _ops.elementwise.log10(self)

    def sin(self):
        return _ops.elementwise.sin(self)

    def cos(self):
        return _ops.elementwise.cos(self)

    def erf(self):
        return _ops.elementwise.erf(self)


class ActivationMixin:
    """The activations PyTorch has as Tensor methods (``ops/activation.py``)."""

    __slots__ = ()

    def sigmoid(self):
        return _ops.activation.sigmoid(self)

    def tanh(self):
        return _ops.activation.tanh(self)

    def relu(self):
        return _ops.activation.relu(self)

    def softmax(self, dim: int):
        return _ops.activation.softmax(self, dim)

    def log_softmax(self, dim: int):
        return _ops.activation.log_softmax(self, dim)
