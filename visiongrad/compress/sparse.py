"""Sparse positions as relative indices (Han et al., 2016, figure 2) and fixed-width bit
packing.

A flattened layer's non-zero entries are stored in order, each with the number of zeros
before it (its gap from the previous entry). Gaps are ``index_bits`` b wide, so at most
``2**b - 1``; a longer run of zeros is broken by *filler* entries: a zero stored as if it
were a weight (symbol 0) after ``2**b - 1`` zeros. Trailing zeros get fillers too, until
fewer than ``2**b`` remain, so a layer of ``size`` weights always satisfies
``covered <= size < covered + 2**b`` with ``covered = sum(gap + 1)`` (which lets a reader
bound the layer's size by its number of entries).

Example with b = 3 (gaps up to 7): positions 1 and 12 hold symbols 5 and 2 ->
gaps [1, 7, 2], symbols [5, 0, 2] (the middle entry is a filler at position 9).
"""

from __future__ import annotations

import numpy as np


def relative_indices(symbols: np.ndarray, index_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """``(gaps, entry_symbols)`` of a flattened symbol array, fillers included (symbol 0
    is zero). Vectorised: a gap g becomes ``g // 2**b`` fillers of gap ``2**b - 1`` and
    the entry itself with gap ``g % 2**b``.

    Examples
    --------
    >>> from visiongrad.compress import relative_indices
    >>> symbols = np.array([0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 7])
    >>> gaps, entries = relative_indices(symbols, index_bits=2)    # gaps of at most 3
    >>> gaps, entries
    (array([2, 3, 3]), array([5, 0, 7]))
    """
    if not 1 <= index_bits <= 16:
        raise ValueError(f"index bits must be in [1, 16], got {index_bits}")
    symbols = np.asarray(symbols).ravel()
    stride = 2 ** index_bits
    positions = np.flatnonzero(symbols)
    zeros_before = np.diff(positions, prepend=-1) - 1
    trailing = symbols.size - 1 - (positions[-1] if positions.size else -1)
    fillers = np.append(zeros_before // stride, trailing // stride)
    gaps = np.full(int(fillers.sum()) + positions.size, stride - 1, dtype=np.int64)
    entry_symbols = np.zeros(gaps.size, dtype=np.int64)
    real = np.cumsum(fillers[:-1] + 1) - 1  # where each real entry lands, after its fillers
    gaps[real] = zeros_before % stride
    entry_symbols[real] = symbols[positions]
    return gaps, entry_symbols


def dense_symbols(gaps: np.ndarray, entry_symbols: np.ndarray, size: int) -> np.ndarray:
    """Inverse of :func:`relative_indices`: the flat symbol array of ``size`` entries.
    The caller checks that ``sum(gaps + 1) <= size``.

    Examples
    --------
    >>> from visiongrad.compress import dense_symbols
    >>> from visiongrad.compress import relative_indices
    >>> symbols = np.array([0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 7])
    >>> gaps, entries = relative_indices(symbols, index_bits=2)
    >>> dense_symbols(gaps, entries, symbols.size)
    array([0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 7])
    """
    out = np.zeros(size, dtype=np.int64)
    out[np.cumsum(np.asarray(gaps, dtype=np.int64) + 1) - 1] = entry_symbols
    return out


def pack_bits(values: np.ndarray, bits: int) -> bytes:
    """Each value as ``bits`` bits, most significant first, packed into bytes."""
    values = np.asarray(values, dtype=np.int64).ravel()
    shifts = np.arange(bits - 1, -1, -1)
    return np.packbits(((values[:, None] >> shifts) & 1).astype(np.uint8).ravel()).tobytes()


def unpack_bits(data: bytes, bits: int, count: int) -> np.ndarray:
    """The first ``count`` values of ``bits`` bits each from ``data`` (the caller checks
    that ``data`` holds ``count * bits`` bits)."""
    flat = np.unpackbits(np.frombuffer(data, dtype=np.uint8))[:count * bits]
    return flat.reshape(count, bits).astype(np.int64) @ (1 << np.arange(bits - 1, -1, -1))
