"""PyTorch checkpoints (``torch.save``'s zip format) read without PyTorch, and without
running anything from the file.

A ``.pth``/``.pt`` file is a zip archive: ``<name>/data.pkl`` is a pickle of the saved
object whose tensors point, through "persistent ids", at raw storages ``<name>/data/<key>``
(plus ``<name>/byteorder``). Unpickling normally imports and calls whatever globals the
pickle names, which is how a crafted file runs code. Here a restricted unpickler
(:class:`~visiongrad.data.safe_pickle.BoundedUnpickler`, pure Python, with a memory budget)
accepts exactly the globals a saved state_dict needs and maps each to a stand-in made for
this load alone:

=====================================  =============================================
global in the pickle                   rebuilt as
=====================================  =============================================
``collections.OrderedDict``            a new ``collections.OrderedDict``
``torch._utils._rebuild_tensor_v2``    a NumPy array viewed from its storage, copied
``torch._utils._rebuild_parameter``    the array of its tensor
``torch.<Type>Storage``                the storage's NumPy dtype (``STORAGE_DTYPES``)
=====================================  =============================================

Every other global (``os.system``, ``builtins.eval``, ``posix.system``, any class) is
refused with :class:`UnsafeCheckpointError` before it is even looked up, so nothing from
the file is imported or called. BUILD (setting an object's state) is allowed only on an
OrderedDict this load made (a state_dict's ``_metadata``, which is dropped), so a file can
change nothing that outlives it: the stand-ins are immutable and new for every load.

Sizes are bounded by what the file holds: each storage's size is checked against its
archive member (deflated members may expand at most ``MAX_EXPANSION_RATIO`` times, or
to 16 MiB), each
tensor must lie inside its storage and hold no more elements than it (stride 0 and
overlapping strides cannot multiply a file's bytes), and the tensors of one file together
may hold at most ``TENSOR_BYTES_PER_STORAGE_BYTE`` times its storages' bytes.
"""

from __future__ import annotations

import math
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..data.npz import (
    MAX_EXPANSION_RATIO,
    expansion_limit,
    read_at_most,
    unreadable_zip_members,
)
from ..data.safe_pickle import (
    MAX_NDIM,
    BoundedUnpickler,
    PickleBudgetError,
    PickleRefused,
    StandIn,
)

STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "BFloat16Storage": np.uint16, "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}
"""torch storage type -> NumPy dtype. bfloat16 (no NumPy dtype) is read as its raw 16 bits
and widened to float32 exactly (:func:`bfloat16_to_float32`)."""

#: The tensors of one file may hold together at most this many times the bytes of its
#: storages: views and tied weights share a storage a few times, never thousands.
TENSOR_BYTES_PER_STORAGE_BYTE = 4

#: The longest storage key (torch writes "0", "1", ...).
MAX_KEY_LENGTH = 256

#: The compression methods of the members torch.save writes (stored) and torch.load reads.
_ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint's pickle names a global outside the allowed set, or sets the state of
    an object (see the module); nothing from the file has run.

    Examples
    --------
    >>> import os, pickle, tempfile, zipfile; path = os.path.join(tempfile.mkdtemp(), 'evil.pt')
    >>> from visiongrad.io import load_torch_checkpoint
    >>> with zipfile.ZipFile(path, 'w') as archive:
    ...     archive.writestr('archive/data.pkl', pickle.dumps(os.system, protocol=2))
    >>> try:
    ...     load_torch_checkpoint(path)
    ... except UnsafeCheckpointError as error:
    ...     print(type(error).__name__)
    UnsafeCheckpointError
    """


class CheckpointFormatError(ValueError):
    """A checkpoint file is not a valid ``torch.save`` zip archive, or is inconsistent.

    Examples
    --------
    >>> import os, tempfile; path = os.path.join(tempfile.mkdtemp(), 'model.pt')
    >>> from visiongrad.io import load_torch_checkpoint
    >>> _ = open(path, 'wb').write(b'not a zip archive')
    >>> try:
    ...     load_torch_checkpoint(path)
    ... except CheckpointFormatError as error:
    ...     print(type(error).__name__, 'model.pt' in str(error))
    CheckpointFormatError True
    """


class _StorageType(NamedTuple):
    """Stands in for ``torch.FloatStorage`` and its kin: just the name and dtype."""

    name: str
    dtype: np.dtype


class _Storage(NamedTuple):
    """One storage of the file, as its persistent id resolves: elements in native order."""

    array: np.ndarray
    is_bfloat16: bool


def bfloat16_to_float32(bits: np.ndarray) -> np.ndarray:
    """bfloat16 is the top half of a float32: shift its 16 bits up (exact)."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


