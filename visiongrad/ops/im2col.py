"""im2col and col2im: a convolution's windows as the rows of one matrix, and the adjoint
that adds rows back into an image. The NumPy reference of every fast path in
``conv.py`` (and ``accel``'s direct kernel), itself tested against ``conv_naive.py``.

    cols[(n, ho, wo), (i, j, c)] = x_padded[n, c, ho sh + i dh, wo sw + j dw]
"""

from __future__ import annotations

from ..accel import channels_last, is_channels_last, workspace
from ..backend import array_module
from .window import output_hw


def im2col(x, kernel, stride, padding, dilation=(1, 1)):
    """Windows of NCHW ``x`` as rows: cols (N * Ho * Wo, kh * kw * C), workspace memory.

    cols[(n, ho, wo), (i, j, c)] = x_padded[n, c, ho * sh + i dh, wo * sw + j dw].
    Row-major (one strided view of the padded NHWC input, copied once) unless a window row
    is short (kw * C < ``SHORT_WINDOW_ROW``, a first layer on grey or colour images): then
    the same matrix is built offset by offset as its contiguous transpose and returned as a
    transposed view, which BLAS reads just as fast (``offset_major_im2col``). Without
    padding, a channels-last x is its own NHWC input and is read in place.
    """
    xp = array_module(x)
    n, c, h, w = x.shape
    if offset_major(kernel, c):
        return offset_major_im2col(x, kernel, stride, padding, dilation).T
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    padded = padded_rows(x, padding)
    ho, wo = output_hw((h, w), kernel, stride, padding, dilation)
    s_n, s_h, s_w, s_c = padded.strides
    windows = xp.lib.stride_tricks.as_strided(
        padded, (n, ho, wo, kh, kw, c), (s_n, s_h * sh, s_w * sw, s_h * dh, s_w * dw, s_c))
    cols = workspace.take("cols", windows.shape, x.dtype, like=x)
    cols[...] = windows
    return cols.reshape(n * ho * wo, kh * kw * c)


def padded_rows(x, padding):
    """NCHW ``x`` zero-padded, as channels-last rows (N, H + 2 ph, W + 2 pw, C): x itself
    when it is channels-last in memory and needs no padding, else one copy into the
    workspace."""
    if padding == (0, 0) and is_channels_last(x):
        return channels_last(x)
    n, c, h, w = x.shape
    (ph, pw) = padding
    padded = workspace.take("padded", (n, h + 2 * ph, w + 2 * pw, c), x.dtype, like=x)
    zero_border(padded, (1, 2), padding)
    padded[:, ph:ph + h, pw:pw + w] = channels_last(x)
    return padded


SHORT_WINDOW_ROW = 16
"""Below this many values in one window row (kw * C), the row-major im2col copies runs too
short to be fast (5 values for a 5x5 kernel on grey images) and ``offset_major_im2col``,
whose runs are whole output rows, takes over (a first layer's im2col and weight gradient
several times faster; benchmarks/results/)."""


