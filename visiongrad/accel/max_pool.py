"""Max pooling by the compiled kernels (``kernels/max_pool.c``): the forward pass with
each window's argument (the tap its maximum came from, one byte), and the backward pass
that adds dy there.

``ops/pool.py``'s ``MaxPool2d`` asks ``max_pool2d`` once; None means the case does not fit
(the library not built, not float32, x neither channels-last nor C-contiguous in memory,
a window of more than 256 taps) and the op runs its NumPy reference. An NCHW-contiguous x
is the same memory as (N C, H, W, 1) channels-last rows, and runs as such.
"""

from __future__ import annotations

from ..backend import is_host, xp
from .layout import as_nchw, channels_last, is_channels_last
from .native import MAX_POOL_BACKWARD, MAX_POOL_FORWARD
from .threads import in_parts

MAX_TAPS = 256
"""The argument is one byte: windows of at most this many taps."""


def _as_rows(x):
    """x (N, C, H, W) as contiguous (N', H, W, C') rows and whether they are
    channels-last (else NCHW-contiguous, N' = N C and C' = 1), or None."""
    if is_channels_last(x):
        return channels_last(x), True
    if x.flags.c_contiguous:
        n, c, h, w = x.shape
        return x.reshape(n * c, h, w, 1), False
    return None


class MaxPoolKernel:
    """The forward pass's y, with what the backward pass needs: the argument of each
    maximum (uint8, laid out as y) and the geometry."""

    def __init__(self, x_shape, channels_last_memory, geometry, y, arg):
        self.x_shape, self.channels_last = x_shape, channels_last_memory
        self.geometry, self.y, self.arg = geometry, y, arg

    def backward(self, dy):
        """dx (x's shape and memory layout) from dy (y's shape, any layout)."""
        n, c, h, w = self.x_shape
        found = _as_rows(dy) if dy.dtype == xp.float32 else None
        if found is not None and found[1] == self.channels_last:
            dy_rows = found[0]  # already in y's memory order (a convolution's dx): as it is
        else:
            dy_rows = xp.empty(self.arg.shape, dtype=xp.float32)
            _view(dy_rows, self.channels_last, self.y.shape)[...] = dy
        dx_rows = xp.empty((n, h, w, c) if self.channels_last else (n * c, h, w, 1),
                           dtype=xp.float32)
        (kh, kw), (sh, sw), (ph, pw) = self.geometry
        images, ho, wo, channels = self.arg.shape

        def part(span):
            count = span.stop - span.start
            MAX_POOL_BACKWARD(dy_rows[span].ctypes.data, self.arg[span].ctypes.data, count,
                              h, w, channels, kh, kw, sh, sw, ph, pw, ho, wo,
                              dx_rows[span].ctypes.data)

        in_parts(part, images, dx_rows.nbytes + dy_rows.nbytes)
        return _view(dx_rows, self.channels_last, self.x_shape)


def _view(rows, channels_last_memory, shape):
    """(N', H, W, C') rows seen as the NCHW array of ``shape`` they hold."""
    return as_nchw(rows) if channels_last_memory else rows.reshape(shape)


def max_pool2d(x, kernel, stride, padding, out_hw):
    """Max pooling of x (N, C, H, W) with windows that stay inside the input's padding
    (``ops/pool.py`` checks the geometry) as a ``MaxPoolKernel``, or None where the kernel
    does not fit. y keeps x's memory layout (channels-last or C order).

    Examples
    --------
    >>> from visiongrad import accel
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    >>> result = accel.max_pool2d(x, (2, 2), (2, 2), (0, 0), (2, 2))
    >>> result is None or result.y.tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    if not is_host(x):  # host guard: other arrays take the reference
        return None
    if (MAX_POOL_FORWARD is None or MAX_POOL_BACKWARD is None or x.dtype != xp.float32
            or x.ndim != 4 or kernel[0] * kernel[1] > MAX_TAPS or x.size == 0):
        return None
    found = _as_rows(x)
    if found is None:
        return None
    x_rows, channels_last_memory = found
    images, h, w, channels = x_rows.shape
    ho, wo = out_hw
    y_rows = xp.empty((images, ho, wo, channels), dtype=xp.float32)
    arg = xp.empty(y_rows.shape, dtype=xp.uint8)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding

    def part(span):
        MAX_POOL_FORWARD(x_rows[span].ctypes.data, span.stop - span.start, h, w, channels,
                         kh, kw, sh, sw, ph, pw, ho, wo, y_rows[span].ctypes.data,
                         arg[span].ctypes.data)

    in_parts(part, images, x_rows.nbytes + y_rows.nbytes)
    n, c = x.shape[:2]
    y = _view(y_rows, channels_last_memory, (n, c, ho, wo))
    return MaxPoolKernel(x.shape, channels_last_memory, (kernel, stride, padding), y, arg)