def _is_index_tuple(value) -> bool:
    return isinstance(value, tuple) and len(value) <= MAX_NDIM and all(
        type(item) is int for item in value)


def _describe(value) -> str:
    """A short description of a value from the file: its type and length, never its repr
    (a few bytes of shared references can expand to gigabytes of text)."""
    length = f" of length {len(value)}" if isinstance(value, (tuple, list, str, bytes)) else ""
    return f"a {type(value).__name__}{length}"


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    return data


class _RestrictedUnpickler(BoundedUnpickler):
    dispatch = dict(BoundedUnpickler.dispatch)
    dispatch[pickle.BINPERSID[0]] = BoundedUnpickler.load_binpersid  # storages

    def __init__(self, content: bytes, archive: zipfile.ZipFile, prefix: str, byteorder: str):
        super().__init__(content)
        self.archive, self.prefix, self.byteorder = archive, prefix, byteorder
        self.storages: dict[str, _Storage] = {}
        self.dicts: list[OrderedDict] = []  # the OrderedDicts this load made (BUILD's targets),
        self.dict_ids: set[int] = set()  # kept alive in ``dicts`` so their ids stay theirs
        self.storage_bytes = self.tensor_bytes = 0
        self.allowed = {
            ("collections", "OrderedDict"): StandIn("collections.OrderedDict", self.new_dict),
            ("torch._utils", "_rebuild_tensor_v2"): StandIn("_rebuild_tensor_v2",
                                                            self.rebuild_tensor),
            ("torch._utils", "_rebuild_parameter"): StandIn("_rebuild_parameter",
                                                            _rebuild_parameter),
            **{("torch", name): _StorageType(name, np.dtype(dtype))
               for name, dtype in STORAGE_DTYPES.items()},
        }

    def find_class(self, module, name):
        if (module, name) not in self.allowed:
            raise UnsafeCheckpointError(
                f"refusing to load global {module!s:.60}.{name!s:.60}: a checkpoint may only "
                f"use tensors, storages and OrderedDict (nothing from the file is run)")
        return self.allowed[(module, name)]

    def new_dict(self, *args):
        if args:
            raise CheckpointFormatError(f"OrderedDict is built from no arguments, got "
                                        f"{len(args)}")
        self.dicts.append(OrderedDict())
        self.dict_ids.add(id(self.dicts[-1]))
        return self.dicts[-1]

    def build(self, target, state):
        """BUILD only on an OrderedDict made by this load (a state_dict's ``_metadata``
        state, which is dropped); never on a stand-in, storage type or array."""
        if id(target) not in self.dict_ids or not isinstance(state, dict):
            raise UnsafeCheckpointError(
                f"refusing BUILD (setting an object's state) on {_describe(target)}: only "
                "an OrderedDict of this file may carry state")
        return target

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str)
                and len(pid[2]) <= MAX_KEY_LENGTH and type(pid[4]) is int):
            raise CheckpointFormatError(f"unexpected persistent id: {_describe(pid)}, not "
                                        "('storage', <Type>Storage, key, location, size)")
        _, storage_type, key, _location, numel = pid
        if key not in self.storages:
            self.storages[key] = self._read_storage(key, storage_type, numel)
        return self.storages[key]

    def _read_storage(self, key: str, storage_type: _StorageType, numel: int) -> _Storage:
        member = f"{self.prefix}/data/{key}"
        try:
            info = self.archive.getinfo(member)
        except KeyError:
            raise CheckpointFormatError(f"storage {key!r} is missing: no member {member}") \
                from None
        dtype = storage_type.dtype.newbyteorder("<" if self.byteorder == "little" else ">")
        if numel < 0 or info.file_size != numel * dtype.itemsize:
            raise CheckpointFormatError(
                f"storage {key!r} should hold {numel} {storage_type.name} elements "
                f"({numel * dtype.itemsize} bytes), but {member} has {info.file_size} bytes")
        with self.archive.open(info) as handle:
            raw = read_at_most(handle, info.file_size + 1)
        if len(raw) != info.file_size:
            raise CheckpointFormatError(f"{member} holds {len(raw)} bytes, its header says "
                                        f"{info.file_size}")
        self.storage_bytes += len(raw)
        array = np.frombuffer(raw, dtype=dtype)
        if not dtype.isnative:
            array = array.astype(dtype.newbyteorder("="))
        return _Storage(array, storage_type.name == "BFloat16Storage")

    def rebuild_tensor(self, storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
        """The array of ``torch._utils._rebuild_tensor_v2``: ``storage`` seen with ``size``
        and ``stride`` (in elements) from ``storage_offset``, checked to lie inside it and
        to hold no more elements than it, then copied."""
        if not (isinstance(storage, _Storage) and type(storage_offset) is int
                and _is_index_tuple(size) and _is_index_tuple(stride)):
            raise CheckpointFormatError(
                f"_rebuild_tensor_v2 needs (storage, offset, size, stride), got "
                f"({_describe(storage)}, {_describe(storage_offset)}, {_describe(size)}, "
                f"{_describe(stride)})")
        array, numel = storage.array, math.prod(size)
        if len(size) != len(stride) or min(size, default=1) < 0 or min(stride, default=0) < 0:
            raise CheckpointFormatError(f"tensor with size {size} and stride {stride} is "
                                        "invalid")
        if numel == 0:
            view = np.zeros(size, dtype=array.dtype)
        else:
            last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
            if storage_offset < 0 or last >= array.size:
                raise CheckpointFormatError(
                    f"tensor of size {size}, stride {stride}, offset {storage_offset} reaches "
                    f"element {last} of a storage of {array.size}")
            view = np.lib.stride_tricks.as_strided(
                array[storage_offset:], size, tuple(s * array.itemsize for s in stride),
                writeable=False)
        if numel > array.size:
            raise CheckpointFormatError(
                f"a tensor of size {size} and stride {stride} has {numel} elements, more than "
                f"its storage's {array.size} (stride 0 or overlapping strides are refused)")
        self.tensor_bytes += numel * array.itemsize
        if self.tensor_bytes > TENSOR_BYTES_PER_STORAGE_BYTE * self.storage_bytes:
            raise CheckpointFormatError(
                f"the tensors hold more than {TENSOR_BYTES_PER_STORAGE_BYTE} times the "
                f"{self.storage_bytes} bytes of the storages they view")
        result = np.array(view)
        return bfloat16_to_float32(result) if storage.is_bfloat16 else result


def _check_members(archive: zipfile.ZipFile, file_size: int) -> None:
    unreadable = unreadable_zip_members(archive)
    if unreadable:
        raise CheckpointFormatError(f"encrypted or patched member(s) {unreadable[:5]} cannot "
                                    "be read")
    for info in archive.infolist():
        if info.compress_type not in _ZIP_METHODS:
            raise CheckpointFormatError(
                f"member {info.filename!r:.80} uses compression method {info.compress_type}; "
                "a checkpoint's members are stored or deflated")
        if info.compress_size > file_size or info.compress_type == zipfile.ZIP_STORED \
                and info.file_size != info.compress_size:
            raise CheckpointFormatError(  # zipfile would read (and reserve) what is declared
                f"member {info.filename!r:.80} declares {info.compress_size} stored bytes "
                f"({info.file_size} uncompressed) in a file of {file_size}")
    deflated = [info for info in archive.infolist() if info.compress_type != zipfile.ZIP_STORED]
    expanded = sum(info.file_size for info in deflated)
    limit = expansion_limit(sum(info.compress_size for info in deflated))
    if expanded > limit:
        raise CheckpointFormatError(
            f"deflated members declare {expanded} bytes, more than the {limit} their "
            f"compressed bytes may expand to ({MAX_EXPANSION_RATIO} times; refused)")


def _read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    """A member's bytes, read in chunks up to its checked size (never one read of what a
    damaged header declares)."""
    info = archive.getinfo(name)
    with archive.open(info) as handle:
        return bytes(read_at_most(handle, info.file_size))


def _load(path: Path, archive: zipfile.ZipFile):
    _check_members(archive, path.stat().st_size)
    pickles = [name for name in archive.namelist() if name.endswith("/data.pkl")]
    if len(pickles) != 1:
        raise CheckpointFormatError(f"expected one '<name>/data.pkl' member, found "
                                    f"{len(pickles)}")
    prefix = pickles[0][:-len("/data.pkl")]
    byteorder = "little"
    if f"{prefix}/byteorder" in archive.namelist():
        byteorder = _read_member(archive, f"{prefix}/byteorder")[:16].decode("ascii",
                                                                            "replace").strip()
        if byteorder not in ("little", "big"):
            raise CheckpointFormatError(f"unknown byte order {byteorder!r:.40}")
    content = _read_member(archive, pickles[0])
    return _RestrictedUnpickler(content, archive, prefix, byteorder).load()


def load_torch_checkpoint(path) -> dict:
    """Read a ``torch.save`` file (zip format, PyTorch >= 1.6) without PyTorch.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    dict
        The saved object with every tensor as a NumPy array: for a saved ``state_dict``,
        name -> array, ready for ``model.load_state_dict``. Nested dicts, lists and numbers
        (``{"state_dict": ..., "epoch": 3}``) come back as they were saved.

    Raises
    ------
    UnsafeCheckpointError
        When the pickle names any global but the allowed ones, or sets the state of an
        object (see the module docstring); nothing from the file has run.
    CheckpointFormatError
        For anything else wrong with the file: not a zip checkpoint (e.g. the legacy
        pre-1.6 format), a damaged archive or pickle, a missing or wrongly sized storage, a
        tensor reaching outside its storage or larger than it, or more objects or bytes than
        the file can hold (module docstring). Both name ``path``; these are the only errors
        a file's content can cause.

    Examples
    --------
    A layer's weights saved by PyTorch, loaded into the same visiongrad layer (PyTorch
    writes the file here; reading it does not need PyTorch):

    >>> import os, tempfile, torch
    >>> path = os.path.join(tempfile.mkdtemp(), "linear.pth")
    >>> torch.save(torch.nn.Linear(3, 2).state_dict(), path)
    >>> state = load_torch_checkpoint(path)
    >>> {name: array.shape for name, array in state.items()}
    {'weight': (2, 3), 'bias': (2,)}
    >>> nn.Linear(3, 2).load_state_dict(state)
    {'missing_keys': [], 'unexpected_keys': []}
    """
    path = Path(path)
    if not zipfile.is_zipfile(path):
        raise CheckpointFormatError(
            f"{path} is not a zip-format PyTorch checkpoint (the legacy format of PyTorch "
            f"< 1.6 is not supported: re-save it with torch.save in a current PyTorch)")
    try:
        with zipfile.ZipFile(path) as archive:
            loaded = _load(path, archive)
    except (UnsafeCheckpointError, PickleRefused) as error:
        raise UnsafeCheckpointError(f"{path}: {error}") from None
    except (CheckpointFormatError, PickleBudgetError) as error:
        raise CheckpointFormatError(f"{path}: {error}") from None
    except Exception as error:  # noqa: BLE001 - any failure of a crafted file is a format error
        raise CheckpointFormatError(f"{path}: not a readable PyTorch checkpoint "
                                    f"({type(error).__name__}: {str(error):.200})") from None
    return dict(loaded) if isinstance(loaded, OrderedDict) else loaded


def convert_torch_checkpoint(in_path, out_path) -> dict:
    """Convert a ``torch.save``'d state_dict to a safetensors file (read with
    :func:`load_torch_checkpoint`, so without PyTorch and without running the file).

    Returns the state (name -> array) that was written.

    Raises
    ------
    ValueError
        If the checkpoint is not a flat mapping of names to arrays.

    Examples
    --------
    >>> import os, tempfile, torch
    >>> from safetensors.numpy import load_file
    >>> folder = tempfile.mkdtemp()
    >>> torch.save(torch.nn.Linear(3, 2).state_dict(), os.path.join(folder, "linear.pth"))
    >>> _ = convert_torch_checkpoint(os.path.join(folder, "linear.pth"),
    ...                              os.path.join(folder, "linear.safetensors"))
    >>> sorted(load_file(os.path.join(folder, "linear.safetensors")))
    ['bias', 'weight']
    """
    from safetensors.numpy import save_file

    state = load_torch_checkpoint(in_path)
    if not isinstance(state, dict) or not all(
            isinstance(key, str) and isinstance(value, np.ndarray) for key, value in state.items()):
        raise ValueError(f"{in_path} does not hold a state_dict (a mapping of names to tensors); "
                         f"select one first, e.g. checkpoint['state_dict']")
    save_file({key: np.ascontiguousarray(value) for key, value in state.items()}, str(out_path))
    return state
