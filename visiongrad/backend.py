"""The array namespace of each array, the devices, and the default floating dtype.

Ops never bind NumPy for their arithmetic: they ask ``array_module(x)`` for the namespace
of the arrays they were given (CuPy's ``get_array_module`` idiom), so the same code runs on
another array library's arrays. NumPy (device ``"cpu"``) is the default and the only one
built in; ``register_device`` adds another (CuPy as ``"cuda"`` is registered on first use,
when it is installed). ``Tensor.device`` and ``Module.to(device)`` are built on this.

dtype policy: float32 by default for speed; float64 wherever gradients are checked
(``set_default_dtype(np.float64)`` or pass float64 arrays: ops keep their input's dtype).
What makes the ops fast (threads, BLAS settings, compiled kernels) is in ``accel``.

Examples
--------
>>> from visiongrad import backend
>>> backend.xp.__name__, backend.get_default_dtype()
('numpy', dtype('float32'))
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

xp = np
"""The host namespace (``numpy``), for code that builds arrays from nothing (no input to
take a namespace from). Ops take theirs from their inputs with ``array_module``."""

_default_dtype = np.dtype(np.float32)
_devices: dict[str, tuple[type, Any]] = {"cpu": (np.ndarray, np)}
_namespaces: dict[type, tuple[str, Any]] = {}


def get_default_dtype() -> np.dtype:
    """The floating dtype given to new tensors built from Python numbers and lists.

    Examples
    --------
    >>> import visiongrad as vg
    >>> vg.get_default_dtype()
    dtype('float32')
    """
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """Set the default floating dtype (float32 or float64).

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> vg.set_default_dtype(np.float64); vg.tensor([1.0]).dtype
    dtype('float64')
    >>> vg.set_default_dtype(np.float32)
    """
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"default dtype must be float32 or float64, got {dtype}")
    _default_dtype = dtype


def register_device(name: str, array_type: type, namespace: ModuleType | Any) -> None:
    """Make ``name`` a device whose arrays are ``array_type``, computed with ``namespace``
    (a module with NumPy's API: ``asarray``, ``zeros``, ``exp``, ``add.at``, ...)."""
    if name == "cpu":
        raise ValueError("device 'cpu' is NumPy's and cannot be registered again")
    _devices[name] = (array_type, namespace)
    _namespaces[array_type] = (name, namespace)


def unregister_device(name: str) -> None:
    """Forget a device added by ``register_device``."""
    array_type, _ = _devices.pop(name)
    _namespaces.pop(array_type, None)


def _device_entry(array) -> tuple[str, Any] | None:
    """(device name, namespace) of a registered non-NumPy array, or of the one an object
    holds in ``.data`` (a Tensor), else None."""
    if isinstance(array, (np.ndarray, np.generic)) or not _namespaces:
        return None
    entry = _namespaces.get(type(array))
    if entry is None:
        entry = _namespaces.get(type(getattr(array, "data", None)))
    return entry


def array_module(*arrays) -> Any:
    """The namespace to compute on ``arrays`` with: the first registered non-NumPy
    array's (``cupy`` for CuPy arrays; a Tensor counts as its ``data``), else ``numpy``
    (also for numbers and lists)."""
    if not _namespaces:  # only NumPy is known: nothing to look up
        return np
    for array in arrays:
        entry = _device_entry(array)
        if entry is not None:
            return entry[1]
    return np


def is_host(*arrays) -> bool:
    """Whether every one of ``arrays`` is a NumPy array (or scalar): the only kind compiled
    kernels and raw pointers may be given. The host guard at the entry of every fast path
    in ``accel``: where it fails, the fast path declines and the op runs its reference."""
    for array in arrays:  # a loop, not all(...): this runs on every fast path's entry
        if not isinstance(array, _HOST_TYPES):
            return False
    return True


_HOST_TYPES = (np.ndarray, np.generic)


def device_of(array) -> str:
    """The device name of ``array``: "cpu" for NumPy, else its registered name."""
    entry = _device_entry(array)
    return "cpu" if entry is None else entry[0]


def is_device(name: str) -> bool:
    """Whether ``name`` names a device: "cpu", "cuda" (CuPy) or a registered one."""
    return name in _devices or name == "cuda"


def _known_device(device: str) -> tuple[type, Any]:
    device = str(device)
    if device == "cuda" and device not in _devices:
        try:
            import cupy  # the GPU device, registered on first use where CuPy is installed
        except ImportError:
            raise ValueError("device 'cuda' needs CuPy, which is not installed") from None
        register_device("cuda", cupy.ndarray, cupy)
    if device not in _devices:
        raise ValueError(f"unknown device {device!r}; known: {sorted(_devices)}")
    return _devices[device]


def to_device(array, device: str):
    """``array`` as an array of ``device`` (the same object if it is there already)."""
    array_type, namespace = _known_device(device)
    if isinstance(array, array_type):
        return array
    host = to_numpy(array)
    return host if device == "cpu" else namespace.asarray(host)


def to_numpy(array) -> np.ndarray:
    """Return ``array`` as a NumPy array (a no-op for NumPy input)."""
    if isinstance(array, np.ndarray):
        return array
    get = getattr(array, "get", None)  # CuPy arrays copy to the host with .get()
    return get() if callable(get) else np.asarray(array)
