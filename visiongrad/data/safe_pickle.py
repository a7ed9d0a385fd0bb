"""A restricted unpickler for data files (CIFAR batches): plain data and numeric arrays only.

The standard :mod:`pickle` calls whatever function a file names, and its BUILD opcode
sets the state of whatever object is on its stack. Both are closed here:

- a global resolves only to a stand-in for NumPy's array reconstruction (``_reconstruct``,
  ``_frombuffer``, ``scalar``, ``ndarray``, ``dtype``), for ``_codecs.encode`` to latin-1
  and for ``bytes()`` (how protocol 2 stores bytes); the stand-ins validate their
  arguments and never hand a NumPy callable to the file;
- REDUCE calls only those stand-ins; BUILD applies only to a dtype or array a stand-in has
  just begun, and builds it from checked parts: a plain numeric or boolean dtype (no
  object, structured, sub-array, string or datetime dtype, no flags) and a shape whose
  element count times the item size equals the length of the bytes that come with it, so
  a file cannot declare 2**40 elements it does not hold, nor an object pointer;
- the opcodes that create instances of classes or call hooks (INST, OBJ, NEWOBJ,
  NEWOBJ_EX, persistent ids, the extension registry, out-of-band buffers) are refused;
- the whole file is read first and served from memory, so a length field can never make
  the unpickler reserve more than the file holds.

This needs the pure-Python unpickler (``pickle._Unpickler``): the C one's opcode table
cannot be restricted. Data pickles hold few opcodes (one per label and file name, one for
all the image bytes), so its speed does not matter here.
"""

from __future__ import annotations

import io
import math
import os
import pickle
import struct

import numpy as np

from .errors import DataFormatError, UnsafePickleError

__all__ = ["load_restricted_pickle", "plain_dtype"]

#: Most dimensions an unpickled array may have (NumPy's own limit is 64).
MAX_NDIM = 32


class _Refused(pickle.UnpicklingError):
    """Raised inside the unpickler; :func:`load_restricted_pickle` adds the file's name."""


def plain_dtype(value, what: str = "dtype") -> np.dtype:
    """``value`` as a NumPy dtype if it is plain numeric or boolean, else refuse it.

    Plain: kind b, i, u, f or c, no fields, no sub-array, no object references.
    """
    if isinstance(value, _PendingDtype):
        value = value.result if value.result is not None else value.dtype
    if not isinstance(value, np.dtype):
        raise _Refused(f"{what} must be a NumPy dtype, got {type(value).__name__}")
    if value.kind not in "biufc" or value.fields is not None or value.subdtype is not None \
            or value.hasobject:
        raise _Refused(f"{what} {value!s} is not a plain numeric dtype (object, structured, "
                       "string and datetime dtypes are refused)")
    return value


def _checked_array(buffer, dtype, shape, order: str) -> np.ndarray:
    """A read-only array over ``buffer`` after checking that it holds exactly ``shape``."""
    dtype = plain_dtype(dtype, "array dtype")
    if not isinstance(buffer, (bytes, bytearray)):
        raise _Refused(f"array data must be bytes, got {type(buffer).__name__} (arrays of "
                       "Python objects are refused)")
    if not isinstance(shape, tuple) or len(shape) > MAX_NDIM or not all(
            type(size) is int and size >= 0 for size in shape):
        raise _Refused(f"array shape must be a tuple of at most {MAX_NDIM} non-negative "
                       f"ints, got {shape!r:.80}")
    count = math.prod(shape)
    if count * dtype.itemsize != len(buffer):
        raise _Refused(f"an array declares shape {shape} of {dtype} ({count * dtype.itemsize} "
                       f"bytes) but holds {len(buffer)} bytes")
    if order not in ("C", "F"):
        raise _Refused(f"array order must be 'C' or 'F', got {order!r:.20}")
    return np.frombuffer(buffer, dtype=dtype, count=count).reshape(shape, order=order)


class _Pending:
    """An object a stand-in has begun; BUILD (once) turns it into the real value."""

    result = None

    def build(self, state):
        raise NotImplementedError


