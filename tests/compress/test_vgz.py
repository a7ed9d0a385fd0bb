"""Relative indices with fillers, and the .vgz file: round trips, and crafted files refused
with one clear error and no allocation out of proportion to the file."""

import json
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from visiongrad.compress.sparse import dense_symbols, pack_bits, relative_indices, unpack_bits
from visiongrad.compress.vgz import (
    EXPANSION_ALLOWANCE,
    MAGIC,
    MAX_EXPANSION,
    VgzError,
    decode_vgz,
    encode_vgz,
    read_vgz,
)


def test_relative_indices_example_of_the_docstring():
    symbols = np.zeros(14, dtype=np.int64)
    symbols[1], symbols[12] = 5, 2
    gaps, entries = relative_indices(symbols, 3)
    assert gaps.tolist() == [1, 7, 2] and entries.tolist() == [5, 0, 2]
    np.testing.assert_array_equal(dense_symbols(gaps, entries, 14), symbols)


@pytest.mark.parametrize("seed", range(8))
def test_relative_indices_round_trip_and_bound_the_size(seed):
    rng = np.random.default_rng(seed)
    size, bits = int(rng.integers(1, 3000)), int(rng.integers(1, 9))
    symbols = np.where(rng.random(size) < rng.uniform(0, 0.3), rng.integers(1, 32, size), 0)
    gaps, entries = relative_indices(symbols, bits)
    assert gaps.max(initial=0) < 2 ** bits
    covered = int(np.sum(gaps + 1))
    assert covered <= size < covered + 2 ** bits
    np.testing.assert_array_equal(dense_symbols(gaps, entries, size), symbols)
    assert np.count_nonzero(entries) == np.count_nonzero(symbols)


