"""The restricted unpickler against crafted files, written opcode by opcode (issue 14, item 2).

Each crafted file attacks one door: a global outside the allow-list, BUILD on an allowed
function (rewriting ``__defaults__`` for the whole process), object and structured dtypes
(the pointer attack, run in a subprocess so a segfault fails the test instead of killing
pytest), arrays declaring more elements than their bytes hold, and the opcodes that create
instances or call hooks.
"""

import io
import os
import pickle
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from pickle_ops import (  # noqa: E402,F401 - the opcode writers, shared with tests/io
    BUILD,
    EMPTY_DICT,
    EMPTY_LIST,
    MARK,
    NEWFALSE,
    NEWTRUE,
    NONE,
    PROTO2,
    REDUCE,
    SETITEM,
    STOP,
    TUPLE,
    array_ops,
    as_dict,
    dtype_ops,
    glob,
    integer,
    raw,
    text,
    tup,
)

from visiongrad.data import (
    DataFormatError,
    UnsafePickleError,
    load_restricted_pickle,
    safe_pickle,
)

from .data_formats import py2_pickle


def write(tmp_path, content: bytes, name="crafted.pkl"):
    path = tmp_path / name
    path.write_bytes(content)
    return path


# ------------------------------------------------------------------ what must load

@pytest.mark.parametrize("protocol", [2, 3, 4, 5, "py2"])
def test_plain_data_and_numeric_arrays_load(tmp_path, protocol):
    rng = np.random.default_rng(0)
    content = {"u8": rng.integers(0, 256, (3, 4), dtype=np.uint8),
               "big": np.arange(6, dtype=">i4").reshape(2, 3),
               "fortran": np.asfortranarray(rng.standard_normal((3, 2))),
               "flags": np.array([True, False]), "half": np.ones(2, np.float16),
               "complex": np.array([1 + 2j]), "empty": np.zeros((0, 5), np.float32),
               "zero_d": np.array(7, np.int64), "scalar": np.float64(2.5),
               "rest": [1, 2.5, None, True, "text", b"bytes", (1, 2), {"nested": [1]}]}
    data = py2_pickle(content) if protocol == "py2" else pickle.dumps(content, protocol=protocol)
    loaded = load_restricted_pickle(write(tmp_path, data))
    loaded = {(k.decode() if isinstance(k, bytes) else k): v for k, v in loaded.items()}
    for key, value in content.items():
        if isinstance(value, (np.ndarray, np.generic)):
            np.testing.assert_array_equal(loaded[key], value)
            assert loaded[key].dtype == value.dtype and np.shape(loaded[key]) == value.shape
    assert loaded["fortran"].flags.f_contiguous
    assert loaded["rest"][:5] == content["rest"][:5]


def test_a_dtype_shared_through_the_memo_keeps_its_byte_order(tmp_path):
    arrays = [np.arange(3, dtype=">f8"), np.arange(2, dtype=">f8")]  # 2nd uses BINGET
    loaded = load_restricted_pickle(write(tmp_path, pickle.dumps(arrays, protocol=2)))
    for got, expected in zip(loaded, arrays, strict=True):
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


# ------------------------------------------------------------------ what must be refused

@pytest.mark.parametrize("module,name", [("os", "system"), ("builtins", "eval"),
                                         ("numpy", "load"), ("numpy.core.multiarray",
                                                             "frombuffer"),
                                         ("visiongrad.data.safe_pickle", "_latin1_encode")])
def test_other_globals_are_refused_naming_file_and_global(tmp_path, module, name):
    path = write(tmp_path, PROTO2 + glob(module, name) + tup(text("x")) + REDUCE + STOP)
    with pytest.raises(UnsafePickleError, match=rf"crafted.pkl: refused.*{module}\.{name}"):
        load_restricted_pickle(path)


BUILD_DEFAULTS = tup(NONE, EMPTY_DICT + text("__defaults__") + tup(integer(1)) + SETITEM)


@pytest.mark.parametrize("module,name", [("numpy._core.numeric", "_frombuffer"),
                                         ("numpy.core.numeric", "_frombuffer"),
                                         ("_codecs", "encode"),
                                         ("numpy.core.multiarray", "_reconstruct")])