class _PendingDtype(_Pending):
    """``numpy.dtype(code, align, copy)`` until BUILD gives its byte order."""

    def __init__(self, code, align=False, copy=True):
        if isinstance(code, bytes):
            code = code.decode("ascii", "replace")
        if not isinstance(code, str) or len(code) > 8:
            raise _Refused(f"dtype code must be a short string, got {code!r:.40}")
        try:
            dtype = np.dtype(code)
        except (TypeError, ValueError) as error:
            raise _Refused(f"unknown dtype code {code!r} ({error})") from None
        self.dtype = plain_dtype(dtype)

    def build(self, state):
        # NumPy's plain form: (3, byteorder, None, None, None, -1, -1, 0[, None metadata])
        if not isinstance(state, tuple) or len(state) not in (8, 9) or state[0] not in (3, 4):
            raise _Refused(f"dtype state must be NumPy's 8-tuple, got {state!r:.80}")
        byteorder, subarray, names, fields, elsize, alignment, flags = state[1:8]
        if any(part is not None for part in (subarray, names, fields, *state[8:])) \
                or flags != 0 or elsize not in (-1, self.dtype.itemsize) \
                or alignment not in (-1, self.dtype.alignment):
            raise _Refused(f"dtype state {state!r:.120} describes a structured, sub-array or "
                           "object dtype; only plain numeric dtypes are allowed")
        if byteorder not in ("<", ">", "|", "="):
            raise _Refused(f"dtype byte order must be '<', '>', '|' or '=', got {byteorder!r:.20}")
        self.result = self.dtype.newbyteorder(byteorder) if byteorder in "<>" else self.dtype
        return self.result


class _PendingArray(_Pending):
    """``numpy.core.multiarray._reconstruct(ndarray, (0,), b'b')`` until BUILD fills it."""

    def build(self, state):
        # NumPy's ndarray state: (version, shape, dtype, is_fortran, raw bytes), version 1
        if isinstance(state, tuple) and len(state) == 5:
            state = state[1:]
        if not isinstance(state, tuple) or len(state) != 4:
            raise _Refused(f"array state must be NumPy's (version, shape, dtype, is_fortran, "
                           f"data) tuple, got {type(state).__name__}")
        shape, dtype, is_fortran, raw = state
        self.result = _checked_array(raw, dtype, shape, "F" if is_fortran is True else "C")
        return self.result


class _StandIn:
    """What a global resolves to: a named, validating replacement of the real callable."""

    def __init__(self, name: str, function):
        self.name, self.function = name, function

    def __call__(self, *args):
        return self.function(*args)

    def __repr__(self) -> str:
        return f"<restricted {self.name}>"


def _refuse_ndarray_call(*args):
    raise _Refused("numpy.ndarray may only be named as the class given to _reconstruct")


_NDARRAY = _StandIn("numpy.ndarray", _refuse_ndarray_call)


def _reconstruct(cls, shape, code):
    if cls is not _NDARRAY or shape != (0,) or code not in (b"b", "b"):
        raise _Refused("_reconstruct is allowed only as _reconstruct(ndarray, (0,), b'b')")
    return _PendingArray()


def _frombuffer(buffer, dtype, shape, order):
    return _checked_array(buffer, dtype, shape, order)


def _scalar(dtype, raw):
    dtype = plain_dtype(dtype, "scalar dtype")
    if not isinstance(raw, bytes) or len(raw) != dtype.itemsize:
        raise _Refused(f"a {dtype} scalar needs {dtype.itemsize} bytes, got {raw!r:.40}")
    return np.frombuffer(raw, dtype=dtype)[0]


def _latin1_encode(text, encoding="utf-8"):
    """The one use of ``_codecs.encode`` in a protocol-2 pickle: bytes stored as latin-1."""
    if not isinstance(text, str) or not isinstance(encoding, str) \
            or encoding.replace("-", "").lower() != "latin1":
        raise _Refused("_codecs.encode is allowed only as (str, 'latin1')")
    return text.encode("latin1")


def _empty_bytes():
    """``bytes()``: how protocol 2 stores an empty bytes object (an empty array's data)."""
    return b""


def _allowed_globals() -> dict[tuple[str, str], _StandIn]:
    allowed = {("numpy", "ndarray"): _NDARRAY,
               ("numpy", "dtype"): _StandIn("numpy.dtype", _PendingDtype),
               ("_codecs", "encode"): _StandIn("_codecs.encode", _latin1_encode)}
    for builtins in ("builtins", "__builtin__"):  # Python 3 and 2 spellings
        allowed[(builtins, "bytes")] = _StandIn("bytes", _empty_bytes)
    for package in ("numpy.core", "numpy._core"):  # NumPy 1 and NumPy 2 spell it apart
        allowed[(f"{package}.multiarray", "_reconstruct")] = _StandIn("_reconstruct",
                                                                      _reconstruct)
        allowed[(f"{package}.multiarray", "scalar")] = _StandIn("scalar", _scalar)
        allowed[(f"{package}.numeric", "_frombuffer")] = _StandIn("_frombuffer", _frombuffer)
    return allowed


