"""Both restricted unpicklers (CIFAR's and the PyTorch checkpoint reader's) against pickles
generated opcode by opcode: any sequence of allowed and refused globals, memo gets and
puts, containers, BUILD, REDUCE and persistent ids ends in a documented error naming the
file (or a value), within the memory bound, and a clean checkpoint loads the same after
every one of them (issue 28, items 1, 4, 5)."""

import zipfile

import numpy as np
from fuzzing import memory_bound, peaks_in_child, traced_peak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pickle_ops import glob, integer, text

from visiongrad.data import DataFormatError, load_restricted_pickle
from visiongrad.io import CheckpointFormatError, UnsafeCheckpointError, load_torch_checkpoint

TOKENS = [
    glob("collections", "OrderedDict"), glob("torch._utils", "_rebuild_tensor_v2"),
    glob("torch._utils", "_rebuild_parameter"), glob("torch", "FloatStorage"),
    glob("torch", "BFloat16Storage"), glob("numpy", "dtype"), glob("numpy", "ndarray"),
    glob("numpy.core.multiarray", "_reconstruct"), glob("_codecs", "encode"),
    glob("builtins", "bytes"), glob("os", "system"), glob("builtins", "getattr"),
    b"(", b"t", b")", b"]", b"}", b"\x8f", b"l", b"d", b"e", b"u", b"s", b"a", b"\x85",
    b"\x86", b"\x87", b"R", b"b", b"Q", b"N", b"\x88", b"\x89", b"0", b"2", b"\x94",
    b"q\x00", b"q\x01", b"q\x02", b"h\x00", b"h\x01", b"h\x02", b"r\x00\x00\x00\x10",
    b"j\x00\x00\x00\x10", integer(0), integer(4), integer(-1), integer(2**40), text("storage"),
    text("0"), text("cpu"), text("name"), text("BFloat16Storage"), text("__defaults__"),
    text("_metadata"), b"C\x04\x00\x00\x80?", b"G\x7f\xf8\x00\x00\x00\x00\x00\x00",
]
PICKLES = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=40).map(
    lambda tokens: b"\x80\x02" + b"".join(tokens) + b".")
CLEAN = np.array([0.5, 1.5, 2.5, 3.5], np.float32)
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def checkpoint(path, payload: bytes):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", payload)
        archive.writestr("archive/data/0", CLEAN.tobytes())
    return path


CLEAN_PICKLE = (b"\x80\x02" + glob("collections", "OrderedDict") + b")R(" + text("w")
                + glob("torch._utils", "_rebuild_tensor_v2") + b"((" + text("storage")
                + glob("torch", "FloatStorage") + text("0") + text("cpu") + integer(4)
                + b"tQ" + integer(0) + integer(4) + b"\x85" + integer(1) + b"\x85\x89"
                + glob("collections", "OrderedDict") + b")RtRu.")


@FUZZ
@given(payload=PICKLES)
def test_generated_pickles_fail_cleanly_in_both_unpicklers(tmp_path, payload):
    clean = checkpoint(tmp_path / "clean.pth", CLEAN_PICKLE)
    np.testing.assert_array_equal(load_torch_checkpoint(clean)["w"], CLEAN)
    data = tmp_path / "fuzzed.pkl"
    data.write_bytes(payload)
    peak, error = traced_peak(load_restricted_pickle, data)
    assert error is None or isinstance(error, DataFormatError), repr(error)
    assert error is None or "fuzzed.pkl" in str(error)
    assert peak < memory_bound(data)
    crafted = checkpoint(tmp_path / "fuzzed.pth", payload)
    peak, error = traced_peak(load_torch_checkpoint, crafted)
    assert error is None or isinstance(error, (CheckpointFormatError, UnsafeCheckpointError)), \
        repr(error)
    assert error is None or "fuzzed.pth" in str(error)
    assert peak < memory_bound(crafted)
    after = load_torch_checkpoint(clean)["w"]
    assert after.dtype == np.float32
    np.testing.assert_array_equal(after, CLEAN)


def test_a_chain_of_shared_tuples_as_a_key_is_refused_before_it_is_hashed(tmp_path):
    """A key of 2**40 tuple leaves in 200 bytes: hashing it would take days."""
    chain = b"X\x01\x00\x00\x00xq\x000" + b"".join(  # each level memoized, then popped
        b"(h" + bytes([level]) + b"h" + bytes([level]) + b"tq" + bytes([level + 1]) + b"0"
        for level in range(40))
    data = tmp_path / "chain.pkl"
    data.write_bytes(b"\x80\x02}" + chain + b"h\x28K\x01s.")
    pth = checkpoint(tmp_path / "chain.pth", data.read_bytes())
    results = peaks_in_child([("visiongrad.data.load_restricted_pickle", data),
                              ("visiongrad.io.load_torch_checkpoint", pth)], timeout=60)
    for (peak, error, message), path in zip(results, (data, pth), strict=True):
        assert error in ("UnsafePickleError", "UnsafeCheckpointError"), (error, message)
        assert path.name in message and "exponential time to hash" in message
        assert peak < memory_bound(path)
