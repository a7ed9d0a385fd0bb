"""The array namespace every op computes with, and the default floating dtype.

Ops never import NumPy for their arithmetic: they ask this module for ``xp``, so the same
code runs on CuPy arrays once CuPy is selected. NumPy is the only backend today.

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

import numpy as np

xp = np
"""The active array namespace (``numpy``)."""

_default_dtype = np.dtype(np.float32)


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


def to_numpy(array) -> np.ndarray:
    """Return ``array`` as a NumPy array (a no-op for NumPy input)."""
    get = getattr(array, "get", None)  # CuPy arrays copy to the host with .get()
    return get() if callable(get) and not isinstance(array, np.ndarray) else np.asarray(array)
