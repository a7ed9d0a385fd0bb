"""The activation layout: NCHW axes, channels-last memory. Written here once.

THE CONTRACT. Every image tensor has NCHW axes (N, C, H, W), as in PyTorch and the course,
whatever its memory order. A convolution's product gives its output as rows (N Ho Wo, F),
which is the output in NHWC order, so a convolution returns that memory as it is, seen
with NCHW axes (``as_nchw``; PyTorch calls this memory format ``channels_last``). No step
then copies activations between the two orders:

- who creates it: ``conv2d`` and ``conv_transpose2d`` (output and input gradient), and the
  ops below when given it;
- what every op must accept: any memory order, NCHW axes. Shapes, values and meanings
  never depend on the memory order; only speed does;
- what every op must produce: elementwise ops (ReLU, ...), batch norm and pooling keep
  the memory order of their input (``empty_nchw``, ``channel_rows``/``from_channel_rows``,
  ``xp.empty_like``); a gradient has its input's memory order where that is free;
- who reads it: im2col reads channels-last memory with a plain copy (``contiguous_rows``)
  and the convolution's backward reads x_rows as a view of x.

Per-channel arithmetic on such an activation works on (M, C) rows, M = N * H * W
(``channel_rows``, a view): a per-channel bias, scale or sum is then a broadcast along
rows or a column sum, which NumPy runs slowly when C is small (16-64 values per inner
loop); ``widen`` folds k rows into one so every loop runs along k C values. The elementwise
passes run in parts on every core (``map_rows``).
"""

from __future__ import annotations

import math

from ..backend import array_module
from .threads import in_parts, map_rows


def channels_last(x):
    """NCHW ``x`` as its (N, H, W, C) transpose: a view, contiguous when x is channels-last
    in memory (as every convolution's output is).

    Examples
    --------
    >>> from visiongrad import accel
    >>> x = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)   # N, C, H, W
    >>> accel.channels_last(x).shape
    (1, 3, 4, 2)
    """
    return x.transpose(0, 2, 3, 1)


def as_nchw(rows):
    """An (N, H, W, C) array seen with NCHW axes: channels-last memory.

    Examples
    --------
    >>> from visiongrad import accel
    >>> x = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)   # N, C, H, W
    >>> back = accel.as_nchw(accel.contiguous_rows(x))
    >>> back.shape, bool(np.array_equal(back, x)), accel.is_channels_last(back)
    ((1, 2, 3, 4), True, True)
    """
    return rows.transpose(0, 3, 1, 2)


def is_channels_last(x) -> bool:
    """Whether 4-D ``x`` is channels-last in memory (its NHWC transpose is contiguous).

    Examples
    --------
    >>> from visiongrad import accel
    >>> x = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)   # N, C, H, W
    >>> accel.is_channels_last(x), accel.is_channels_last(accel.as_nchw(accel.contiguous_rows(x)))
    (False, True)
    """
    return x.ndim == 4 and channels_last(x).flags.c_contiguous


def empty_nchw(shape, dtype, in_channels_last: bool, like=None):
    """An uninitialised NCHW array, channels-last in memory if asked, of ``like``'s array
    namespace (NumPy's by default).

    Examples
    --------
    >>> from visiongrad import accel
    >>> y = accel.empty_nchw((2, 3, 4, 5), np.float32, in_channels_last=True)
    >>> y.shape, accel.is_channels_last(y)
    ((2, 3, 4, 5), True)
    """
    xp = array_module(like)
    if not in_channels_last:
        return xp.empty(shape, dtype=dtype)
    n, c, h, w = shape
    return as_nchw(xp.empty((n, h, w, c), dtype=dtype))


def contiguous_rows(x):
    """NCHW ``x`` as contiguous channels-last rows (N, H, W, C): a view when x is
    channels-last in memory (as every convolution's output is), else one copy.

    Examples
    --------
    >>> from visiongrad import accel
    >>> x = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)   # N, C, H, W
    >>> rows = accel.contiguous_rows(x)
    >>> rows.shape, rows.flags['C_CONTIGUOUS'], rows[0, 0, 1]
    ((1, 3, 4, 2), True, array([ 1., 13.], dtype=float32))
    """
    return array_module(x).ascontiguousarray(channels_last(x))


