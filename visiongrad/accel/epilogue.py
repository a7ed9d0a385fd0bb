"""An inference convolution's output pass by the compiled kernel (``kernels/epilogue.c``):
y = act(y scale + shift + residual) per channel, in place on channels-last rows.

``ops/conv_eval.py`` asks ``channel_epilogue`` once per convolution; where it returns False
(float64, rows that are not contiguous, another array library, no library built) the op
runs its NumPy lines, the reference. The pass runs in parts of the rows, one part per core,
on ``kernels/parallel.c``'s threads (``row_parts``); ctypes releases the GIL for the call.
"""

from __future__ import annotations

from ..backend import is_host, xp
from .native import CHANNEL_EPILOGUE
from .threads import row_parts


def channel_epilogue(rows, scale, shift, residual=None, relu=False) -> bool:
    """rows = act(rows scale + shift + residual) in place, per channel, for (M, C) float32
    rows (``residual`` rows alike, or None; act ReLU where ``relu``, else the identity);
    returns False, with rows untouched, where the kernel does not take them.

    Examples
    --------
    >>> from visiongrad.accel.epilogue import channel_epilogue
    >>> rows = np.array([[1.0, -2.0], [3.0, 4.0]], np.float32)
    >>> scale, shift = np.array([2.0, 1.0], np.float32), np.array([0.0, -3.0], np.float32)
    >>> done = channel_epilogue(rows, scale, shift, relu=True)
    >>> not done or rows.tolist() == [[2.0, 0.0], [6.0, 1.0]]
    True
    """
    arrays = [rows] if residual is None else [rows, residual]
    if CHANNEL_EPILOGUE is None or not all(
            is_host(a) and a.dtype == xp.float32 and a.flags.c_contiguous for a in arrays):
        return False
    if residual is not None and residual.shape != rows.shape:
        raise ValueError(f"channel_epilogue: residual of shape {residual.shape} does not "
                         f"match the rows' {rows.shape}")
    channels = rows.shape[1]
    scale, shift = (xp.ascontiguousarray(xp.broadcast_to(xp.asarray(v, dtype=xp.float32),
                                                         (channels,))) for v in (scale, shift))

    CHANNEL_EPILOGUE(rows.ctypes.data, scale.ctypes.data, shift.ctypes.data,
                     None if residual is None else residual.ctypes.data, int(relu),
                     rows.shape[0], channels,
                     row_parts(rows.shape[0], rows.nbytes * (2 if residual is None else 3)))
    return True
