"""Canonical Huffman coding of small-integer streams (the last stage of Deep Compression).

A code is given by one length per symbol (0 = the symbol does not occur). Canonical codes
follow from the lengths alone (DEFLATE's rule): symbols sorted by (length, symbol) take
consecutive code values, and the value is shifted left by one each time the length grows.
So a coded stream stores only its lengths, and the decoder rebuilds the same codes.

Bits are written most significant first; the last byte is padded with zero bits.

>>> lengths = code_lengths(np.bincount(stream, minlength=32))  # doctest: +SKIP
>>> data = encode(stream, lengths); decode(data, lengths, len(stream))
"""

from __future__ import annotations

import heapq

import numpy as np

MAX_CODE_LENGTH = 24
"""Longest code written or accepted; longer optimal codes are flattened (frequencies
halved) until they fit. Real streams of a few million symbols never come close."""


class HuffmanError(ValueError):
    """A code or a coded stream that cannot be decoded (bad lengths, ran past the end).

    Examples
    --------
    >>> from visiongrad.compress import HuffmanError
    >>> from visiongrad.compress import decode
    >>> try:
    ...     decode(b'', np.array([1, 1]), 3)
    ... except HuffmanError as error:
    ...     print(type(error).__name__)
    HuffmanError
    """


def _optimal_lengths(counts: np.ndarray) -> np.ndarray:
    """Huffman's algorithm on the symbols with a positive count: repeatedly merge the two
    lightest groups; each merge adds one bit to every symbol in both groups."""
    lengths = np.zeros(counts.size, dtype=np.int64)
    heap = [(int(count), symbol, [symbol]) for symbol, count in enumerate(counts) if count > 0]
    if len(heap) == 1:
        lengths[heap[0][1]] = 1
        return lengths
    heapq.heapify(heap)
    while len(heap) > 1:
        weight_a, tie_a, members_a = heapq.heappop(heap)
        weight_b, tie_b, members_b = heapq.heappop(heap)
        lengths[members_a] += 1
        lengths[members_b] += 1
        heapq.heappush(heap, (weight_a + weight_b, min(tie_a, tie_b), members_a + members_b))
    return lengths