def _refuse_opcode(name: str):
    def refuse(self):
        raise _Refused(f"the {name} opcode (it creates objects of classes or calls hooks) is "
                       "not allowed in a data pickle")
    return refuse


class _RestrictedUnpickler(pickle._Unpickler):
    """The pure-Python unpickler with a restricted table of globals and opcodes."""

    allowed = _allowed_globals()
    dispatch = dict(pickle._Unpickler.dispatch)

    def find_class(self, module, name):
        try:
            return self.allowed[(module, name)]
        except (KeyError, TypeError):
            raise _Refused(f"the file asks for the global {module}.{name}, but a data pickle "
                           "may only build plain containers, strings, bytes, numbers and "
                           "numeric NumPy arrays") from None

    def load_reduce(self):
        if not isinstance(self.stack[-2], _StandIn):
            raise _Refused(f"REDUCE may only call an allowed NumPy reconstruction, not a "
                           f"{type(self.stack[-2]).__name__}")
        pickle._Unpickler.load_reduce(self)

    def load_build(self):
        state = self.stack.pop()
        target = self.stack[-1]
        if not isinstance(target, _Pending) or target.result is not None:
            raise _Refused(f"BUILD (setting an object's state) is allowed only on a NumPy "
                           f"dtype or array being reconstructed, not on a "
                           f"{type(target).__name__}")
        self.stack[-1] = target.build(state)

    def _unwrap_top(self):
        """After a memo GET: a pending object that was built stands for its result."""
        top = self.stack[-1]
        if isinstance(top, _Pending) and top.result is not None:
            self.stack[-1] = top.result

    def load_get(self):
        pickle._Unpickler.load_get(self)
        self._unwrap_top()

    def load_binget(self):
        pickle._Unpickler.load_binget(self)
        self._unwrap_top()

    def load_long_binget(self):
        pickle._Unpickler.load_long_binget(self)
        self._unwrap_top()

    def load_bytearray8(self):
        """Reads the bytes first: the stock opcode makes ``bytearray(length)`` from the
        8-byte length before reading, so 2 inserted bytes could reserve 600 MB."""
        (length,) = struct.unpack("<Q", self.read(8))
        data = self.read(length)
        if len(data) != length:
            raise pickle.UnpicklingError(f"BYTEARRAY8 declares {length} bytes, {len(data)} "
                                         "follow")
        self.append(bytearray(data))

    dispatch[pickle.BYTEARRAY8[0]] = load_bytearray8
    dispatch[pickle.REDUCE[0]] = load_reduce
    dispatch[pickle.BUILD[0]] = load_build
    dispatch[pickle.GET[0]] = load_get
    dispatch[pickle.BINGET[0]] = load_binget
    dispatch[pickle.LONG_BINGET[0]] = load_long_binget
    for _name in ("INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "PERSID", "BINPERSID", "EXT1", "EXT2",
                  "EXT4", "NEXT_BUFFER", "READONLY_BUFFER"):
        dispatch[getattr(pickle, _name)[0]] = _refuse_opcode(_name)
    del _name


def load_restricted_pickle(path: str | os.PathLike):
    """Unpickle ``path`` allowing only plain data and numeric NumPy arrays.

    Builds dicts, lists, tuples, sets, strings, bytes, numbers, booleans, ``None`` and
    NumPy arrays and scalars of plain numeric or boolean dtypes (read-only arrays over the
    file's bytes, as NumPy's own protocol-5 unpickling gives); see the module docstring
    for what is refused and why. Python-2 strings come back as bytes
    (``encoding="bytes"``), as the CIFAR batches need.

    Raises
    ------
    UnsafePickleError
        The file asks for any other global, object or dtype, or an array whose declared
        size disagrees with its data; nothing was executed and nothing outside the result
        was changed.
    DataFormatError
        The file is not a readable pickle (truncated, corrupt). Both name ``path``.
    """
    with open(path, "rb") as handle:
        content = handle.read()
    try:
        return _RestrictedUnpickler(io.BytesIO(content), encoding="bytes").load()
    except _Refused as error:
        raise UnsafePickleError(f"{path}: refused to unpickle: {error} (nothing was "
                                "executed)") from None
    except Exception as error:  # noqa: BLE001 - any failure of a crafted file is a format error
        raise DataFormatError(f"{path}: not a readable pickle, or truncated "
                              f"({type(error).__name__}: {str(error):.200})") from None
