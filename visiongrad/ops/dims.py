"""Axis arguments: PyTorch's dims (negative ones counted from the end) as NumPy axes, with
errors that name the bad dim, shared by the reductions, shape ops, indexing and softmax."""

from __future__ import annotations


def normalize_dim(dim: int, ndim: int, name: str = "dim") -> int:
    """``dim`` in [0, ndim), accepting PyTorch's negative dims; a clear error otherwise.

    A 0-d tensor accepts dims 0 and -1, as in PyTorch."""
    if isinstance(dim, bool) or not isinstance(dim, int) and not hasattr(dim, "__index__"):
        raise TypeError(f"{name} must be an integer, got {dim!r}")
    bound = max(ndim, 1)
    if not -bound <= dim < bound:
        raise ValueError(f"{name} {dim} is out of range for a tensor with {ndim} dimensions")
    return int(dim) % bound


def normalize_dims(dims, ndim: int, name: str = "dim") -> tuple[int, ...]:
    """A dim or sequence of dims as distinct non-negative dims."""
    dims = (dims,) if not isinstance(dims, (tuple, list)) else tuple(dims)
    out = tuple(normalize_dim(d, ndim, name) for d in dims)
    if len(set(out)) != len(out):
        raise ValueError(f"{name} {dims} repeats a dimension")
    return out


def reduction_axis(x, axis):
    """``axis`` for reducing ``x``; a 0-d tensor reduces over 0, -1 or () as over None.

    PyTorch lets a 0-d tensor be reduced over dim 0 or -1 (a no-op); NumPy refuses some.
    """
    if x.ndim or axis is None:
        return axis
    if axis in (0, -1, (), (0,), (-1,)):
        return None
    raise ValueError(f"axis {axis} is out of range for a 0-d tensor (use 0, -1 or None)")
