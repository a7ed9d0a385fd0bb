"""PyTorch checkpoints (``torch.save``'s zip format) read without PyTorch, and without
running anything from the file.

A ``.pth``/``.pt`` file is a zip archive: ``<name>/data.pkl`` is a pickle of the saved
object whose tensors point, through "persistent ids", at raw storages ``<name>/data/<key>``
(plus ``<name>/byteorder``). Unpickling normally imports and calls whatever globals the
pickle names, which is how a crafted file runs code. Here a restricted unpickler accepts
exactly the globals a saved state_dict needs and maps each to a NumPy stand-in:

=====================================  =============================================
global in the pickle                   rebuilt as
=====================================  =============================================
``collections.OrderedDict``            ``collections.OrderedDict``
``torch._utils._rebuild_tensor_v2``    a NumPy array viewed from its storage, copied
``torch._utils._rebuild_parameter``    the array of its tensor
``torch.<Type>Storage``                the storage's NumPy dtype (``STORAGE_DTYPES``)
=====================================  =============================================

Every other global (``os.system``, ``builtins.eval``, ``posix.system``, any class) is
refused with :class:`UnsafeCheckpointError` before it is even looked up, so nothing from
the file is imported or called. Each storage's size is checked against its archive member,
and each tensor's extent against its storage, before any array is made.
"""

from __future__ import annotations

import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

from ..data.npz import unreadable_zip_members

STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "BFloat16Storage": np.uint16, "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}
"""torch storage type -> NumPy dtype. bfloat16 (no NumPy dtype) is read as its raw 16 bits
and widened to float32 exactly (:func:`bfloat16_to_float32`)."""


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint's pickle names a global outside the allowed set (see the module)."""


class CheckpointFormatError(ValueError):
    """A checkpoint file is not a valid ``torch.save`` zip archive, or is inconsistent."""


class _StorageType:
    """Stands in for ``torch.FloatStorage`` and its kin: just the name and dtype."""

    def __init__(self, name: str):
        self.name, self.dtype = name, np.dtype(STORAGE_DTYPES[name])


def bfloat16_to_float32(bits: np.ndarray) -> np.ndarray:
    """bfloat16 is the top half of a float32: shift its 16 bits up (exact)."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    """The array of ``torch._utils._rebuild_tensor_v2``: ``storage`` seen with ``size`` and
    ``stride`` (in elements) from ``storage_offset``, checked to lie inside it, copied."""
    array, is_bfloat16 = storage
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride) or min(size, default=1) < 0 or min(stride, default=0) < 0:
        raise CheckpointFormatError(f"tensor with size {size} and stride {stride} is invalid")
    offset = int(storage_offset)
    if 0 in size:
        view = np.zeros(size, dtype=array.dtype)
    else:
        last = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
        if offset < 0 or last >= array.size:
            raise CheckpointFormatError(
                f"tensor of size {size}, stride {stride}, offset {offset} reaches element "
                f"{last} of a storage of {array.size}")
        view = np.lib.stride_tricks.as_strided(
            array[offset:], size, tuple(s * array.itemsize for s in stride), writeable=False)
    result = np.array(view)
    return bfloat16_to_float32(result) if is_bfloat16 else result


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    return data


ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): _StorageType(name) for name in STORAGE_DTYPES},
}
"""(module, name) -> what the restricted unpickler gives for it; nothing else is allowed."""


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, archive: zipfile.ZipFile, prefix: str, byteorder: str):
        super().__init__(file)
        self.archive, self.prefix, self.byteorder = archive, prefix, byteorder
        self.storages: dict[str, tuple[np.ndarray, bool]] = {}

    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafeCheckpointError(
                f"refusing to load global {module}.{name}: a checkpoint may only use "
                f"tensors, storages and OrderedDict (nothing from the file is run)")
        return ALLOWED_GLOBALS[(module, name)]

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise CheckpointFormatError(f"unexpected persistent id {pid!r}")
        _, storage_type, key, _location, numel = pid
        key = str(key)
        if key not in self.storages:
            self.storages[key] = self._read_storage(key, storage_type, int(numel))
        return self.storages[key]

    def _read_storage(self, key: str, storage_type: _StorageType, numel: int):
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
        raw = np.frombuffer(self.archive.read(member), dtype=dtype)
        return raw.astype(dtype.newbyteorder("=")), storage_type.name == "BFloat16Storage"


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
        When the pickle names any global but the allowed ones (see the module docstring);
        nothing from the file has run.
    CheckpointFormatError
        For a file that is not a zip checkpoint (e.g. the legacy pre-1.6 format), a missing
        or wrongly sized storage, or a tensor reaching outside its storage.
    """
    path = Path(path)
    if not zipfile.is_zipfile(path):
        raise CheckpointFormatError(
            f"{path} is not a zip-format PyTorch checkpoint (the legacy format of PyTorch "
            f"< 1.6 is not supported: re-save it with torch.save in a current PyTorch)")
    with zipfile.ZipFile(path) as archive:
        unreadable = unreadable_zip_members(archive)
        if unreadable:
            raise CheckpointFormatError(f"{path}: encrypted or patched member(s) "
                                        f"{unreadable[:5]} cannot be read")
        pickles = [name for name in archive.namelist() if name.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise CheckpointFormatError(f"{path}: expected one '<name>/data.pkl' member, found "
                                        f"{len(pickles)}")
        prefix = pickles[0][:-len("/data.pkl")]
        byteorder = "little"
        if f"{prefix}/byteorder" in archive.namelist():
            byteorder = archive.read(f"{prefix}/byteorder").decode("ascii").strip()
            if byteorder not in ("little", "big"):
                raise CheckpointFormatError(f"{path}: unknown byte order {byteorder!r}")
        with archive.open(pickles[0]) as file:
            loaded = _RestrictedUnpickler(file, archive, prefix, byteorder).load()
    return dict(loaded) if isinstance(loaded, OrderedDict) else loaded


def convert_torch_checkpoint(in_path, out_path) -> dict:
    """Convert a ``torch.save``'d state_dict to a safetensors file (read with
    :func:`load_torch_checkpoint`, so without PyTorch and without running the file).

    Returns the state (name -> array) that was written.

    Raises
    ------
    ValueError
        If the checkpoint is not a flat mapping of names to arrays.
    """
    from safetensors.numpy import save_file

    state = load_torch_checkpoint(in_path)
    if not isinstance(state, dict) or not all(
            isinstance(key, str) and isinstance(value, np.ndarray) for key, value in state.items()):
        raise ValueError(f"{in_path} does not hold a state_dict (a mapping of names to tensors); "
                         f"select one first, e.g. checkpoint['state_dict']")
    save_file({key: np.ascontiguousarray(value) for key, value in state.items()}, str(out_path))
    return state
