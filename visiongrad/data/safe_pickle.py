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
  the unpickler reserve more than the file holds, and every opcode is charged against a
  memory budget in proportion to the file (3 MB of ``EMPTY_SET`` made 717 MiB of sets).

This needs the pure-Python unpickler (``pickle._Unpickler``): the C one's opcode table
cannot be restricted, and it sizes its memo by the largest index a file names (2**28 in a
139-byte file: 4 GiB). Data pickles hold few opcodes (one per label and file name, one for
all the image bytes), so its speed does not matter here. :class:`BoundedUnpickler` is the
part shared with the PyTorch checkpoint reader (:mod:`visiongrad.io.torch_checkpoint`).
"""

from __future__ import annotations

import io
import math
import os
import pickle
import struct

import numpy as np

from .errors import DataFormatError, UnsafePickleError

__all__ = ["BoundedUnpickler", "PickleBudgetError", "PickleRefused", "StandIn",
           "load_restricted_pickle", "plain_dtype"]

#: Most dimensions an unpickled array may have (NumPy's own limit is 64).
MAX_NDIM = 32


class PickleRefused(pickle.UnpicklingError):
    """Raised inside the unpickler; :func:`load_restricted_pickle` adds the file's name."""


def plain_dtype(value, what: str = "dtype") -> np.dtype:
    """``value`` as a NumPy dtype if it is plain numeric or boolean, else refuse it.

    Plain: kind b, i, u, f or c, no fields, no sub-array, no object references.
    """
    if isinstance(value, _PendingDtype):
        value = value.result if value.result is not None else value.dtype
    if not isinstance(value, np.dtype):
        raise PickleRefused(f"{what} must be a NumPy dtype, got {type(value).__name__}")
    if value.kind not in "biufc" or value.fields is not None or value.subdtype is not None \
            or value.hasobject:
        raise PickleRefused(f"{what} {value!s} is not a plain numeric dtype (object, structured, "
                       "string and datetime dtypes are refused)")
    return value


def _checked_array(buffer, dtype, shape, order: str) -> np.ndarray:
    """A read-only array over ``buffer`` after checking that it holds exactly ``shape``."""
    dtype = plain_dtype(dtype, "array dtype")
    if not isinstance(buffer, (bytes, bytearray)):
        raise PickleRefused(f"array data must be bytes, got {type(buffer).__name__} (arrays of "
                       "Python objects are refused)")
    if not isinstance(shape, tuple) or len(shape) > MAX_NDIM or not all(
            type(size) is int and size >= 0 for size in shape):
        raise PickleRefused(f"array shape must be a tuple of at most {MAX_NDIM} non-negative "
                       f"ints, got {shape!r:.80}")
    count = math.prod(shape)
    if count * dtype.itemsize != len(buffer):
        raise PickleRefused(f"an array declares shape {shape} of {dtype} ({count * dtype.itemsize} "
                       f"bytes) but holds {len(buffer)} bytes")
    if order not in ("C", "F"):
        raise PickleRefused(f"array order must be 'C' or 'F', got {order!r:.20}")
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
            raise PickleRefused(f"dtype code must be a short string, got {code!r:.40}")
        try:
            dtype = np.dtype(code)
        except (TypeError, ValueError) as error:
            raise PickleRefused(f"unknown dtype code {code!r} ({error})") from None
        self.dtype = plain_dtype(dtype)

    def build(self, state):
        # NumPy's plain form: (3, byteorder, None, None, None, -1, -1, 0[, None metadata])
        if not isinstance(state, tuple) or len(state) not in (8, 9) or state[0] not in (3, 4):
            raise PickleRefused(f"dtype state must be NumPy's 8-tuple, got {state!r:.80}")
        byteorder, subarray, names, fields, elsize, alignment, flags = state[1:8]
        if any(part is not None for part in (subarray, names, fields, *state[8:])) \
                or flags != 0 or elsize not in (-1, self.dtype.itemsize) \
                or alignment not in (-1, self.dtype.alignment):
            raise PickleRefused(f"dtype state {state!r:.120} describes a structured, sub-array or "
                           "object dtype; only plain numeric dtypes are allowed")
        if byteorder not in ("<", ">", "|", "="):
            raise PickleRefused(f"dtype byte order must be '<', '>', '|' or '=', got "
                                f"{byteorder!r:.20}")
        self.result = self.dtype.newbyteorder(byteorder) if byteorder in "<>" else self.dtype
        return self.result


