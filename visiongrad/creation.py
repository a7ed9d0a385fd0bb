"""Tensor creation under PyTorch's names: zeros, ones, full, arange, linspace, eye, rand,
randn and the ``*_like`` forms (``vg.zeros(2, 3)``, ``vg.randn(4, requires_grad=True)``).

Floating results take the default dtype (float32 unless ``set_default_dtype`` changed it),
integer ones int64, as in PyTorch. rand/randn draw from the library's seeded generator
(``visiongrad.random``), so ``manual_seed`` makes them reproducible.
"""

from __future__ import annotations

import numpy as np

from .autograd import Tensor
from .backend import get_default_dtype, xp
from .random import get_generator


def _size(size) -> tuple[int, ...]:
    """f(2, 3) or f((2, 3)) as (2, 3), refusing negative sizes."""
    size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) \
        else tuple(size)
    if any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0 for n in size):
        raise ValueError(f"size must be non-negative integers, got {size}")
    return tuple(int(n) for n in size)


def _make(array, dtype, requires_grad) -> Tensor:
    return Tensor(array, requires_grad=requires_grad, dtype=dtype)


def zeros(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros of shape ``size`` (``zeros(2, 3)`` or ``zeros((2, 3))``).

    Examples
    --------
    >>> import visiongrad as vg
    >>> vg.zeros(2, 3).data
    array([[0., 0., 0.],
           [0., 0., 0.]], dtype=float32)
    """
    dtype = dtype or get_default_dtype()
    return _make(xp.zeros(_size(size), dtype=dtype), dtype, requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones of shape ``size``, in the default float dtype unless ``dtype``.

    Examples
    --------
    >>> import visiongrad as vg
    >>> vg.ones((2,), requires_grad=True).requires_grad
    True
    """
    dtype = dtype or get_default_dtype()
    return _make(xp.ones(_size(size), dtype=dtype), dtype, requires_grad)


def full(size, fill_value, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """``size`` filled with ``fill_value``; its dtype follows the value (bool, int64, or
    the default float dtype) unless ``dtype`` is given.

    Examples
    --------
    >>> import visiongrad as vg
    >>> vg.full((2, 2), 3).data
    array([[3, 3],
           [3, 3]])
    """
    if dtype is None:
        dtype = (xp.bool_ if isinstance(fill_value, (bool, np.bool_)) else
                 xp.int64 if isinstance(fill_value, (int, np.integer)) else
                 get_default_dtype())
    return _make(xp.full(_size((size,)), fill_value, dtype=dtype), dtype, requires_grad)


def arange(start, end=None, step=1, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """[start, end) in steps of ``step`` (``arange(n)``: 0 .. n-1); int64 when every
    argument is an integer, else the default float dtype.

    Examples
    --------
    >>> import visiongrad as vg
    >>> vg.arange(4).data, vg.arange(0, 1, 0.25).data
    (array([0, 1, 2, 3]), array([0.  , 0.25, 0.5 , 0.75], dtype=float32))
    """
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be non-zero")
    if dtype is None:
        integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = xp.int64 if integral else get_default_dtype()
    return _make(xp.arange(start, end, step).astype(dtype), dtype,
                 requires_grad)


def linspace(start, end, steps: int, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """``steps`` values evenly spaced from ``start`` to ``end``, both included.

    Examples
    --------
    >>> import visiongrad as vg
    >>> vg.linspace(0, 1, 5).data
    array([0.  , 0.25, 0.5 , 0.75, 1.  ], dtype=float32)
    """
    if steps < 0:
        raise ValueError(f"linspace: steps must be non-negative, got {steps}")
    dtype = dtype or get_default_dtype()
    return _make(xp.linspace(start, end, steps).astype(dtype), dtype, requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """The identity matrix (n, n), or (n, m) with ones on the main diagonal.

    Examples
    --------
    >>> import visiongrad as vg
    >>> vg.eye(2, 3).data
    array([[1., 0., 0.],
           [0., 1., 0.]], dtype=float32)
    """
    dtype = dtype or get_default_dtype()
    n, m = _size((n, n if m is None else m))
    return _make(xp.eye(n, m, dtype=dtype), dtype, requires_grad)


def rand(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform on [0, 1), from the library's generator.

    Examples
    --------
    >>> import visiongrad as vg
    >>> _ = vg.manual_seed(0)
    >>> x = vg.rand(2, 3)
    >>> x.shape, bool((x.data >= 0).all() and (x.data < 1).all())
    ((2, 3), True)
    """
    dtype = np.dtype(dtype or get_default_dtype())
    return _make(get_generator().random(_size(size), dtype=dtype), dtype, requires_grad)


def randn(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal, from the library's generator (``manual_seed`` repeats a draw).

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> _ = vg.manual_seed(0); a = vg.randn(3)
    >>> _ = vg.manual_seed(0); b = vg.randn(3)
    >>> np.array_equal(a.data, b.data)
    True
    """
    dtype = np.dtype(dtype or get_default_dtype())
    return _make(get_generator().standard_normal(_size(size), dtype=dtype), dtype,
                 requires_grad)


def _like(x, dtype):
    shape = tuple(x.shape) if hasattr(x, "shape") else np.shape(x)
    return shape, dtype or getattr(x, "dtype", None) or get_default_dtype()


def zeros_like(x, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros of ``x``'s shape and dtype (a Tensor or an array).

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> vg.zeros_like(np.ones((2, 2), dtype=np.float64)).data.dtype
    dtype('float64')
    """
    shape, dtype = _like(x, dtype)
    return _make(xp.zeros(shape, dtype=dtype), dtype, requires_grad)


def ones_like(x, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones of ``x``'s shape and dtype.

    Examples
    --------
    >>> import visiongrad as vg
    >>> vg.ones_like(vg.zeros(3)).data
    array([1., 1., 1.], dtype=float32)
    """
    shape, dtype = _like(x, dtype)
    return _make(xp.ones(shape, dtype=dtype), dtype, requires_grad)


def full_like(x, fill_value, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` in ``x``'s shape and dtype.

    Examples
    --------
    >>> import visiongrad as vg
    >>> vg.full_like(vg.zeros(2), 7.5).data
    array([7.5, 7.5], dtype=float32)
    """
    shape, dtype = _like(x, dtype)
    return _make(xp.full(shape, fill_value, dtype=dtype), dtype, requires_grad)


def rand_like(x, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform on [0, 1) in ``x``'s shape and dtype, from the library's generator.

    Examples
    --------
    >>> import visiongrad as vg
    >>> vg.rand_like(vg.zeros(2, 5)).shape
    (2, 5)
    """
    shape, dtype = _like(x, dtype)
    return rand(shape, dtype=dtype, requires_grad=requires_grad)


def randn_like(x, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal in ``x``'s shape and dtype, from the library's generator.

    Examples
    --------
    >>> import visiongrad as vg
    >>> vg.randn_like(vg.zeros(4)).shape
    (4,)
    """
    shape, dtype = _like(x, dtype)
    return randn(shape, dtype=dtype, requires_grad=requires_grad)
