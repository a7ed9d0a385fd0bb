"""The compiled convolution of small images (``kernels/batched_conv.c``): forward pass,
input gradient and weight gradient, each tile the same output position in several images,
over the taps that fall inside the image only.

``accel.direct_conv`` hands a convolution here where ``batched_fits`` says so (a deep
layer's small maps, on a CPU with AVX2 and FMA); ``ops/conv.py``'s im2col and col2im
products stay the reference. Threads take disjoint ranges of blocks of 16 channels (output
channels, or input channels for the input gradient), so each writes its own part of the
result and none sums another's.
"""

from __future__ import annotations

from ..backend import xp
from .layout import as_nchw, contiguous_in_parts, contiguous_rows
from .native import BATCHED_CONV, BATCHED_CONV_INPUT_GRAD, BATCHED_CONV_WEIGHT_GRAD
from .threads import in_parts

BLOCK = 16
"""Channels per block of the weights, as in ``direct_conv``."""

SMALL_MAP = 64
"""At most this many positions per image (8x8) take these kernels: there the zero padding
holds a large share of every window (5 of 9 taps on a 2x2 map), which they skip; on larger
maps the stripe kernels of ``direct_conv`` are as fast (benchmarks/results/)."""

MIN_IMAGES = 4
"""A tile takes one position in up to 6 images: fewer images than this leave it too narrow
to keep the FMA units busy."""

MAX_TAPS = 64
"""Windows of at most this many taps (the kernels' segment lists)."""


STRIDED_INPUT_GRAD_MAP = 64
"""The input gradient of a strided convolution takes the kernel on images of at most this
many positions (its alternative is col2im's scatter, not a stripe kernel)."""


def batched_fits(n: int, positions: int, blocked: int, kernel, dtype, limit=None) -> bool:
    """Whether the kernels are loaded and take ``n`` images of ``positions`` outputs (or
    inputs, for the input gradient; at most ``limit``, default ``SMALL_MAP``), ``blocked``
    channels cut into blocks of 16, a ``kernel`` window, in ``dtype``."""
    return (BATCHED_CONV is not None and dtype == xp.float32 and blocked % BLOCK == 0
            and positions <= (SMALL_MAP if limit is None else limit) and n >= MIN_IMAGES
            and kernel[0] * kernel[1] <= MAX_TAPS)


def blocks_of(weight_like):
    """(F, C, kh, kw) as (F // 16, kh, kw, C, 16), contiguous: the layout all three read."""
    f, c, kh, kw = weight_like.shape
    blocks = weight_like.reshape(f // BLOCK, BLOCK, c, kh, kw)
    return contiguous_in_parts(blocks.transpose(0, 3, 4, 2, 1))


def _over_blocks(work, channels: int, nbytes: int):
    """``work(begin, end)`` over ranges of whole 16-channel blocks, one per core."""
    in_parts(lambda blocks: work(blocks.start * BLOCK, blocks.stop * BLOCK),
             channels // BLOCK, nbytes)


def _succeeded(op, status):
    if status != 0:
        raise ValueError(f"{op}: the kernel refused its arguments")


def batched_conv2d(x, weight, stride, padding, out_hw):
    """y = conv(x, weight) as rows (N, Ho, Wo, F) (no bias); the caller checked
    ``batched_fits``."""
    n, c, h, w = x.shape
    f, _, kh, kw = weight.shape
    x_rows, w_blocks = contiguous_rows(x), blocks_of(weight)
    rows = xp.empty((n, *out_hw, f), dtype=xp.float32)

    def part(begin, end):
        _succeeded("batched_conv", BATCHED_CONV(
            x_rows.ctypes.data, n, h, w, c, *padding, w_blocks.ctypes.data, kh, kw, f,
            *stride, rows.ctypes.data, *out_hw, begin, end))

    _over_blocks(part, f, x.nbytes + weight.nbytes + rows.nbytes)
    return rows


def batched_conv2d_input_grad(grad_out, weight, x_shape, stride, padding):
    """dx (NCHW axes, channels-last memory) of y = conv(x, weight) from dy; the caller
    checked ``batched_fits`` on x's positions and channels."""
    n, c, h, w = x_shape
    f, _, kh, kw = weight.shape
    ho, wo = grad_out.shape[2:]
    dy_rows, wt_blocks = contiguous_rows(grad_out), blocks_of(weight.transpose(1, 0, 2, 3))
    dx = xp.empty((n, h, w, c), dtype=xp.float32)

    def part(begin, end):
        _succeeded("batched_conv_input_grad", BATCHED_CONV_INPUT_GRAD(
            dy_rows.ctypes.data, n, ho, wo, f, wt_blocks.ctypes.data, kh, kw, *stride,
            *padding, dx.ctypes.data, h, w, c, begin, end))

    _over_blocks(part, c, grad_out.nbytes + weight.nbytes + dx.nbytes)
    return as_nchw(dx)


def batched_conv2d_weight_grad(x, grad_out, kernel, stride, padding):
    """dW (F, C, kh, kw) of y = conv(x, W); the caller checked ``batched_fits``."""
    n, c, h, w = x.shape
    f = grad_out.shape[1]
    ho, wo = grad_out.shape[2:]
    x_rows, dy_rows = contiguous_rows(x), contiguous_rows(grad_out)
    dw_blocks = xp.empty((f // BLOCK, *kernel, c, BLOCK), dtype=xp.float32)

    def part(begin, end):
        _succeeded("batched_conv_weight_grad", BATCHED_CONV_WEIGHT_GRAD(
            x_rows.ctypes.data, n, h, w, c, *padding, dy_rows.ctypes.data, ho, wo, f,
            *kernel, *stride, dw_blocks.ctypes.data, begin, end))

    _over_blocks(part, f, x.nbytes + grad_out.nbytes + dw_blocks.nbytes)
    return contiguous_in_parts(dw_blocks.transpose(0, 4, 3, 1, 2)).reshape(f, c, *kernel)