def test_bit_packing_round_trips():
    values = np.random.default_rng(0).integers(0, 32, 101)
    data = pack_bits(values, 5)
    assert len(data) == -(-101 * 5 // 8)
    np.testing.assert_array_equal(unpack_bits(data, 5, 101), values)


def clustered_state(seed=0, shape=(30, 40)):
    rng = np.random.default_rng(seed)
    codebook = rng.standard_normal(7).astype(np.float32)
    weight = codebook[rng.integers(0, 7, shape)]
    weight[rng.random(weight.shape) < 0.85] = 0
    conv = codebook[rng.integers(0, 7, (4, 2, 3, 3))]
    return {"fc.weight": weight, "fc.bias": rng.standard_normal(30).astype(np.float32),
            "conv.weight": conv, "bn.num_batches_tracked": np.array(3, dtype=np.int64)}


CONFIG = {"model": "m", "classes": ["a", "b"]}
BITS = {"fc.weight": 3, "conv.weight": 4}


@pytest.mark.parametrize("huffman", [True, False])
def test_round_trip_is_exact(tmp_path, huffman):
    state = clustered_state()
    data, entries = encode_vgz(state, CONFIG, BITS, use_huffman=huffman)
    assert [entry["stored"] for entry in entries] == ["float32", "float32", "float32", "int64"]
    (tmp_path / "m.vgz").write_bytes(data)
    decoded, config = read_vgz(tmp_path / "m.vgz")
    assert config == CONFIG and list(decoded) == list(state)
    for name, value in state.items():
        np.testing.assert_array_equal(decoded[name], value)
        assert decoded[name].dtype == value.dtype and decoded[name].shape == value.shape
    assert sum(entry["bytes"] for entry in entries) + 8 < len(data)
    assert [entry["encoding"] for entry in entries] == ["shared", "raw", "shared", "raw"]


def test_huffman_makes_the_file_smaller_and_the_sparse_weight_much_smaller():
    state = clustered_state(shape=(300, 400))
    plain, _ = encode_vgz(state, CONFIG, BITS, use_huffman=False)
    coded, entries = encode_vgz(state, CONFIG, BITS, use_huffman=True)
    assert len(coded) < len(plain)
    assert 4 * state["fc.weight"].size / entries[0]["bytes"] > 10


def test_half_stores_codebooks_and_floats_in_float16():
    state = clustered_state()
    full, _ = encode_vgz(state, CONFIG, BITS)
    data, entries = encode_vgz(state, CONFIG, BITS, half=True)
    assert [entry["stored"] for entry in entries] == ["float16", "float16", "float16", "int64"]
    assert entries[1]["bytes"] == 2 * 30 and entries[0]["sections"][0] == 2 * 7
    decoded, _ = decode_vgz(data)
    for name, value in state.items():
        assert decoded[name].dtype == value.dtype
        np.testing.assert_allclose(decoded[name], value, rtol=1e-3)
        np.testing.assert_array_equal(decoded[name] == 0, value == 0)
    assert len(data) < len(full)


def test_an_unclustered_weight_is_refused_on_writing():
    with pytest.raises(ValueError, match="cluster it first"):
        encode_vgz({"w": np.arange(1, 20, dtype=np.float32)}, CONFIG, {"w": 3})


def craft(header: dict, body: bytes = b"") -> bytes:
    compressed = zlib.compress(json.dumps(header).encode())
    return MAGIC + struct.pack("<I", len(compressed)) + compressed + body


def shared(name="w", shape=(64,), entries=8, sections=(4, 1, 1), **extra):
    return {"name": name, "shape": list(shape), "dtype": "float32", "stored": "float32",
            "encoding": "shared", "coding": "huffman", "cluster_bits": 5, "index_bits": 4,
            "centroids": 1, "entries": entries, "sections": list(sections),
            "gap_lengths": [1, 1], "symbol_lengths": [1, 1], **extra}


def raw(name="b", shape=(1,), sections=(4,), **extra):
    return {"name": name, "shape": list(shape), "dtype": "float32", "stored": "float32",
            "encoding": "raw", "sections": list(sections), **extra}


def header(*tensors):
    return {"format": "visiongrad-vgz/1", "config": {}, "tensors": list(tensors)}


CRAFTED = {
    "not a vgz": (b"PK\x03\x04" + bytes(20), "does not start with"),
    "header size lies": (MAGIC + struct.pack("<I", 10 ** 6) + b"x" * 50, "header claims"),
    "header not zlib": (MAGIC + struct.pack("<I", 4) + b"abcd", "not zlib"),
    "header bomb": (MAGIC + struct.pack("<I", len(zlib.compress(b" " * 5_000_000)))
                    + zlib.compress(b" " * 5_000_000), "longer than"),
    "NaN in header": (MAGIC + struct.pack("<I", len(zlib.compress(b'{"a": NaN}')))
                      + zlib.compress(b'{"a": NaN}'), "strict JSON"),
    "raw size lies": (craft(header(raw(shape=(10 ** 9,))), b"1234"),
                      "needs 4000000000 bytes"),
    "truncated section": (craft(header(raw(shape=(4,), sections=(16,))), b"12345678"),
                          "claim 16 bytes but 8 follow"),
    "padded file": (craft(header(raw()), b"12345678"), "claim 4 bytes but 8 follow"),
    "shape beyond its entries": (craft(header(shared(shape=(10 ** 8,)))), "cannot cover"),
    "more entries than bits": (craft(header(shared(entries=9)), bytes(6)), "entries must be"),
    "codes decode past the end": (
        craft(header(shared(shape=(8,), entries=8, gap_lengths=[2, 2, 2, 2])), bytes(6)),
        "past the end"),
    "gaps do not cover the shape": (
        craft(header(shared(shape=(20,), entries=2)), bytes(6)), "cover 2 positions"),
    "bad dtype": (craft(header(raw(dtype="object")), b"1234"), "dtype"),
    "dtype a list (found by the fuzz test)": (craft(header(raw(dtype=[])), b"1234"), "dtype"),
    "encoding a list": (craft(header(raw(encoding=[])), b"1234"), "encoding"),
    "int64 stored as float16": (craft(header(raw(dtype="int64", stored="float16",
                                                 sections=(2,))), b"12"), "cannot store"),
    "negative shape": (craft(header(raw(shape=(-1,))), b"1234"), "shape"),
    "duplicate names": (craft(header(raw(), raw()), b"12345678"), "same name"),
    "code lengths not a prefix code": (
        craft(header(shared(shape=(8,), entries=8, gap_lengths=[1, 1, 1])), bytes(6)),
        "Kraft"),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_files_are_refused_with_one_error_naming_the_file(tmp_path, case):
    data, fragment = CRAFTED[case]
    path = tmp_path / "crafted.vgz"
    path.write_bytes(data)
    with pytest.raises(VgzError, match=fragment) as caught:
        read_vgz(path)
    assert str(path) in str(caught.value)


def test_allocation_beyond_the_expansion_limit_is_refused_before_it_happens():
    # 1 entry of a 16-bit gap may cover 65,536 weights: legal, but not for 8 bytes x 40000
    entries = 8
    body = bytes(4) + bytes(1) + bytes(1)
    size = entries * 2 ** 16 + 100
    data = craft(header(shared(shape=(size,), entries=entries, index_bits=16)), body)
    assert 4 * size > MAX_EXPANSION * len(data) + EXPANSION_ALLOWANCE
    with pytest.raises(VgzError, match="more than 1024 times"):
        decode_vgz(data, "x.vgz")


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.vgz"):
        read_vgz(tmp_path / "nope.vgz")


VALID = encode_vgz(clustered_state(), CONFIG, BITS, use_huffman=True)[0]
VALID_FIXED = encode_vgz(clustered_state(), CONFIG, BITS, use_huffman=False)[0]
VALID_HALF = encode_vgz(clustered_state(), CONFIG, BITS, half=True)[0]


def _header_of(data):
    (size,) = struct.unpack("<I", data[4:8])
    return json.loads(zlib.decompress(data[8:8 + size])), data[8 + size:]


FIELD_VALUES = st.one_of(st.integers(-2 ** 40, 2 ** 40), st.text(max_size=5), st.none(),
                         st.lists(st.integers(-5, 2 ** 20), max_size=6), st.booleans())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from([VALID, VALID_FIXED, VALID_HALF]), tensor=st.integers(0, 3),
       key=st.sampled_from(["shape", "entries", "sections", "index_bits", "cluster_bits", "stored",
                            "centroids", "gap_lengths", "symbol_lengths", "dtype", "coding",
                            "encoding", "name"]),
       value=FIELD_VALUES, cut=st.integers(0, 200), flips=st.lists(
           st.tuples(st.integers(0, 10 ** 6), st.integers(1, 255)), max_size=3))
def test_fuzzed_files_load_or_fail_cleanly_within_bounded_memory(base, tensor, key, value,
                                                                 cut, flips):
    header_dict, body = _header_of(base)
    header_dict["tensors"][tensor][key] = value
    body = bytearray(body[:len(body) - cut] if cut < len(body) else body)
    for position, mask in flips:
        if body:
            body[position % len(body)] ^= mask
    data = craft(header_dict, bytes(body))
    tracemalloc.start()
    try:
        state, _ = decode_vgz(data, "fuzzed.vgz")
        assert all(isinstance(array, np.ndarray) for array in state.values())
    except VgzError as error:
        assert str(error).startswith("fuzzed.vgz is not a readable .vgz file: ")
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 64 * len(data) + 4 * EXPANSION_ALLOWANCE