def test_build_on_an_allowed_function_is_refused_and_changes_nothing(tmp_path, module, name):
    frombuffer = np.zeros(1).__reduce_ex__(5)[0]
    defaults_before = frombuffer.__defaults__
    stand_in_before = safe_pickle._latin1_encode.__defaults__
    path = write(tmp_path, PROTO2 + glob(module, name) + BUILD_DEFAULTS + BUILD + STOP)
    with pytest.raises(UnsafePickleError, match="crafted.pkl: refused.*BUILD"):
        load_restricted_pickle(path)
    assert frombuffer.__defaults__ == defaults_before
    assert safe_pickle._latin1_encode.__defaults__ == stand_in_before
    normal = np.arange(5.0)
    for protocol in (2, 5):
        data = pickle.dumps(normal, protocol=protocol)
        np.testing.assert_array_equal(pickle.loads(data), normal)  # NumPy's own path
        np.testing.assert_array_equal(load_restricted_pickle(write(tmp_path, data, "ok.pkl")),
                                      normal)


@pytest.mark.parametrize("target", [EMPTY_DICT, EMPTY_LIST, text("s"),
                                    dtype_ops("f8")])  # a finished dtype too
def test_build_on_plain_data_or_a_finished_object_is_refused(tmp_path, target):
    path = write(tmp_path, PROTO2 + target + BUILD_DEFAULTS + BUILD + STOP)
    with pytest.raises(UnsafePickleError, match="BUILD"):
        load_restricted_pickle(path)


@pytest.mark.parametrize("code", ["O", "O8", "V8", "U4", "S3", "M8[s]", "i4,i4", "(2,)i4",
                                  "f8" * 10])
def test_object_structured_text_and_datetime_dtypes_are_refused(tmp_path, code):
    path = write(tmp_path, as_dict("a", dtype_ops(code)))
    with pytest.raises(UnsafePickleError, match="crafted.pkl: refused"):
        load_restricted_pickle(path)


def test_a_plain_code_with_a_structured_state_is_refused(tmp_path):
    fields = EMPTY_DICT + text("f") + tup(dtype_ops("f8"), integer(0)) + SETITEM
    state = tup(integer(3), text("|"), NONE, tup(text("f")), fields, integer(8), integer(1),
                integer(0))
    with pytest.raises(UnsafePickleError, match="structured"):
        load_restricted_pickle(write(tmp_path, as_dict("a", dtype_ops("f8", state))))
    flagged = tup(integer(3), text("<"), NONE, NONE, NONE, integer(-1), integer(-1),
                  integer(63))  # the object flags on a plain code
    with pytest.raises(UnsafePickleError, match="object"):
        load_restricted_pickle(write(tmp_path, as_dict("a", dtype_ops("f8", flagged))))


def pointer_attack() -> bytes:
    """batches.meta whose label_names is an array of a structured dtype with one object
    field, its 8 bytes a pointer of the file's choosing (dereferenced when touched)."""
    object_dtype = dtype_ops("O8", tup(integer(3), text("|"), NONE, NONE, NONE, integer(-1),
                                       integer(-1), integer(63)))
    fields = EMPTY_DICT + text("f") + tup(object_dtype, integer(0)) + SETITEM
    structured = dtype_ops("V8", tup(integer(3), text("|"), NONE, tup(text("f")), fields,
                                     integer(8), integer(1), integer(0)))
    pointer = struct.pack("<Q", 0xDEADBEEF0)
    return as_dict("label_names", array_ops((1,), structured, pointer))


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)


def test_structured_dtype_pointer_attack_is_refused_in_a_subprocess(tmp_path):
    folder = tmp_path / "cifar"
    folder.mkdir()
    (folder / "batches.meta").write_bytes(pointer_attack())
    # the file is a real attack: NumPy's own unpickler builds the object field (the child
    # leaves with os._exit before the array, and its pointer, would be released)
    probe = run_python(f"""
        import os, pickle
        array = pickle.loads(open({str(folder / 'batches.meta')!r}, 'rb').read())['label_names']
        print('field kind', array.dtype.fields['f'][0].kind, flush=True)
        os._exit(0)
    """)
    assert "field kind O" in probe.stdout, probe.stderr
    result = run_python(f"""
        from visiongrad.data import read_cifar10, UnsafePickleError
        try:
            read_cifar10({str(folder)!r})
        except UnsafePickleError as error:
            print('refused:', error)
    """)
    assert result.returncode == 0, f"reader crashed (code {result.returncode}): {result.stderr}"
    assert "refused:" in result.stdout and "batches.meta" in result.stdout, result.stdout


