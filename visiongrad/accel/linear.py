"""The linear layer's forward product for a few rows of input (``kernels/few_rows_linear.c``):
out = x weight^T + bias with the weight read in place, for the shapes where OpenBLAS,
which copies the whole weight into packed panels first, is slower.

``ops/linear.py``'s ``Linear`` asks ``linear_few_rows`` once per forward pass; None means
the case does not fit and the op runs its NumPy reference, ``x @ weight.T + bias``, the
one this is tested against (tests/accel/test_linear.py).

Where it fits (``FEW_ROWS``, ``MIN_WEIGHT_SIZE``), as measured against NumPy's OpenBLAS on
one core (``python -m benchmarks.few_rows_linear``): the kernel takes less time from 2 to
32 rows (VGG's classifier at batch 32, 25088 -> 4096, and its 4096 -> 1000 layer), about
as long at 64 rows and longer from there on; longer for a weight of a few thousand
numbers (the call costs more than the product), and as long for one row (OpenBLAS's
matrix-vector product).
"""

from __future__ import annotations

from ..backend import is_host, xp
from .native import LINEAR_FEW_ROWS
from .threads import in_parts

FEW_ROWS = range(2, 33)
"""The row counts (the batch) the kernel takes."""

MIN_WEIGHT_SIZE = 1 << 16
"""The fewest weights (in_features x out_features) it takes."""


def _address(a) -> int:
    return a.__array_interface__["data"][0]


def linear_few_rows(x, weight, bias=None):
    """x (..., K) @ weight (N, K)^T + bias (N,) as a new (..., N) array, its columns cut
    into one part per core; None where the case does not fit: no kernel (or no AVX-512),
    arrays of another library, not all float32 in C order, M (the product of x's leading
    axes) outside ``FEW_ROWS`` or fewer than ``MIN_WEIGHT_SIZE`` weights.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad.accel.linear import linear_few_rows
    >>> x, w = np.ones((4, 512), np.float32), np.ones((256, 512), np.float32)
    >>> out = linear_few_rows(x, w, np.zeros(256, np.float32))
    >>> out is None or (out.shape == (4, 256) and bool((out == 512).all()))
    True
    """
    N, K = weight.shape
    M = x.size // K if K else 0
    if LINEAR_FEW_ROWS is None or M not in FEW_ROWS or weight.size < MIN_WEIGHT_SIZE:
        return None  # the shape first: the most common reason, and the cheapest to check
    arrays = (x, weight) if bias is None else (x, weight, bias)
    if not is_host(*arrays) or not all(a.dtype == xp.float32 and a.flags.c_contiguous
                                       for a in arrays):
        return None
    out = xp.empty(x.shape[:-1] + (N,), dtype=xp.float32)
    bias_address = None if bias is None else _address(bias)

    def columns(part):
        return LINEAR_FEW_ROWS(_address(x), _address(weight), bias_address, _address(out),
                               M, K, N, part.start, part.stop)

    if min(in_parts(columns, N, weight.nbytes)) < 0:
        return None
    return out
