"""Batch norm's passes over channels-last rows by the compiled kernels
(``kernels/batch_norm.c``): per-channel sums, and a per-channel scale and shift (with a
residual and a ReLU or leaky ReLU for ``ops/norm_relu.py``, whose backward passes gate dy
by the rectifier's mask, recomputed from x: ``gate``).

``ops/norm.py``'s ``BatchNorm`` asks ``batch_norm_fits`` once per call and then runs
either these passes or its NumPy ones (the reference, for float64, for rows that are not
contiguous, and wherever the library is not built). Each pass runs in parts of the rows,
one part per core, on the helper threads of ``kernels/parallel.c`` (``row_parts`` says how
many); ctypes releases the GIL for each call.
"""

from __future__ import annotations

from ..backend import is_host, xp
from .native import CHANNEL_AFFINE, CHANNEL_AFFINE_RELU, CHANNEL_SUMS
from .threads import row_parts


def batch_norm_fits(rows) -> bool:
    """Whether the kernels are loaded and take these (M, C) rows: float32, contiguous, in
    NumPy (the host guard: another array library's rows take the reference).

    Examples
    --------
    >>> from visiongrad import accel
    >>> rows = np.ones((6, 3), np.float32)
    >>> accel.batch_norm_fits(rows) in (True, False), accel.batch_norm_fits(rows.astype(np.float64))
    (True, False)
    """
    return (is_host(rows) and CHANNEL_SUMS is not None and CHANNEL_AFFINE is not None
            and CHANNEL_AFFINE_RELU is not None and rows.ndim == 2 and rows.dtype == xp.float32
            and rows.flags.c_contiguous)


def _pointer(array):
    return None if array is None else array.ctypes.data


def _gate(gate, channels):
    """A gate (scale, shift, slope), or None, as the kernels read it."""
    if gate is None:
        return None, None, 0.0
    scale, shift, slope = gate
    return _per_channel(scale, channels), _per_channel(shift, channels), float(slope)


def _per_channel(vector, channels):
    """A per-channel vector as the kernels read it: contiguous float32 of ``channels``."""
    return None if vector is None else xp.ascontiguousarray(
        xp.broadcast_to(xp.asarray(vector, dtype=xp.float32), (channels,)))


def channel_sums(x, x_shift=None, y=None, y_shift=None, dots=True, gate=None):
    """Per-channel float64 (sum(x - x_shift), sum((x - x_shift)(y - y_shift))) over the
    rows of ``x`` (and ``y``, rows alike; y = x and y_shift = x_shift where y is None; a
    shift of None is 0); the second is None where ``dots`` is False. With ``gate``
    (scale, shift, slope), per-channel scale and shift and a number, the terms count in
    full where the rectifier of (y - y_shift) scale + shift was on, times slope elsewhere
    (0: only where a ReLU was on).

    Examples
    --------
    >>> from visiongrad import accel
    >>> rows = np.array([[1.0, 2.0], [3.0, 6.0]], np.float32)
    >>> accel.channel_sums(rows)
    (array([4., 8.]), array([10., 40.]))
    """
    rows, channels = x.shape
    x_shift, y_shift = _per_channel(x_shift, channels), _per_channel(y_shift, channels)
    gate_scale, gate_shift, gate_slope = _gate(gate, channels)

    parts = row_parts(rows, x.nbytes * (1 if y is None else 2))
    sums = xp.zeros((parts, channels))
    products = xp.zeros((parts, channels)) if dots else None
    CHANNEL_SUMS(x.ctypes.data, _pointer(x_shift), _pointer(y), _pointer(y_shift),
                 _pointer(gate_scale), _pointer(gate_shift), gate_slope, rows, channels,
                 sums.ctypes.data, _pointer(products), parts)
    return sums[0], (products[0] if dots else None)


SHIFT_SAMPLE_ROWS = 1024
"""Rows (spread evenly over the batch) whose mean ``shift_estimate`` takes."""


def shift_estimate(rows):
    """A float32 per-channel value near each channel's mean, for the statistics' shift:
    the mean of at most ``SHIFT_SAMPLE_ROWS`` rows spread evenly over all of them.

    The op sums c = x - shift and c^2 in one pass and carries delta = mean(c), so the
    statistics do not depend on the shift being the mean; one near it (a sample's mean is
    within a few standard deviations / 32 of it) keeps c small, so no precision is lost
    in c^2's sum, and it saves the whole pass over the rows that the exact mean takes.

    Examples
    --------
    >>> from visiongrad import accel
    >>> rows = np.array([[1.0, 2.0], [3.0, 6.0]], np.float32)
    >>> accel.batch_norm.shift_estimate(rows)
    array([2., 4.], dtype=float32)
    """
    step = max(1, rows.shape[0] // SHIFT_SAMPLE_ROWS)
    return rows[::step].mean(axis=0, dtype=xp.float64).astype(xp.float32)


def channel_affine(x, x_shift, x_scale, shift, y=None, y_scale=None, gate=None):
    """A new (M, C) float32 array (x - x_shift) x_scale + y y_scale + shift, per channel
    (no y term where ``y`` is None; with ``gate`` = (scale, shift, slope), the y term times
    slope where the rectifier of (x - x_shift) scale + shift was off).

    Examples
    --------
    >>> from visiongrad import accel
    >>> rows = np.array([[1.0, 2.0], [3.0, 6.0]], np.float32)
    >>> zero, two = np.zeros(2, np.float32), np.full(2, 2.0, np.float32)
    >>> accel.channel_affine(rows, x_shift=np.ones(2, np.float32), x_scale=two, shift=zero)
    array([[ 0.,  2.],
           [ 4., 10.]], dtype=float32)
    """
    rows, channels = x.shape
    x_shift, x_scale, shift, y_scale = (_per_channel(v, channels)
                                        for v in (x_shift, x_scale, shift, y_scale))
    gate_scale, gate_shift, gate_slope = _gate(gate, channels)
    out = xp.empty_like(x)

    CHANNEL_AFFINE(x.ctypes.data, x_shift.ctypes.data, x_scale.ctypes.data, _pointer(y),
                   _pointer(y_scale), _pointer(gate_scale), _pointer(gate_shift), gate_slope,
                   shift.ctypes.data, rows, channels, out.ctypes.data,
                   row_parts(rows, out.nbytes * (2 if y is None else 3)))
    return out


def channel_affine_relu(x, x_shift, x_scale, shift, residual=None, negative_slope=0.0):
    """A new (M, C) float32 array: z = (x - x_shift) x_scale + shift + residual per channel
    (no residual where ``residual`` is None; else contiguous rows like x), then z where
    z > 0, else ``negative_slope`` z (0: max(z, 0), the ReLU; else a leaky ReLU).

    Examples
    --------
    >>> from visiongrad import accel
    >>> rows = np.array([[1.0, 2.0], [3.0, 6.0]], np.float32)
    >>> zero, one = np.zeros(2, np.float32), np.ones(2, np.float32)
    >>> accel.batch_norm.channel_affine_relu(rows, np.full(2, 2.0, np.float32), one, zero)
    array([[0., 0.],
           [1., 4.]], dtype=float32)
    """
    rows, channels = x.shape
    x_shift, x_scale, shift = (_per_channel(v, channels) for v in (x_shift, x_scale, shift))
    out = xp.empty_like(x)

    CHANNEL_AFFINE_RELU(x.ctypes.data, x_shift.ctypes.data, x_scale.ctypes.data,
                        shift.ctypes.data, _pointer(residual), float(negative_slope), rows,
                        channels, out.ctypes.data,
                        row_parts(rows, out.nbytes * (2 if residual is None else 3)))
    return out
