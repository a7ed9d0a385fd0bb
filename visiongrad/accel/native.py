"""The compiled kernels, where ``pip install`` built them: a plain C library loaded with ctypes.

Four small C files are visiongrad's only compiled code, each an optional fast path behind
an op whose NumPy version stays the reference it is tested against:

- ``ops/direct_conv.c``: the convolution's forward pass and weight gradient (used through
  ``ops/direct_conv.py`` on x86-64 CPUs with AVX2 and FMA);
- ``ops/activation.c``: ReLU's backward pass (``ops/activation.py``);
- ``ops/loss.c``: softmax cross-entropy's forward and backward passes (``ops/loss.py``);
- ``optim/sgd_step.c``: SGD's momentum update in one pass over memory (``optim/sgd.py``).

They are built as one optional extension (``setup.py``): where no C compiler is found the
install goes on without it. ``LIBRARY`` is None then, or when the user sets
``VISIONGRAD_NATIVE=0``, and every op takes its NumPy path. ctypes releases the GIL for
each call, so the convolution's threads run the kernel on their blocks at once.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os


def _load():
    if os.environ.get("VISIONGRAD_NATIVE", "1") == "0":
        return None
    spec = importlib.util.find_spec(f"{__package__}._native")
    if spec is None or spec.origin is None:
        return None
    try:
        return ctypes.CDLL(spec.origin)
    except OSError:  # built for another machine or damaged: run on NumPy as without it
        return None


LIBRARY = _load()


def kernel(name: str, argtypes: list, restype=None):
    """``LIBRARY``'s function ``name`` with its ctypes signature set, or None where the
    library was not loaded (the caller then takes its NumPy path)."""
    if LIBRARY is None:
        return None
    function = getattr(LIBRARY, name)
    function.argtypes, function.restype = argtypes, restype
    return function