def code_lengths(counts, max_length: int = MAX_CODE_LENGTH) -> np.ndarray:
    """Optimal prefix-code lengths for symbol ``counts`` (0 where a count is 0), no code
    longer than ``max_length`` (by flattening the counts, ``c -> c // 2 + 1``, until the
    optimal code fits; rarely needed and then nearly optimal).

    Examples
    --------
    >>> from visiongrad.compress import code_lengths
    >>> code_lengths([10, 5, 1, 1, 0])
    array([1, 2, 3, 3, 0])
    """
    counts = np.asarray(counts, dtype=np.int64)
    if counts.ndim != 1 or (counts < 0).any():
        raise ValueError("counts must be a 1-D array of non-negative integers")
    lengths = _optimal_lengths(counts)
    while lengths.max(initial=0) > max_length:
        counts = np.where(counts > 0, counts // 2 + 1, 0)
        lengths = _optimal_lengths(counts)
    return lengths


def canonical_codes(lengths) -> np.ndarray:
    """The canonical code value of every symbol (0 where its length is 0).

    Examples
    --------
    >>> from visiongrad.compress import canonical_codes
    >>> canonical_codes([1, 2, 3, 3])
    array([0, 2, 6, 7])
    """
    lengths = check_lengths(lengths)
    codes = np.zeros(lengths.size, dtype=np.int64)
    code, previous = 0, 0
    for symbol in np.lexsort((np.arange(lengths.size), lengths)):
        length = int(lengths[symbol])
        if length == 0:
            continue
        code <<= length - previous
        codes[symbol], code, previous = code, code + 1, length
    return codes


def check_lengths(lengths) -> np.ndarray:
    """``lengths`` as an int64 array after checking that they form a prefix code: each in
    [0, MAX_CODE_LENGTH] and Kraft's sum of 2**-length at most 1."""
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or lengths.dtype.kind not in "iu":
        raise HuffmanError("code lengths must be a 1-D array of integers")
    lengths = lengths.astype(np.int64)
    if lengths.size and (lengths.min() < 0 or lengths.max() > MAX_CODE_LENGTH):
        raise HuffmanError(f"code lengths must lie in [0, {MAX_CODE_LENGTH}], got "
                           f"[{lengths.min()}, {lengths.max()}]")
    used = lengths[lengths > 0]
    if np.sum(2.0 ** (MAX_CODE_LENGTH - used)) > 2.0 ** MAX_CODE_LENGTH:
        raise HuffmanError("code lengths do not form a prefix code (Kraft sum above 1)")
    return lengths


def encoded_bits(symbols: np.ndarray, lengths) -> int:
    """Number of bits :func:`encode` writes for ``symbols`` (before the byte padding)."""
    return int(np.asarray(lengths, dtype=np.int64)[symbols].sum())


def encode(symbols, lengths) -> bytes:
    """The canonical Huffman coding of ``symbols`` (integers in [0, len(lengths))).

    Every symbol must have a positive length. Vectorised: bit k of symbol i's code is
    ``(code >> (length - 1 - k)) & 1``, laid out at the cumulative offsets of the lengths.

    Examples
    --------
    >>> from visiongrad.compress import encode
    >>> from visiongrad.compress import decode
    >>> lengths = np.array([1, 2, 3, 3])
    >>> data = encode([0, 1, 0, 3, 2], lengths)
    >>> len(data), decode(data, lengths, 5)
    (2, array([0, 1, 0, 3, 2]))
    """
    symbols = np.asarray(symbols, dtype=np.int64).ravel()
    lengths = check_lengths(lengths)
    if symbols.size and (symbols.min() < 0 or symbols.max() >= lengths.size
                         or (lengths[symbols] == 0).any()):
        raise ValueError("encode: a symbol has no code (length 0 or out of range)")
    codes, sizes = canonical_codes(lengths)[symbols], lengths[symbols]
    owner = np.repeat(np.arange(symbols.size), sizes)
    position = np.arange(owner.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    bits = (codes[owner] >> (sizes[owner] - 1 - position)) & 1
    return np.packbits(bits.astype(np.uint8)).tobytes()


def decode(data: bytes, lengths, count: int) -> np.ndarray:
    """Decode ``count`` symbols from ``data`` coded with the canonical code of ``lengths``.

    Reads one bit at a time: the code read so far, minus the first code of its length,
    indexes the symbols of that length when it is smaller than their number.

    Raises
    ------
    HuffmanError
        If the lengths are not a prefix code, the stream ends before ``count`` symbols
        (a code running past the end), or a bit pattern matches no code.

    Examples
    --------
    >>> from visiongrad.compress import decode
    >>> from visiongrad.compress import encode
    >>> lengths = np.array([1, 2, 2])
    >>> decode(encode([2, 0, 1], lengths), lengths, 3)
    array([2, 0, 1])
    """
    lengths = check_lengths(lengths)
    if count > 8 * len(data):
        raise HuffmanError(f"{count} symbols cannot fit in {len(data)} bytes")
    ordered = np.lexsort((np.arange(lengths.size), lengths))
    ordered = ordered[lengths[ordered] > 0].tolist()
    per_length = np.bincount(lengths[lengths > 0], minlength=MAX_CODE_LENGTH + 1).tolist()
    first_code, first_index, code = [0] * (MAX_CODE_LENGTH + 1), [0] * (MAX_CODE_LENGTH + 1), 0
    for length in range(1, MAX_CODE_LENGTH + 1):
        code = (code + per_length[length - 1]) << 1
        first_code[length] = code
        first_index[length] = first_index[length - 1] + per_length[length - 1]
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8)).tolist()
    out, position, total = [], 0, len(bits)
    for _ in range(count):
        code = length = 0
        while True:
            if position == total:
                raise HuffmanError("the coded stream ends inside a code (it runs past the "
                                   "end of its section)")
            code, length, position = (code << 1) | bits[position], length + 1, position + 1
            offset = code - first_code[length]
            if 0 <= offset < per_length[length]:
                out.append(ordered[first_index[length] + offset])
                break
            if length == MAX_CODE_LENGTH:
                raise HuffmanError("a bit pattern in the coded stream matches no code")
    return np.asarray(out, dtype=np.int64)