class _PendingArray(_Pending):
    """``numpy.core.multiarray._reconstruct(ndarray, (0,), b'b')`` until BUILD fills it."""

    def build(self, state):
        # NumPy's ndarray state: (version, shape, dtype, is_fortran, raw bytes), version 1
        if isinstance(state, tuple) and len(state) == 5:
            state = state[1:]
        if not isinstance(state, tuple) or len(state) != 4:
            raise PickleRefused(f"array state must be NumPy's (version, shape, dtype, is_fortran, "
                           f"data) tuple, got {type(state).__name__}")
        shape, dtype, is_fortran, raw = state
        self.result = _checked_array(raw, dtype, shape, "F" if is_fortran is True else "C")
        return self.result


class StandIn:
    """What a global resolves to: a named, validating replacement of the real callable.
    Immutable (slots, no attribute may be set), so no pickle can change it for the next."""

    __slots__ = ("name", "function")

    def __init__(self, name: str, function):
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "function", function)

    def __setattr__(self, name, value):
        raise AttributeError(f"{self!r} is read-only")

    def __call__(self, *args):
        return self.function(*args)

    def __repr__(self) -> str:
        return f"<restricted {self.name}>"


def _refuse_ndarray_call(*args):
    raise PickleRefused("numpy.ndarray may only be named as the class given to _reconstruct")


_NDARRAY = StandIn("numpy.ndarray", _refuse_ndarray_call)


def _reconstruct(cls, shape, code):
    if cls is not _NDARRAY or shape != (0,) or code not in (b"b", "b"):
        raise PickleRefused("_reconstruct is allowed only as _reconstruct(ndarray, (0,), b'b')")
    return _PendingArray()


def _frombuffer(buffer, dtype, shape, order):
    return _checked_array(buffer, dtype, shape, order)


def _scalar(dtype, raw):
    dtype = plain_dtype(dtype, "scalar dtype")
    if not isinstance(raw, bytes) or len(raw) != dtype.itemsize:
        raise PickleRefused(f"a {dtype} scalar needs {dtype.itemsize} bytes, got {raw!r:.40}")
    return np.frombuffer(raw, dtype=dtype)[0]


def _latin1_encode(text, encoding="utf-8"):
    """The one use of ``_codecs.encode`` in a protocol-2 pickle: bytes stored as latin-1."""
    if not isinstance(text, str) or not isinstance(encoding, str) \
            or encoding.replace("-", "").lower() != "latin1":
        raise PickleRefused("_codecs.encode is allowed only as (str, 'latin1')")
    return text.encode("latin1")


def _empty_bytes():
    """``bytes()``: how protocol 2 stores an empty bytes object (an empty array's data)."""
    return b""


def _allowed_globals() -> dict[tuple[str, str], StandIn]:
    allowed = {("numpy", "ndarray"): _NDARRAY,
               ("numpy", "dtype"): StandIn("numpy.dtype", _PendingDtype),
               ("_codecs", "encode"): StandIn("_codecs.encode", _latin1_encode)}
    for builtins in ("builtins", "__builtin__"):  # Python 3 and 2 spellings
        allowed[(builtins, "bytes")] = StandIn("bytes", _empty_bytes)
    for package in ("numpy.core", "numpy._core"):  # NumPy 1 and NumPy 2 spell it apart
        allowed[(f"{package}.multiarray", "_reconstruct")] = StandIn("_reconstruct",
                                                                      _reconstruct)
        allowed[(f"{package}.multiarray", "scalar")] = StandIn("scalar", _scalar)
        allowed[(f"{package}.numeric", "_frombuffer")] = StandIn("_frombuffer", _frombuffer)
    return allowed


#: What an opcode is charged against a pickle's memory budget: at least what it can add to
#: memory (a stack slot and a small int, string, tuple or memo entry: under 96 bytes) ...
OPCODE_COST = 96
#: ... and what the opcodes that make an empty set or dict (up to 216 bytes) are charged.
OPCODE_COSTS = {pickle.EMPTY_SET[0]: 256, pickle.FROZENSET[0]: 256, pickle.EMPTY_DICT[0]: 256,
                pickle.DICT[0]: 256, pickle.REDUCE[0]: 256}
