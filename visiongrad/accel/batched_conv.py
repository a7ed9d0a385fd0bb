"""The compiled convolution of small images (``kernels/batched_conv.c``): forward pass,
input gradient and weight gradient, each tile the same output position in several images,
over the taps that fall inside the image only.

``accel.direct_conv`` hands a convolution here where ``batched_fits`` says so (a deep
layer's small maps, on a CPU with AVX2 and FMA); ``ops/conv.py``'s im2col and col2im
products stay the reference. The helper threads of ``kernels/parallel.c`` take disjoint
ranges of blocks of 16 channels (output channels, or input channels for the input
gradient; ``kernels/conv_parts.c``), so each writes its own part of the result and none
sums another's.
"""

from __future__ import annotations

from ..backend import xp
from .layout import as_nchw, contiguous_in_parts, contiguous_rows
from .native import (
    BATCHED_CONV,
    BATCHED_CONV_INPUT_GRAD,
    BATCHED_CONV_INPUT_GRAD_PARTS,
    BATCHED_CONV_PARTS,
    BATCHED_CONV_WEIGHT_GRAD,
    BATCHED_CONV_WEIGHT_GRAD_PARTS,
    WEIGHT_FROM_BLOCKS,
    WEIGHT_TO_BLOCKS,
)
from .threads import in_parts, row_parts

BLOCK = 16
"""Channels per block of the weights, as in ``direct_conv``."""

SMALL_MAP = 64
"""At most this many positions per image (8x8) take these kernels: there the zero padding
holds a large share of every window (5 of 9 taps on a 2x2 map), which they skip; on larger
maps the stripe kernels of ``direct_conv`` are faster (``benchmarks/profile_step.py
--by-shape``)."""

MIN_IMAGES = 4
"""A tile takes one position in up to 6 images: fewer images than this leave it too narrow
to keep the FMA units busy."""

MAX_TAPS = 64
"""Windows of at most this many taps (the kernels' segment lists)."""


STRIDED_INPUT_GRAD_MAP = 1024
"""The input gradient of a strided convolution takes the kernel on images of at most this
many positions (32x32): its alternative is im2col's product and col2im's scatter, not a
stripe kernel, and it beats them there too (ResNet-18's 64->128 layers; the small
ResNet's 16->32 layers on 28x28 maps, 3x3 and 1x1, in half the time and three quarters),
while a stride-1 layer on 16x16 maps is faster by the stripe kernels
(``benchmarks/profile_step.py --by-shape`` times each geometry)."""


def batched_fits(n: int, positions: int, blocked: int, kernel, dtype, limit=None) -> bool:
    """Whether the kernels are loaded and take ``n`` images of ``positions`` outputs (or
    inputs, for the input gradient; at most ``limit``, default ``SMALL_MAP``), ``blocked``
    channels cut into blocks of 16, a ``kernel`` window, in ``dtype``."""
    return (BATCHED_CONV is not None and dtype == xp.float32 and blocked % BLOCK == 0
            and positions <= (SMALL_MAP if limit is None else limit) and n >= MIN_IMAGES
            and kernel[0] * kernel[1] <= MAX_TAPS)