def contiguous_in_parts(view):
    """A C-contiguous copy of ``view``, copied in parts along its first axis on every core
    (``in_parts``): a weight's reordering into the layout a kernel reads is a gather that
    runs at a fraction of memory speed, on one core in NumPy."""
    out = array_module(view).empty(view.shape, dtype=view.dtype)

    def part(rows):
        out[rows] = view[rows]

    in_parts(part, view.shape[0], view.nbytes)
    return out


def channel_rows(x):
    """(N, C, ...) ``x`` as (M, C) rows, M = N * prod(spatial): a view when x is
    channels-last in memory (a convolution's output) or 2-D, one copy otherwise.

    Examples
    --------
    >>> from visiongrad import accel
    >>> x = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)   # N, C, H, W
    >>> accel.channel_rows(x).shape
    (12, 2)
    """
    return array_module(x).moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def from_channel_rows(rows, shape):
    """The inverse of ``channel_rows``: (M, C) rows seen as ``shape`` (N, C, ...), a view
    in channels-last memory.

    Examples
    --------
    >>> from visiongrad import accel
    >>> x = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)   # N, C, H, W
    >>> rows = accel.channel_rows(x)
    >>> bool(np.array_equal(accel.from_channel_rows(rows, x.shape), x))
    True
    """
    n, c, *spatial = shape
    return array_module(rows).moveaxis(rows.reshape(n, *spatial, c), -1, 1)


WIDTH = 1024
"""How many rows ``widen`` folds into one (at most): longer rows mean fewer restarts of
NumPy's inner loop."""


def widen(rows):
    """(M, C) rows as the view (M / k, k C), k = gcd(M, ``WIDTH``), and k.

    NumPy runs a broadcast op or a sum along rows of C = 16 or 32 values at a fraction of
    its speed on long rows (the loop restarts every C values); on the wide view the same
    ops run along k C values, with per-channel vectors tiled k times (``tiled``) and sums
    folded back (``folded_sums``).
    """
    k = math.gcd(rows.shape[0], WIDTH)
    return rows.reshape(rows.shape[0] // k, k * rows.shape[1]), k


def tiled(per_channel, k):
    """A (C,) vector repeated k times, to broadcast along the rows of a ``widen`` view."""
    return array_module(per_channel).tile(per_channel, k)


def folded(per_column, k):
    """Sums over the k C columns of a ``widen`` view folded back to the C channels."""
    return per_column.reshape(k, -1).sum(axis=0)


def folded_sums(wide, k):
    """Per-channel sums of a ``widen`` view: its column sums (one BLAS product), folded."""
    return folded(array_module(wide).ones(wide.shape[0], dtype=wide.dtype) @ wide, k)


def sums_and_dots(wide, k, other, subtract=None):
    """Per-channel sum(v) and sum(v * other) of v = wide (or v = wide - ``subtract``, a
    per-channel vector, then also written into ``other``), in one pass per core: each part
    is summed while it is still in cache from being read (or written)."""
    shift = None if subtract is None else tiled(subtract, k)
    xp = array_module(wide)

    def part(rows):
        values = wide[rows] if shift is None else xp.subtract(wide[rows], shift,
                                                              out=other[rows])
        return values.sum(axis=0), xp.einsum("mk,mk->k", values, other[rows])

    parts = in_parts(part, wide.shape[0], 2 * wide.nbytes)
    return folded(sum(s for s, _ in parts), k), folded(sum(d for _, d in parts), k)


def scale_and_shift(values, scale, shift, out):
    """out = values * scale + shift (one block of a ``map_rows`` pass)."""
    array_module(values).multiply(values, scale, out=out)
    out += shift


def scale_both_and_shift(first, first_scale, second, second_scale, shift, out):
    """out = first * first_scale + second * second_scale + shift (one block)."""
    array_module(first).multiply(first, first_scale, out=out)
    out += second * second_scale
    out += shift


def add_per_channel(rows, per_channel):
    """rows += per_channel, in place, for (M, C) rows and a (C,) vector."""
    wide, k = widen(rows)
    map_rows(array_module(rows).add, wide, wide, tiled(per_channel, k))