#: A pickle may build objects worth this many bytes, plus ``BUDGET_PER_BYTE`` per byte of it.
BUDGET_FLOOR = 16 << 20
BUDGET_PER_BYTE = 8


class PickleBudgetError(pickle.UnpicklingError):
    """A pickle runs more opcodes than its size allows (``BUDGET_FLOOR``, ``BUDGET_PER_BYTE``)."""


def _refuse_opcode(name: str):
    def refuse(self):
        raise PickleRefused(f"the {name} opcode (it creates objects of classes or calls hooks) is "
                       "not allowed")
    return refuse


_FLAT_KEYS = (str, bytes, int, float, bool, type(None), np.generic)


def _check_keys(keys) -> None:
    """Dict keys and set items must be flat (a scalar or a tuple of scalars): hashing a
    tuple hashes its items again, so a chain of 40 shared tuples takes 2**40 steps."""
    for key in keys:
        if not (isinstance(key, _FLAT_KEYS) or isinstance(key, tuple) and len(key) <= 64
                and all(isinstance(item, _FLAT_KEYS) for item in key)):
            raise PickleRefused(f"a dict key or set item must be a string, bytes, a number or "
                                f"a flat tuple of them, not a {type(key).__name__} holding "
                                "containers (they can take exponential time to hash)")


def _charged(opcode, cost: int):
    def run(self):
        self.budget -= cost
        if self.budget < 0:
            raise PickleBudgetError(
                f"the pickle's {self.size} bytes run so many opcodes that they could make "
                f"more than {self.allowance} bytes of objects ({BUDGET_PER_BYTE} times its "
                "size; refused before memory runs out)")
        opcode(self)
    return run


class BoundedUnpickler(pickle._Unpickler):
    """The pure-Python unpickler, reading a pickle held in memory, with three doors shut.

    - Memory: every opcode is charged ``OPCODE_COST`` (``OPCODE_COSTS``) against a budget of
      ``BUDGET_FLOOR + BUDGET_PER_BYTE * len(content)``, so no run of one-byte opcodes
      (``EMPTY_SET``, ``EMPTY_DICT``) makes objects out of proportion to the file; memo
      indices are dict keys (the C unpickler sizes an array by the largest, 2**28 -> 4 GiB);
      ``BYTEARRAY8`` reads its bytes before making the bytearray.
    - Code: a global resolves only through ``allowed`` ((module, name) -> :class:`StandIn`
      or another object of the subclass's choosing; per load where it has state), REDUCE
      calls only what :meth:`may_call` accepts, and the opcodes that create instances of
      classes or call hooks (INST, OBJ, NEWOBJ, NEWOBJ_EX, PERSID, EXT1/2/4, out-of-band
      buffers) are refused; BINPERSID too unless a subclass allows it.
    - State: BUILD goes through :meth:`build`, which refuses by default, so a pickle cannot
      set the attributes of anything it is handed.
    - Time: dict keys and set items must be flat (scalars, or tuples of scalars): a chain of
      shared tuples as a key would take 2**depth steps to hash.
    """

    dispatch = dict(pickle._Unpickler.dispatch)
    for _name in ("INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "PERSID", "BINPERSID", "EXT1", "EXT2",
                  "EXT4", "NEXT_BUFFER", "READONLY_BUFFER"):
        dispatch[getattr(pickle, _name)[0]] = _refuse_opcode(_name)
    del _name

    allowed: dict = {}

    def __init__(self, content: bytes, **kwargs):
        super().__init__(io.BytesIO(content), **kwargs)
        self.size = len(content)
        self.budget = BUDGET_FLOOR + BUDGET_PER_BYTE * len(content)
        self.allowance = self.budget
        # an instance table, so subclasses' own entries are charged too
        self.dispatch = {code: _charged(opcode, OPCODE_COSTS.get(code, OPCODE_COST))
                         for code, opcode in type(self).dispatch.items()}

    def find_class(self, module, name):
        try:
            return self.allowed[(module, name)]
        except (KeyError, TypeError):
            raise PickleRefused(f"the file asks for the global {module!s:.60}.{name!s:.60}, which "
                           "is not allowed here") from None

    def may_call(self, function) -> bool:
        return isinstance(function, StandIn)

    def build(self, target, state):
        raise PickleRefused(f"BUILD (setting an object's state) is not allowed on a "
                       f"{type(target).__name__}")

    def load_reduce(self):
        if not self.may_call(self.stack[-2]):
            raise PickleRefused(f"REDUCE may only call an allowed reconstruction, not a "
                           f"{type(self.stack[-2]).__name__}")
        pickle._Unpickler.load_reduce(self)

    def load_build(self):
        state = self.stack.pop()
        self.stack[-1] = self.build(self.stack[-1], state)

    def load_bytearray8(self):
        """Reads the bytes first: the stock opcode makes ``bytearray(length)`` from the
        8-byte length before reading, so 2 inserted bytes could reserve 600 MB."""
        (length,) = struct.unpack("<Q", self.read(8))
        data = self.read(length)
        if len(data) != length:
            raise pickle.UnpicklingError(f"BYTEARRAY8 declares {length} bytes, {len(data)} "
                                         "follow")
        self.append(bytearray(data))

    def load_setitem(self):
        _check_keys(self.stack[-2:-1])
        pickle._Unpickler.load_setitem(self)

    def load_setitems(self):  # after MARK, ``stack`` holds just the marked items
        _check_keys(self.stack[::2])
        pickle._Unpickler.load_setitems(self)

    def load_dict(self):
        _check_keys(self.stack[::2])
        pickle._Unpickler.load_dict(self)

    def load_additems(self):
        _check_keys(self.stack)
        pickle._Unpickler.load_additems(self)

    def load_frozenset(self):
        _check_keys(self.stack)
        pickle._Unpickler.load_frozenset(self)

    dispatch[pickle.BYTEARRAY8[0]] = load_bytearray8
    dispatch[pickle.REDUCE[0]] = load_reduce
    dispatch[pickle.BUILD[0]] = load_build
    dispatch[pickle.SETITEM[0]] = load_setitem
    dispatch[pickle.SETITEMS[0]] = load_setitems
    dispatch[pickle.DICT[0]] = load_dict
    dispatch[pickle.ADDITEMS[0]] = load_additems
    dispatch[pickle.FROZENSET[0]] = load_frozenset


