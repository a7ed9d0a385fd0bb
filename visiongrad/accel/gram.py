"""The two products of a Gram matrix on every core (``visualize.losses.Gram``'s fast path).

A style layer's features, channels-last, are rows R (N, M, C): many positions M = H W, few
channels C. OpenBLAS runs G = R^T R (its syrk, half a general product's work) on one
thread for such a shape, and the backward product R S (S = dG + dG^T, (C, C)) on two at a
fraction of their speed. Cutting the M rows into one part per core, each part's products
on one BLAS thread (``split_over_cores``), gives both every core:

    G = sum_p R_p^T R_p          (R_p: the rows of part p; a sum of C x C partial Grams)
    (R S)_p = R_p S              (each part writes its own rows of the result)

The op's own NumPy lines (one product each) stay the reference; the partial sums change
G only by float32 rounding.
"""

from __future__ import annotations

from ..backend import is_host, xp
from . import threads

MIN_BYTES = 1 << 18
"""Rows of at least this size are cut: each product does C multiply-adds per value read
(C >= 64 in a VGG), so rows a quarter of ``threads.PARALLEL_MIN_BYTES`` (a pass's threshold)
already repay the hand-off to a helper thread (VGG's relu5_1 at 256 x 256: 512 KiB)."""


def _row_parts(rows):
    """One slice of the M axis per core, or None where one thread does as well: another
    array library, one core, or rows under ``MIN_BYTES``."""
    cores = threads.available_cores()
    if not is_host(rows) or cores < 2 or rows.nbytes < MIN_BYTES:
        return None
    m = rows.shape[1]
    bounds = [m * i // cores for i in range(cores + 1)]
    return [slice(start, stop) for start, stop in zip(bounds, bounds[1:], strict=False)]


def gram_of_rows(rows):
    """G[n] = R_n^T R_n (N, C, C) for rows (N, M, C), summed over one part of the rows per
    core; None where the rows do not fit (``_row_parts``).

    Examples
    --------
    >>> from visiongrad import accel
    >>> rows = np.ones((1, 4, 2), np.float32)
    >>> g = accel.gram_of_rows(rows)   # None: too small to split
    >>> g is None or g.tolist() == [[[4.0, 4.0], [4.0, 4.0]]]
    True
    """
    parts = _row_parts(rows)
    if parts is None:
        return None
    partial = threads.split_over_cores(
        lambda part: rows[:, part].transpose(0, 2, 1) @ rows[:, part], parts)
    return sum(partial[1:], start=partial[0])


def rows_times(rows, matrix):
    """R_n @ S_n (N, M, C) for rows (N, M, C) and matrix (N, C, C), each core writing its
    own part of the rows; None where the rows do not fit (``_row_parts``).

    Examples
    --------
    >>> from visiongrad import accel
    >>> rows, matrix = np.ones((1, 4, 2), np.float32), np.eye(2, dtype=np.float32)[None]
    >>> product = accel.rows_times(rows, matrix)   # None: too small to split
    >>> product is None or product.tolist() == rows.tolist()
    True
    """
    parts = _row_parts(rows)
    if parts is None:
        return None
    out = xp.empty(rows.shape, dtype=xp.result_type(rows, matrix))
    threads.split_over_cores(
        lambda part: xp.matmul(rows[:, part], matrix, out=out[:, part]), parts)
    return out
