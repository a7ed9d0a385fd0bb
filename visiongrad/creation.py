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
    dtype = dtype or get_default_dtype()
    return _make(xp.zeros(_size(size), dtype=dtype), dtype, requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    dtype = dtype or get_default_dtype()
    return _make(xp.ones(_size(size), dtype=dtype), dtype, requires_grad)


def full(size, fill_value, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """``size`` filled with ``fill_value``; its dtype follows the value (bool, int64, or
    the default float dtype) unless ``dtype`` is given."""
    if dtype is None:
        dtype = (xp.bool_ if isinstance(fill_value, (bool, np.bool_)) else
                 xp.int64 if isinstance(fill_value, (int, np.integer)) else
                 get_default_dtype())
    return _make(xp.full(_size((size,)), fill_value, dtype=dtype), dtype, requires_grad)


def arange(start, end=None, step=1, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """[start, end) in steps of ``step`` (``arange(n)``: 0 .. n-1); int64 when every
    argument is an integer, else the default float dtype."""
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
    if steps < 0:
        raise ValueError(f"linspace: steps must be non-negative, got {steps}")
    dtype = dtype or get_default_dtype()
    return _make(xp.linspace(start, end, steps).astype(dtype), dtype, requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, requires_grad: bool = False) -> Tensor:
    dtype = dtype or get_default_dtype()
    n, m = _size((n, n if m is None else m))
    return _make(xp.eye(n, m, dtype=dtype), dtype, requires_grad)


def rand(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform on [0, 1), from the library's generator."""
    dtype = np.dtype(dtype or get_default_dtype())
    return _make(get_generator().random(_size(size), dtype=dtype), dtype, requires_grad)


def randn(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal, from the library's generator."""
    dtype = np.dtype(dtype or get_default_dtype())
    return _make(get_generator().standard_normal(_size(size), dtype=dtype), dtype,
                 requires_grad)


def _like(x, dtype):
    shape = tuple(x.shape) if hasattr(x, "shape") else np.shape(x)
    return shape, dtype or getattr(x, "dtype", None) or get_default_dtype()


def zeros_like(x, *, dtype=None, requires_grad: bool = False) -> Tensor:
    shape, dtype = _like(x, dtype)
    return _make(xp.zeros(shape, dtype=dtype), dtype, requires_grad)


def ones_like(x, *, dtype=None, requires_grad: bool = False) -> Tensor:
    shape, dtype = _like(x, dtype)
    return _make(xp.ones(shape, dtype=dtype), dtype, requires_grad)


def full_like(x, fill_value, *, dtype=None, requires_grad: bool = False) -> Tensor:
    shape, dtype = _like(x, dtype)
    return _make(xp.full(shape, fill_value, dtype=dtype), dtype, requires_grad)


def rand_like(x, *, dtype=None, requires_grad: bool = False) -> Tensor:
    shape, dtype = _like(x, dtype)
    return rand(shape, dtype=dtype, requires_grad=requires_grad)


def randn_like(x, *, dtype=None, requires_grad: bool = False) -> Tensor:
    shape, dtype = _like(x, dtype)
    return randn(shape, dtype=dtype, requires_grad=requires_grad)
