"""Scratch memory reused from call to call, and the batch cut into cache-sized blocks.

A convolution's large temporaries (the padded input, the im2col matrix) live in a
per-thread ``workspace``; arrays an op returns or saves are never workspace memory. The
batch goes through in blocks of a few examples (``batch_chunks``), so each block's window
matrix is still in cache when the product reads it, and the workspace holds one block's
worth instead of the whole batch's.
"""

from __future__ import annotations

import threading

from ..backend import array_module, is_host, xp
from .threads import available_cores


class _Workspace(threading.local):
    """Scratch arrays reused across calls, one per name, grown when a call needs more.

    A buffer is valid until the next request for the same name, so a function takes its
    scratch, uses it and returns a fresh array; nothing it returns or saves aliases one.

    Examples
    --------
    >>> from visiongrad.accel import workspace
    >>> first = workspace.take("example", (2, 3), np.float32)
    >>> again = workspace.take("example", (2, 3), np.float32)
    >>> first.shape, np.shares_memory(first, again)      # the same scratch, reused
    ((2, 3), True)
    """

    def __init__(self):
        self.buffers = {}

    def take(self, name: str, shape, dtype, like=None):
        """A scratch array of ``shape`` and ``dtype`` named ``name``; a fresh array of
        ``like``'s namespace where ``like`` is not a NumPy array (no reuse there)."""
        if like is not None and not is_host(like):
            return array_module(like).empty(shape, dtype=dtype)
        dtype = xp.dtype(dtype)
        nbytes = dtype.itemsize
        for size in shape:
            nbytes *= size
        buffer = self.buffers.get(name)
        if buffer is None or buffer.size < nbytes:
            buffer = self.buffers[name] = xp.empty(nbytes, dtype=xp.uint8)
        return buffer[:nbytes].view(dtype).reshape(shape)


workspace = _Workspace()
"""The scratch arrays of this thread (one ``_Workspace`` per thread).

Examples
--------
>>> scratch = workspace.take("example", (4, 4), np.float64)
>>> scratch.shape, np.shares_memory(scratch, workspace.take("example", (2,), np.float64))
((4, 4), True)
"""


CHUNK_BYTES = 4 << 20
"""The size of one im2col block: small enough that the window matrix stays in the L3
cache between being written and being read by the product (and the workspace holds 4 MB
instead of, say, 115 MB for VGG's 32-channel layer at batch 128); 4 MB blocks beat 2 MB,
8 MB and whole-batch ones (README, speed section)."""


def batch_chunks(n: int, bytes_per_example: int):
    """Slices of the batch axis of equal size (to one example), each of at most about
    ``CHUNK_BYTES`` of window matrix, and a multiple of the core count of them, so that
    ``split_over_cores`` gives every core the same work (a small layer's windows fit in
    one block, which would run on one core alone).

    Examples
    --------
    >>> from visiongrad import accel
    >>> chunks = accel.batch_chunks(100, bytes_per_example=1 << 20)
    >>> chunks[0].start, chunks[-1].stop
    (0, 100)
    """
    cores = available_cores()
    per_block = max(1, CHUNK_BYTES // max(1, bytes_per_example))
    blocks = -(-n // per_block)
    blocks = min(n, -(-blocks // cores) * cores)
    bounds = [n * i // blocks for i in range(blocks + 1)]
    return [slice(start, stop) for start, stop in zip(bounds, bounds[1:], strict=False)]


def window_bytes(out_hw, kernel, channels, dtype) -> int:
    """Bytes of one example's im2col rows: Ho * Wo rows of kh * kw * C values.

    Examples
    --------
    >>> from visiongrad import accel
    >>> accel.window_bytes((8, 8), (3, 3), 16, np.float32)   # 64 rows of 144 float32
    36864
    """
    return out_hw[0] * out_hw[1] * kernel[0] * kernel[1] * channels * xp.dtype(dtype).itemsize