class _RestrictedUnpickler(BoundedUnpickler):
    """Data pickles: NumPy reconstruction stand-ins, BUILD only on what they began."""

    dispatch = dict(BoundedUnpickler.dispatch)
    allowed = _allowed_globals()

    def build(self, target, state):
        if not isinstance(target, _Pending) or target.result is not None:
            raise PickleRefused(f"BUILD (setting an object's state) is allowed only on a NumPy "
                           f"dtype or array being reconstructed, not on a "
                           f"{type(target).__name__}")
        return target.build(state)

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

    dispatch[pickle.GET[0]] = load_get
    dispatch[pickle.BINGET[0]] = load_binget
    dispatch[pickle.LONG_BINGET[0]] = load_long_binget


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
        The file is not a readable pickle (truncated, corrupt), or runs more opcodes than
        its size allows (:class:`BoundedUnpickler`). Both name ``path``.

    Examples
    --------
    >>> import os, tempfile; folder = tempfile.mkdtemp(); import pickle
    >>> path = os.path.join(folder, 'batch.pkl')
    >>> batch = {'labels': [3, 1], 'data': np.zeros((2, 4), np.uint8)}
    >>> _ = open(path, 'wb').write(pickle.dumps(batch))
    >>> batch = load_restricted_pickle(path)
    >>> batch['labels'], batch['data'].shape
    ([3, 1], (2, 4))
    """
    with open(path, "rb") as handle:
        content = handle.read()
    try:
        return _RestrictedUnpickler(content, encoding="bytes").load()
    except PickleRefused as error:
        raise UnsafePickleError(f"{path}: refused to unpickle: {error} (nothing was "
                                "executed)") from None
    except PickleBudgetError as error:
        raise DataFormatError(f"{path}: refused: {error}") from None
    except Exception as error:  # noqa: BLE001 - any failure of a crafted file is a format error
        raise DataFormatError(f"{path}: not a readable pickle, or truncated "
                              f"({type(error).__name__}: {str(error):.200})") from None
