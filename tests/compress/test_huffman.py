"""Canonical Huffman coding against a straightforward tree build, and its refusals."""

import heapq
import itertools

import numpy as np
import pytest

from visiongrad.compress.huffman import (
    MAX_CODE_LENGTH,
    HuffmanError,
    canonical_codes,
    check_lengths,
    code_lengths,
    decode,
    encode,
    encoded_bits,
)


def tree_code(counts):
    """The textbook build: merge the two lightest trees; a symbol's code is its path."""
    tie = itertools.count()
    heap = [(count, next(tie), symbol) for symbol, count in enumerate(counts) if count]
    heapq.heapify(heap)
    if len(heap) == 1:
        return {heap[0][2]: "0"}
    while len(heap) > 1:
        a, b = heapq.heappop(heap), heapq.heappop(heap)
        heapq.heappush(heap, (a[0] + b[0], next(tie), (a[2], b[2])))
    codes = {}

    def walk(node, prefix):
        if isinstance(node, tuple):
            walk(node[0], prefix + "0")
            walk(node[1], prefix + "1")
        else:
            codes[node] = prefix
    walk(heap[0][2], "")
    return codes


def random_stream(seed):
    rng = np.random.default_rng(seed)
    alphabet = int(rng.integers(1, 40))
    weights = rng.dirichlet(np.full(alphabet, rng.uniform(0.1, 3)))
    return rng.choice(alphabet, size=int(rng.integers(1, 3000)), p=weights), alphabet


@pytest.mark.parametrize("seed", range(12))
def test_random_streams_round_trip_with_the_optimal_length(seed):
    stream, alphabet = random_stream(seed)
    counts = np.bincount(stream, minlength=alphabet)
    lengths = code_lengths(counts)
    reference = tree_code(counts)
    # the same total as the tree's code (both optimal; ties may swap lengths)
    assert encoded_bits(stream, lengths) == sum(len(reference[s]) for s in stream)
    data = encode(stream, lengths)
    assert len(data) == -(-encoded_bits(stream, lengths) // 8)
    np.testing.assert_array_equal(decode(data, lengths, stream.size), stream)


def test_canonical_codes_by_hand():
    # DEFLATE's example (RFC 1951, 3.2.2): lengths (3, 3, 3, 3, 3, 2, 4, 4)
    codes = canonical_codes([3, 3, 3, 3, 3, 2, 4, 4])
    lengths = [3, 3, 3, 3, 3, 2, 4, 4]
    assert [format(c, f"0{n}b") for c, n in zip(codes, lengths, strict=True)] == [
        "010", "011", "100", "101", "110", "00", "1110", "1111"]
    assert encode([5, 7], [3, 3, 3, 3, 3, 2, 4, 4]) == bytes([0b00111100])


def test_one_symbol_gets_one_bit():
    lengths = code_lengths([0, 7, 0])
    assert lengths.tolist() == [0, 1, 0]
    np.testing.assert_array_equal(decode(encode([1] * 9, lengths), lengths, 9), [1] * 9)


def test_long_codes_are_limited():
    fibonacci = [1, 1]
    while len(fibonacci) < 40:
        fibonacci.append(fibonacci[-1] + fibonacci[-2])
    lengths = code_lengths(fibonacci)
    assert lengths.max() <= MAX_CODE_LENGTH
    check_lengths(lengths)


def test_a_code_running_past_the_end_is_refused():
    lengths = code_lengths([5, 3, 1, 1])
    data = encode([3] * 8, lengths)  # 8 codes "111": 3 bytes
    np.testing.assert_array_equal(decode(data, lengths, 8), [3] * 8)
    with pytest.raises(HuffmanError, match="past the end"):
        decode(data[:2], lengths, 8)  # the sixth code starts in bit 16 of 16
    with pytest.raises(HuffmanError, match="cannot fit"):
        decode(b"\x00", lengths, 9)


def test_lengths_that_are_no_prefix_code_are_refused():
    with pytest.raises(HuffmanError, match="Kraft"):
        check_lengths([1, 1, 1])
    with pytest.raises(HuffmanError, match="lie in"):
        check_lengths([MAX_CODE_LENGTH + 1, 1])
    with pytest.raises(HuffmanError, match="integers"):
        check_lengths([1.0, 1.0])


def test_bits_matching_no_code_are_refused():
    lengths = [1, 2]  # codes 0 and 10; 11... matches nothing
    with pytest.raises(HuffmanError, match="matches no code"):
        decode(b"\xff\xff\xff\xff", lengths, 2)


def test_encode_refuses_symbols_without_a_code():
    with pytest.raises(ValueError, match="has no code"):
        encode([2], [1, 1, 0])