@pytest.mark.parametrize("shape,data", [((2**40,), b"\x00" * 8), ((4,), b"\x00" * 31),
                                        ((2**31, 2**31, 2**31), b""), ((-1,), b"")])
def test_array_sizes_must_match_their_bytes(tmp_path, shape, data):
    path = write(tmp_path, as_dict("a", array_ops(shape, dtype_ops("f8"), data)))
    with pytest.raises(DataFormatError, match="crafted.pkl"):
        load_restricted_pickle(path)


def test_frombuffer_with_a_false_shape_is_refused(tmp_path):
    content = as_dict("a", glob("numpy._core.numeric", "_frombuffer")
                      + tup(raw(b"\x00" * 8), dtype_ops("f8"), tup(integer(2**30)), text("C"))
                      + REDUCE)
    with pytest.raises(UnsafePickleError, match=r"declares shape \(1073741824,\)"):
        load_restricted_pickle(write(tmp_path, content))


def test_arrays_of_python_objects_are_refused(tmp_path):
    objects = (glob("numpy.core.multiarray", "_reconstruct")
               + tup(glob("numpy", "ndarray"), tup(integer(0)), raw(b"b")) + REDUCE
               + tup(integer(1), tup(integer(1)), dtype_ops("f8"), NEWFALSE,
                     EMPTY_LIST + text("x") + b"a") + BUILD)
    with pytest.raises(UnsafePickleError, match="must be bytes"):
        load_restricted_pickle(write(tmp_path, as_dict("a", objects)))


@pytest.mark.parametrize("opcodes", [
    glob("numpy", "dtype") + tup() + b"\x81",            # NEWOBJ
    MARK + glob("numpy", "dtype") + b"o",                # OBJ
    b"i" + b"numpy\ndtype\n" + MARK,                     # INST (refused before it runs)
    b"P" + b"id\n",                                      # PERSID
    b"\x82\x01",                                          # EXT1
    text("not callable") + tup() + REDUCE,               # REDUCE on data
])
def test_instance_creating_and_hook_opcodes_are_refused(tmp_path, opcodes):
    with pytest.raises(UnsafePickleError, match="crafted.pkl: refused"):
        load_restricted_pickle(write(tmp_path, PROTO2 + opcodes + STOP))


@pytest.mark.parametrize("content", [b"", PROTO2, PROTO2 + b"B\xff\xff\xff\x7f",
                                     b"\x80\x05\x95" + struct.pack("<Q", 2**60),
                                     PROTO2 + b"h\x09" + STOP, b"garbage", PROTO2 + TUPLE])
def test_truncated_or_corrupt_pickles_give_one_clear_error(tmp_path, content):
    with pytest.raises(DataFormatError, match="crafted.pkl"):
        load_restricted_pickle(write(tmp_path, content))


def test_the_unpickler_never_reads_past_the_file():
    stream = io.BytesIO(PROTO2 + b"\x8e" + struct.pack("<Q", 2**50))  # BINBYTES8 of 1 PiB
    with pytest.raises((pickle.UnpicklingError, EOFError)):  # no 1 PiB buffer first
        safe_pickle._RestrictedUnpickler(stream.getvalue(), encoding="bytes").load()


def test_files_are_read_not_executed(tmp_path):
    marker = tmp_path / "ran"
    payload = pickle.dumps(_Exploit(str(marker)), protocol=2)
    with pytest.raises(UnsafePickleError, match="posix.system|os.system"):
        load_restricted_pickle(write(tmp_path, payload))
    assert not marker.exists() and os.listdir(tmp_path) == ["crafted.pkl"]


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)