def offset_major_im2col(x, kernel, stride, padding, dilation=(1, 1)):
    """cols^T (kh * kw * C, N * Ho * Wo), workspace memory: for each kernel offset (i, j)
    the strided slice x_padded[:, :, i dh::sh, j dw::sw] of the padded CNHW input, one copy
    each."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho, wo = output_hw((h, w), kernel, stride, padding, dilation)
    padded = workspace.take("padded", (c, n, h + 2 * ph, w + 2 * pw), x.dtype, like=x)
    zero_border(padded, (2, 3), padding)
    padded[:, :, ph:ph + h, pw:pw + w] = x.transpose(1, 0, 2, 3)
    cols_t = workspace.take("cols", (kh, kw, c, n, ho, wo), x.dtype, like=x)
    for i in range(kh):
        for j in range(kw):
            cols_t[i, j] = padded[:, :, strided(i * dilation[0], sh, ho),
                                  strided(j * dilation[1], sw, wo)]
    return cols_t.reshape(kh * kw * c, n * ho * wo)


def strided(start: int, step: int, count: int) -> slice:
    """The slice of ``count`` positions start, start + step, ...: a window offset's
    positions over all outputs along one axis."""
    return slice(start, start + step * (count - 1) + 1, step)


def zero_border(padded, axes, padding):
    """Zero the ``padding`` rows and columns around the interior of ``padded`` along its
    (height, width) ``axes``."""
    for axis, pad in zip(axes, padding, strict=True):
        if pad:
            size = padded.shape[axis]
            for edge in (slice(0, pad), slice(size - pad, size)):
                index = [slice(None)] * padded.ndim
                index[axis] = edge
                padded[tuple(index)] = 0


def col2im(cols, out, kernel, stride, padding, dilation=(1, 1)):
    """The adjoint of ``im2col``: add each row's values back where its window read them,
    into ``out`` (N, H, W, C), the input's gradient in channels-last order.

    For every kernel offset (i, j), the (N, Ho, Wo, C) slab cols[..., i, j, :] is added to
    the strided slice x_padded[:, i dh::sh, j dw::sw] (kh * kw slice additions, no ``add.at``);
    the padding is cropped off as the sum is copied into ``out``. ``cols`` given as the
    transposed view of a contiguous (kh * kw * C, N * Ho * Wo) matrix (``offset_major``)
    is summed slab by slab from that memory (``offset_major_col2im``).
    """
    if not cols.flags.c_contiguous and cols.T.flags.c_contiguous:
        return offset_major_col2im(cols.T, out, kernel, stride, padding, dilation)
    n, h, w, c = out.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho, wo = output_hw((h, w), kernel, stride, padding, dilation)
    slabs = cols.reshape(n, ho, wo, kh, kw, c)
    padded = workspace.take("padded", (n, h + 2 * ph, w + 2 * pw, c), cols.dtype,
                            like=cols)
    padded.fill(0)
    for i in range(kh):
        for j in range(kw):
            padded[:, strided(i * dilation[0], sh, ho), strided(j * dilation[1], sw, wo)] += \
                slabs[:, :, :, i, j]
    out[...] = padded[:, ph:ph + h, pw:pw + w]


def offset_major(kernel, channels: int) -> bool:
    """Whether a window row is short (kw * C < ``SHORT_WINDOW_ROW``): then im2col builds
    its matrix offset by offset, and col2im is fastest given one built that way."""
    return kernel[1] * channels < SHORT_WINDOW_ROW


def offset_major_col2im(cols_t, out, kernel, stride, padding, dilation=(1, 1)):
    """``col2im`` from cols^T (kh * kw * C, N * Ho * Wo), the adjoint of
    ``offset_major_im2col``: each offset's contiguous (C, N, Ho, Wo) slab is added to the
    strided slice x_padded[:, :, i dh::sh, j dw::sw] of a padded CNHW sum, whose interior
    is copied into ``out`` (N, H, W, C). For a first layer (C = 1 or 3) its slabs run a whole
    output row at a time where the row-major ones run C values."""
    n, h, w, c = out.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho, wo = output_hw((h, w), kernel, stride, padding, dilation)
    slabs = cols_t.reshape(kh, kw, c, n, ho, wo)
    padded = workspace.take("padded", (c, n, h + 2 * ph, w + 2 * pw), cols_t.dtype,
                            like=cols_t)
    padded.fill(0)
    for i in range(kh):
        for j in range(kw):
            padded[:, :, strided(i * dilation[0], sh, ho), strided(j * dilation[1], sw, wo)] \
                += slabs[i, j]
    out[...] = padded[:, :, ph:ph + h, pw:pw + w].transpose(1, 2, 3, 0)


def weight_rows(weight):
    """(F, C, kh, kw) -> (F, kh * kw * C), the column order of ``im2col``."""
    return weight.transpose(0, 2, 3, 1).reshape(weight.shape[0], -1)
