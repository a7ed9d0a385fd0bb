"""Pickles written opcode by opcode, for the crafted files of the restricted unpicklers' tests
(tests/data/test_safe_pickle.py, tests/io)."""

import struct

MARK, TUPLE, REDUCE, BUILD, STOP = b"(", b"t", b"R", b"b", b"."
EMPTY_DICT, EMPTY_LIST, SETITEM, NONE = b"}", b"]", b"s", b"N"
NEWFALSE, NEWTRUE, PROTO2 = b"\x89", b"\x88", b"\x80\x02"
EMPTY_TUPLE, SETITEMS = b")", b"u"


def glob(module: str, name: str) -> bytes:
    return b"c" + f"{module}\n{name}\n".encode()


def text(value: str) -> bytes:
    data = value.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def raw(value: bytes) -> bytes:
    return b"B" + struct.pack("<I", len(value)) + value


def integer(value: int) -> bytes:
    if -2**31 <= value < 2**31:
        return b"J" + struct.pack("<i", value)
    data = value.to_bytes(16, "little", signed=True)
    return b"\x8a" + bytes([len(data)]) + data  # LONG1


def tup(*items: bytes) -> bytes:
    return MARK + b"".join(items) + TUPLE


def dtype_ops(code: str, state: bytes | None = None) -> bytes:
    """numpy.dtype(code, False, True) with BUILD state (plain little-endian by default)."""
    state = state or tup(integer(3), text("<"), NONE, NONE, NONE, integer(-1), integer(-1),
                         integer(0))
    return glob("numpy", "dtype") + tup(text(code), NEWFALSE, NEWTRUE) + REDUCE + state + BUILD


def array_ops(shape: tuple[int, ...], dtype: bytes, data: bytes) -> bytes:
    """_reconstruct(ndarray, (0,), b'b') with BUILD (1, shape, dtype, False, data)."""
    return (glob("numpy.core.multiarray", "_reconstruct")
            + tup(glob("numpy", "ndarray"), tup(integer(0)), raw(b"b")) + REDUCE
            + tup(integer(1), tup(*map(integer, shape)), dtype, NEWFALSE, raw(data)) + BUILD)


def as_dict(key: str, value: bytes) -> bytes:
    return PROTO2 + EMPTY_DICT + text(key) + value + SETITEM + STOP


