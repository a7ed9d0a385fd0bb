""".pth files crafted against load_torch_checkpoint (issue 28, items 1, 4 and 10): no file
changes how a later one loads, no file makes the reader allocate out of proportion to it,
and every failure is one of the two documented errors naming the file. Checkpoints here are
written opcode by opcode, so these tests need no PyTorch."""

import struct
import zipfile

import numpy as np
import pytest
from fuzzing import EDITS, memory_bound, mutate, peaks_in_child, traced_peak
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pickle_ops import (
    BUILD,
    EMPTY_DICT,
    EMPTY_TUPLE,
    MARK,
    NEWFALSE,
    NONE,
    PROTO2,
    REDUCE,
    SETITEM,
    SETITEMS,
    STOP,
    glob,
    integer,
    text,
    tup,
)

from visiongrad.io import (
    CheckpointFormatError,
    UnsafeCheckpointError,
    convert_torch_checkpoint,
    load_torch_checkpoint,
)

DOCUMENTED = (CheckpointFormatError, UnsafeCheckpointError)
CLEAN_VALUES = np.array([0.5, 1.5, 2.5, 3.5], np.float32)
BINPERSID = b"Q"


def storage_id(key: str, numel: int, kind: str = "FloatStorage") -> bytes:
    """The persistent id ('storage', torch.<kind>, key, 'cpu', numel), resolved."""
    return tup(text("storage"), glob("torch", kind), text(key), text("cpu"),
               integer(numel)) + BINPERSID