def to_blocks(weight, across=False, turned=False):
    """A weight (F, C, kh, kw) in blocks of 16 channels, contiguous: (F // 16, kh, kw, C, 16)
    with blocks[f // 16, i, j, c, f % 16] = weight[f, c, i, j] (the layout the forward
    kernels and the weight gradients use); ``across``: (C // 16, kh, kw, F, 16), the
    blocks of weight.transpose(1, 0, 2, 3) (the input gradient's); ``turned``: the window
    turned 180 degrees (taps (kh - 1 - i, kw - 1 - j)).

    By the compiled reordering for a C-contiguous float32 weight, in parts on every core;
    otherwise by NumPy's copy of the transposed view (a value at a time, several times
    slower)."""
    f, c, kh, kw = weight.shape
    outer, inner = (c, f) if across else (f, c)
    taps = kh * kw
    if (WEIGHT_TO_BLOCKS is None or weight.dtype != xp.float32 or taps > MAX_TAPS
            or not weight.flags.c_contiguous or outer % BLOCK):
        view = weight.transpose(1, 0, 2, 3) if across else weight
        view = view[:, :, ::-1, ::-1] if turned else view
        blocks = view.reshape(outer // BLOCK, BLOCK, inner, kh, kw)
        return contiguous_in_parts(blocks.transpose(0, 3, 4, 2, 1))
    o_stride, i_stride = (taps, c * taps) if across else (c * taps, taps)
    blocks = xp.empty((outer // BLOCK, kh, kw, inner, BLOCK), dtype=xp.float32)
    in_parts(lambda part: WEIGHT_TO_BLOCKS(weight.ctypes.data, o_stride, i_stride, inner,
                                           taps, int(turned), part.start, part.stop,
                                           blocks.ctypes.data),
             outer // BLOCK, weight.nbytes)
    return blocks


def from_blocks(blocks):
    """The inverse of ``to_blocks``: (O // 16, kh, kw, I, 16) -> (O, I, kh, kw),
    contiguous."""
    outer_blocks, kh, kw, inner, block = blocks.shape
    if (WEIGHT_FROM_BLOCKS is None or blocks.dtype != xp.float32 or kh * kw > MAX_TAPS
            or not blocks.flags.c_contiguous):
        return contiguous_in_parts(blocks.transpose(0, 4, 3, 1, 2)).reshape(
            outer_blocks * block, inner, kh, kw)
    out = xp.empty((outer_blocks * block, inner, kh, kw), dtype=xp.float32)
    in_parts(lambda part: WEIGHT_FROM_BLOCKS(blocks.ctypes.data, inner, kh * kw, part.start,
                                             part.stop, out.ctypes.data),
             outer_blocks, blocks.nbytes)
    return out


def _over_channel_blocks(op, parted, whole, arguments, channels: int, nbytes: int):
    """``parted(*arguments, parts)``, the kernel over ranges of whole 16-channel blocks,
    one per core (``threads.row_parts``), or ``whole(*arguments, 0, channels)`` on this
    thread where the loaded library predates the parted kernels."""
    if parted is None:
        status = whole(*arguments, 0, channels)
    else:
        status = parted(*arguments, row_parts(channels // BLOCK, nbytes))
    if status != 0:  # the fits rules keep the windows small: an allocation failed
        raise MemoryError(f"{op}: the kernel could not allocate its buffers")


def batched_conv2d(x, weight, stride, padding, out_hw, w_blocks=None):
    """y = conv(x, weight) as rows (N, Ho, Wo, F) (no bias), from the weight's blocks where
    given (``to_blocks(weight)``); the caller checked ``batched_fits``."""
    n, c, h, w = x.shape
    f, _, kh, kw = weight.shape
    x_rows = contiguous_rows(x)
    w_blocks = to_blocks(weight) if w_blocks is None else w_blocks
    rows = xp.empty((n, *out_hw, f), dtype=xp.float32)
    _over_channel_blocks(
        "batched_conv", BATCHED_CONV_PARTS, BATCHED_CONV,
        (x_rows.ctypes.data, n, h, w, c, *padding, w_blocks.ctypes.data, kh, kw, f, *stride,
         rows.ctypes.data, *out_hw), f, x.nbytes + weight.nbytes + rows.nbytes)
    return rows


def batched_conv2d_input_grad(grad_out, weight, x_shape, stride, padding):
    """dx (NCHW axes, channels-last memory) of y = conv(x, weight) from dy; the caller
    checked ``batched_fits`` on x's positions and channels."""
    n, c, h, w = x_shape
    f, _, kh, kw = weight.shape
    ho, wo = grad_out.shape[2:]
    dy_rows, wt_blocks = contiguous_rows(grad_out), to_blocks(weight, across=True)
    dx = xp.empty((n, h, w, c), dtype=xp.float32)
    _over_channel_blocks(
        "batched_conv_input_grad", BATCHED_CONV_INPUT_GRAD_PARTS, BATCHED_CONV_INPUT_GRAD,
        (dy_rows.ctypes.data, n, ho, wo, f, wt_blocks.ctypes.data, kh, kw, *stride, *padding,
         dx.ctypes.data, h, w, c), c, grad_out.nbytes + weight.nbytes + dx.nbytes)
    return as_nchw(dx)


def batched_conv2d_weight_grad(x, grad_out, kernel, stride, padding):
    """dW (F, C, kh, kw) of y = conv(x, W); the caller checked ``batched_fits``."""
    n, c, h, w = x.shape
    f = grad_out.shape[1]
    ho, wo = grad_out.shape[2:]
    x_rows, dy_rows = contiguous_rows(x), contiguous_rows(grad_out)
    dw_blocks = xp.empty((f // BLOCK, *kernel, c, BLOCK), dtype=xp.float32)
    _over_channel_blocks(
        "batched_conv_weight_grad", BATCHED_CONV_WEIGHT_GRAD_PARTS, BATCHED_CONV_WEIGHT_GRAD,
        (x_rows.ctypes.data, n, h, w, c, *padding, dy_rows.ctypes.data, ho, wo, f, *kernel,
         *stride, dw_blocks.ctypes.data), f, x.nbytes + grad_out.nbytes + dw_blocks.nbytes)
    return from_blocks(dw_blocks)
