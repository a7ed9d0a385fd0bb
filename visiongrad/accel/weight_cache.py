"""A convolution's weights in the kernels' blocks (``batched_conv.to_blocks``), kept between
inference calls while the weights stay the same.

Reordering the weights into blocks of 16 filters reads and writes every weight, on every
call (a tenth of ResNet-18's inference time at batch 32, 64x64); between two inference
calls the weights rarely change. ``weight_blocks`` keeps the blocks of each weight array
with a copy of the values they were made from, and reuses them only while the array is the
same object holding the same bytes: every call compares the two (libc's ``memcmp``, a read
of both, cheaper than the reordering), so a weight changed in place (an optimizer step, a
pruning mask, ``load_state_dict``) is seen at the next call and never answered from stale
blocks. An entry goes with its array (``weakref.finalize``); while it lives it holds
two more copies of the weight's size (the values and the blocks), only for the
convolutions that ran in inference.
"""

from __future__ import annotations

import ctypes
import weakref

from ..backend import is_host, xp
from .batched_conv import to_blocks

_libc_memcmp = ctypes.CDLL(None).memcmp
_libc_memcmp.argtypes = (ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
_libc_memcmp.restype = ctypes.c_int

_entries: dict[int, tuple] = {}  # id(weight) -> (weakref to it, copy of its values, blocks)


def same_bytes(a, b) -> bool:
    """Whether two C-contiguous arrays of one shape and dtype hold the same bytes."""
    return _libc_memcmp(a.ctypes.data, b.ctypes.data, a.nbytes) == 0


def weight_blocks(weight):
    """``to_blocks(weight)``, the same array as last time while ``weight`` is the same
    C-contiguous float32 host array with the same values; made (and kept) anew otherwise.

    Examples
    --------
    >>> from visiongrad.accel.weight_cache import weight_blocks
    >>> weight = np.ones((16, 2, 3, 3), np.float32)
    >>> weight_blocks(weight) is weight_blocks(weight)
    True
    >>> first = weight_blocks(weight)
    >>> weight[0, 0, 0, 0] = 2.0                   # changed in place: new blocks
    >>> again = weight_blocks(weight)
    >>> again is first, float(again[0, 0, 0, 0, 0])
    (False, 2.0)
    """
    if not (is_host(weight) and weight.dtype == xp.float32 and weight.flags.c_contiguous):
        return to_blocks(weight)
    entry = _entries.get(id(weight))
    if entry is not None:
        alive, values, blocks = entry
        if (alive() is weight and values.shape == weight.shape
                and same_bytes(values, weight)):
            return blocks
    blocks = to_blocks(weight)
    if entry is None:
        weakref.finalize(weight, _entries.pop, id(weight), None)
    _entries[id(weight)] = (weakref.ref(weight), weight.copy(), blocks)
    return blocks