def tensor(storage: bytes, offset: int, size, stride) -> bytes:
    """torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())."""
    return (glob("torch._utils", "_rebuild_tensor_v2")
            + tup(storage, integer(offset), tup(*map(integer, size)), tup(*map(integer, stride)),
                  NEWFALSE, glob("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE) + REDUCE)


def state_dict(entries: dict[str, bytes], metadata: bool = True) -> bytes:
    """An OrderedDict of ``entries`` as torch.save writes a state_dict (with the BUILD of
    its ``_metadata`` state)."""
    body = b"".join(text(name) + value for name, value in entries.items())
    built = EMPTY_DICT + text("_metadata") + glob("collections", "OrderedDict") + EMPTY_TUPLE \
        + REDUCE + SETITEM + BUILD if metadata else b""
    return (PROTO2 + glob("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE + MARK + body
            + SETITEMS + built + STOP)


def write_pth(path, payload: bytes, storages=None, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        archive.writestr("archive/data.pkl", payload)
        archive.writestr("archive/byteorder", "little")
        for key, data in (storages or {}).items():
            archive.writestr(f"archive/data/{key}", data)
    return path


def clean_pth(path):
    return write_pth(path, state_dict({"w": tensor(storage_id("0", 4), 0, (4,), (1,))}),
                     {"0": CLEAN_VALUES.tobytes()})


def test_a_hand_written_state_dict_loads(tmp_path):
    loaded = load_torch_checkpoint(clean_pth(tmp_path / "clean.pth"))
    assert list(loaded) == ["w"] and loaded["w"].dtype == np.float32
    np.testing.assert_array_equal(loaded["w"], CLEAN_VALUES)


# ------------------------------------------------------------------ item 1: no poisoning

POISONS = {
    # FloatStorage.name = 'BFloat16Storage': later float storages decoded as bfloat16
    "storage_name": glob("torch", "FloatStorage") + EMPTY_DICT + text("name")
    + text("BFloat16Storage") + SETITEM + BUILD,
    # _rebuild_tensor_v2.__defaults__ = None: every later tensor misses its arguments
    "defaults": glob("torch._utils", "_rebuild_tensor_v2")
    + tup(NONE, EMPTY_DICT + text("__defaults__") + NONE + SETITEM) + BUILD,
    # the same through the state's slot part on the parameter rebuild and a storage type
    "parameter": glob("torch._utils", "_rebuild_parameter")
    + tup(NONE, EMPTY_DICT + text("__defaults__") + tup(integer(1)) + SETITEM) + BUILD,
    "storage_dtype": glob("torch", "FloatStorage")
    + tup(NONE, EMPTY_DICT + text("name") + text("BFloat16Storage") + SETITEM) + BUILD,
    # an array this load made: BUILD would call ndarray.__setstate__
    "array_state": tensor(storage_id("0", 4), 0, (4,), (1,)) + tup(
        integer(1), tup(integer(2)), glob("torch", "FloatStorage"), NEWFALSE, text("xx"))
    + BUILD,
}


@pytest.mark.parametrize("poison", sorted(POISONS))
def test_a_crafted_pth_cannot_change_how_later_files_load(tmp_path, poison):
    clean = clean_pth(tmp_path / "clean.pth")
    before = load_torch_checkpoint(clean)["w"]
    crafted = write_pth(tmp_path / "crafted.pth", PROTO2 + POISONS[poison] + STOP,
                        {"0": CLEAN_VALUES.tobytes()})
    with pytest.raises(UnsafeCheckpointError, match="crafted.pth: refusing BUILD"):
        load_torch_checkpoint(crafted)
    after = load_torch_checkpoint(clean)["w"]
    assert after.dtype == before.dtype == np.float32
    np.testing.assert_array_equal(after, CLEAN_VALUES)


# ------------------------------------------------------------------ item 4: memory


def shared_tuple_chain(levels: int) -> bytes:
    """A tuple of 2**levels references to one 1000-character string (a few hundred bytes;
    its repr is 2**levels kB)."""
    ops = text("x" * 1000) + b"q\x00"
    for level in range(levels):
        ops += MARK + b"h" + bytes([level]) + b"h" + bytes([level]) + b"t" + b"q" \
            + bytes([level + 1])
    return ops


def memory_bombs(folder) -> dict[str, object]:
    four = np.ones(4, np.float32).tobytes()
    return {
        # LONG_BINPUT 2**28: the C unpickler sizes its memo array by the index (4 GiB)
        "memo.pth": write_pth(folder / "memo.pth", PROTO2 + NONE + b"r"
                              + struct.pack("<I", 2**28) + STOP),
        # stride 0 over 4 elements: (2**15, 2**15) floats = 4 GiB copied out
        "stride0.pth": write_pth(folder / "stride0.pth", state_dict(
            {"w": tensor(storage_id("0", 4), 0, (2**15, 2**15), (0, 0))}), {"0": four}),
        # overlapping strides: (2**14, 2**14) windows of a 2**15-element storage
        "overlap.pth": write_pth(folder / "overlap.pth", state_dict(
            {"w": tensor(storage_id("0", 2**15), 0, (2**14, 2**14), (1, 1))}),
            {"0": bytes(4 * 2**15)}),
        # a (2**20, 2**20) size with stride 0: 4 TiB asked for
        "huge.pth": write_pth(folder / "huge.pth", state_dict(
            {"w": tensor(storage_id("0", 4), 0, (2**20, 2**20), (0, 0))}), {"0": four}),
        # a persistent id whose repr is 1 GiB, for the error message
        "persid.pth": write_pth(folder / "persid.pth", PROTO2 + shared_tuple_chain(20)
                                + BINPERSID + STOP),
        # a 100 MiB storage of zeros deflated to 100 kB
        "deflated.pth": write_pth(folder / "deflated.pth", state_dict(
            {"w": tensor(storage_id("0", 25 * 2**20), 0, (25 * 2**20,), (1,))}),
            {"0": bytes(100 << 20)}, compression=zipfile.ZIP_DEFLATED),
    }


def test_pth_memory_bombs_are_refused_within_ten_times_their_size(tmp_path):
    bombs = memory_bombs(tmp_path)
    results = peaks_in_child([("visiongrad.io.load_torch_checkpoint", path)
                              for path in bombs.values()])
    for (name, path), (peak, error, message) in zip(bombs.items(), results, strict=True):
        assert peak < memory_bound(path), f"{name}: {peak} bytes traced"
        if name == "memo.pth":  # a valid pickle of None once the memo is a dict
            assert error == "NoneType", f"{name}: {error}: {message[:300]}"
        else:
            assert error == "CheckpointFormatError" and name in message, \
                f"{name}: {error}: {message[:300]}"
        assert len(message) < 1000


def test_tensors_larger_than_their_storage_are_refused_with_the_reason(tmp_path):
    bombs = memory_bombs(tmp_path)
    with pytest.raises(CheckpointFormatError, match=r"stride0.pth: .*1073741824 elements, "
                                                    r"more than its storage's 4"):
        load_torch_checkpoint(bombs["stride0.pth"])
    with pytest.raises(CheckpointFormatError, match="persid.pth: unexpected persistent id: "
                                                    "a tuple of length 2"):
        load_torch_checkpoint(bombs["persid.pth"])
    with pytest.raises(CheckpointFormatError, match="deflated.pth: deflated members declare"):
        load_torch_checkpoint(bombs["deflated.pth"])


def test_many_tensors_over_one_storage_are_refused(tmp_path):
    """One 1 MiB storage viewed by 128 tensors through the memo: 128 MiB of copies."""
    view = glob("torch._utils", "_rebuild_tensor_v2") + b"q\xf1" + tup(
        storage_id("0", 2**18), integer(0), tup(integer(2**18)), tup(integer(1)), NEWFALSE,
        glob("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE) + b"q\xf2" + REDUCE
    again = b"h\xf1h\xf2" + REDUCE
    payload = state_dict({"w0": view} | {f"w{i}": again for i in range(1, 128)})
    path = write_pth(tmp_path / "views.pth", payload, {"0": bytes(2**20)})
    peak, error = traced_peak(load_torch_checkpoint, path)
    assert isinstance(error, CheckpointFormatError), error
    assert "views.pth: the tensors hold more than 4 times" in str(error)
    assert peak < memory_bound(path)
    two = write_pth(tmp_path / "tied.pth", state_dict({"w0": view, "w1": again}),
                    {"0": bytes(2**20)})  # tied weights: two views of one storage load
    assert set(load_torch_checkpoint(two)) == {"w0", "w1"}


# ------------------------------------------------------------------ item 10: one error


def damaged(path, member: str, edit) -> None:
    """Apply ``edit(bytearray, header offset)`` to the local and central headers of
    ``member`` in the zip at ``path``."""
    data = bytearray(path.read_bytes())
    for signature, name_at in ((b"PK\x03\x04", 30), (b"PK\x01\x02", 46)):
        at = data.find(signature)
        while at >= 0:
            length = struct.unpack_from("<H", data, at + (26 if name_at == 30 else 28))[0]
            if data[at + name_at:at + name_at + length] == member.encode():
                edit(data, at, signature)
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))


def test_unsupported_compression_and_damaged_deflate_are_one_clear_error(tmp_path):
    method99 = clean_pth(tmp_path / "method99.pth")

    def set_method(data, at, signature):
        struct.pack_into("<H", data, at + (8 if signature == b"PK\x03\x04" else 10), 99)
    damaged(method99, "archive/data/0", set_method)
    deflated = write_pth(tmp_path / "zlib.pth", state_dict(
        {"w": tensor(storage_id("0", 4096), 0, (4096,), (1,))}),
        {"0": np.arange(4096, dtype=np.float32).tobytes()}, compression=zipfile.ZIP_DEFLATED)
    data = bytearray(deflated.read_bytes())
    start = data.find(b"archive/data/0") + len("archive/data/0") + 40
    data[start:start + 64] = bytes(64)  # the deflate stream's blocks, broken
    deflated.write_bytes(bytes(data))
    for path, reason in ((method99, "compression method 99"), (deflated, "")):
        with pytest.raises(CheckpointFormatError, match=f"{path.name}: .*{reason}"):
            load_torch_checkpoint(path)
        with pytest.raises(CheckpointFormatError, match=path.name):
            convert_torch_checkpoint(path, tmp_path / "out.safetensors")


# ------------------------------------------------------------------ fuzzing


CLEAN_PICKLE = state_dict({"w": tensor(storage_id("0", 4), 0, (4,), (1,)),
                           "b": tensor(storage_id("0", 4), 1, (2, 2), (1, 0))})


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=EDITS, where=st.sampled_from(["pickle", "archive"]))
@example(edits=[("insert", 17, 0x62)], where="pickle")  # a BUILD on the OrderedDict global
@example(edits=[("set", 2, 0x62)], where="pickle")
@example(edits=[("flip", 81193, 2)], where="archive")  # a stored size of 64 MiB (campaign)
def test_mutated_pth_fails_in_one_documented_error_and_poisons_nothing(tmp_path, edits, where):
    """Mutate the pickle (rewrapped in a valid zip) or the whole archive; whatever loads or
    fails, the error is documented and names the file, memory stays within the bound, and
    the clean file loads the same afterwards."""
    clean = clean_pth(tmp_path / "clean.pth")
    path = tmp_path / "fuzzed.pth"
    if where == "pickle":
        write_pth(path, mutate(CLEAN_PICKLE, edits), {"0": CLEAN_VALUES.tobytes()})
    else:
        clean_pth(path)
        path.write_bytes(mutate(path.read_bytes(), edits))
    peak, error = traced_peak(load_torch_checkpoint, path)
    if error is not None:
        assert isinstance(error, DOCUMENTED), f"{type(error).__name__}: {error}"
        assert "fuzzed.pth" in str(error)
    assert peak < memory_bound(path)
    np.testing.assert_array_equal(load_torch_checkpoint(clean)["w"], CLEAN_VALUES)
