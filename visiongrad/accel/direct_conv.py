"""The compiled direct convolution (``direct_conv.c``), where it was built and the CPU runs it.

``DIRECT_CONV`` and ``DIRECT_CONV_WEIGHT_GRAD`` are the kernels from ``native.LIBRARY``, or
None where the library was not built, the CPU lacks AVX2 and FMA, or the user set
``VISIONGRAD_NATIVE=0``; every convolution then takes the NumPy path, im2col plus a
matrix product, which is also the reference the kernels are tested against.
"""

from __future__ import annotations

import ctypes

from ..backend import xp
from ..native import LIBRARY, kernel

FILTER_BLOCK = 16
"""The kernel computes output channels 16 at a time: it takes filter counts that are a
multiple of this."""


def _kernels():
    if LIBRARY is None or not LIBRARY.direct_conv_supported():
        return None, None
    pointer, size = ctypes.c_void_p, ctypes.c_int
    return (kernel("direct_conv", [pointer] + [size] * 6 + [pointer] + [size] * 5
                   + [pointer, size, size], size),
            kernel("direct_conv_weight_grad", [pointer] + [size] * 6 + [pointer] + [size] * 7
                   + [pointer], size))


DIRECT_CONV, DIRECT_CONV_WEIGHT_GRAD = _kernels()


MIN_OUTPUTS = 9
"""The kernels go through each image in stripes of output rows and never across two
images, so an image with few outputs leaves each stripe too little work to pay for
loading and storing its sums. Measured here at batch 128, 32-256 channels, time over
im2col's, forward / weight gradient: 1.06-1.49 / 1.07-1.09 at 1x1 outputs per image,
0.77-0.88 / 0.91-1.14 at 2x2, 0.82 / 0.91 at 3x3, 0.79-0.88 / 0.84-0.92 at 4x4. At least
this many outputs per image (3x3) take the kernel."""


def direct_conv_fits(x, filters: int, out_hw) -> bool:
    """Whether the compiled kernels are loaded and take a convolution of ``x`` with this
    many output channels and output size (Ho, Wo): float32, a multiple of
    ``FILTER_BLOCK`` filters, and at least ``MIN_OUTPUTS`` outputs per image."""
    return (DIRECT_CONV is not None and x.dtype == xp.float32 and filters % FILTER_BLOCK == 0
            and out_hw[0] * out_hw[1] >= MIN_OUTPUTS)


WEIGHT_GRAD_MAX_BYTES = 256 << 10
"""The weight-gradient kernel adds each stripe's sums into dw, so it reads and writes the
whole gradient once per stripe of at most one image; that stays cheap while dw fits in the
L2 cache. Measured here, time over im2col's: 0.84-1.02 up to 64 x 64 x 3 x 3 (147 KB),
1.01 at 128 x 128 (590 KB), 1.14 at 256 x 256, 1.26 at 512 x 512 on 4x4 images. Larger
weight gradients take im2col."""


def direct_weight_grad_fits(x, weight_shape, out_hw) -> bool:
    """Whether the compiled weight gradient takes this convolution: as
    ``direct_conv_fits``, and a gradient of at most ``WEIGHT_GRAD_MAX_BYTES``."""
    f, c, kh, kw = weight_shape
    return (direct_conv_fits(x, f, out_hw)
            and f * c * kh * kw * x.dtype.itemsize <= WEIGHT_GRAD_MAX_BYTES)


def weight_blocks(weight):
    """(F, C, kh, kw) weights as the kernel reads them: blocks of ``FILTER_BLOCK`` output
    channels, w_blocks[f // 16, i, j, c, f % 16] = weight[f, c, i, j], contiguous."""
    f, c, kh, kw = weight.shape
    blocks = weight.reshape(f // FILTER_BLOCK, FILTER_BLOCK, c, kh, kw)
    return xp.ascontiguousarray(blocks.transpose(0, 3, 4, 2, 1))


def direct_conv(x_rows, w_blocks, stride, padding, out_rows):
    """out_rows[n, ho, wo, f] = sum_{i, j, c} x_pad[n, ho sh + i, wo sw + j, c]
    * w_blocks[f // 16, i, j, c, f % 16], into ``out_rows`` (N, Ho, Wo, F), where x_pad is
    x_rows (N, H, W, C) zero-padded by ``padding`` (the kernel pads as it goes).

    w_blocks comes from ``weight_blocks``; all three arrays are C-contiguous float32
    (checked: the kernel trusts its pointers)."""
    _check_arrays("direct_conv", x_rows=x_rows, w_blocks=w_blocks, out_rows=out_rows)
    n, h, w, c = x_rows.shape
    blocks, kh, kw, weight_channels, block = w_blocks.shape
    expected = (n, *output_hw((h, w), (kh, kw), stride, padding), blocks * block)
    if weight_channels != c or block != FILTER_BLOCK or out_rows.shape != expected:
        raise ValueError(f"direct_conv: x_rows {x_rows.shape} and w_blocks {w_blocks.shape} "
                         f"at stride {stride}, padding {padding} need out_rows of shape "
                         f"{expected} (blocks of {FILTER_BLOCK} filters), got {out_rows.shape}")
    _succeeded("direct_conv", DIRECT_CONV(
        x_rows.ctypes.data, n, h, w, c, *padding, w_blocks.ctypes.data, kh, kw,
        blocks * block, *stride, out_rows.ctypes.data, *expected[1:3]))


def direct_conv_weight_grad(x_rows, dy_rows, kernel, stride, padding):
    """dw_blocks[f // 16, i, j, c, f % 16] = sum_{n, ho, wo} x_pad[n, ho sh + i, wo sw + j, c]
    * dy_rows[n, ho, wo, f]: the weight gradient of ``direct_conv``, in its weights' layout.

    x_rows (N, H, W, C) is padded by ``padding`` as it goes, dy_rows is (N, Ho, Wo, F);
    both C-contiguous float32 (checked)."""
    _check_arrays("direct_conv_weight_grad", x_rows=x_rows, dy_rows=dy_rows)
    n, h, w, c = x_rows.shape
    out_hw = output_hw((h, w), kernel, stride, padding)
    f = dy_rows.shape[3]
    if dy_rows.shape[:3] != (n, *out_hw) or f % FILTER_BLOCK:
        raise ValueError(f"direct_conv_weight_grad: x_rows {x_rows.shape} with kernel {kernel} "
                         f"at stride {stride}, padding {padding} needs dy_rows of shape "
                         f"({n}, {out_hw[0]}, {out_hw[1]}, F) (F a multiple of "
                         f"{FILTER_BLOCK}), got {dy_rows.shape}")
    dw_blocks = xp.empty((f // FILTER_BLOCK, *kernel, c, FILTER_BLOCK), dtype=xp.float32)
    _succeeded("direct_conv_weight_grad", DIRECT_CONV_WEIGHT_GRAD(
        x_rows.ctypes.data, n, h, w, c, *padding, dy_rows.ctypes.data, *out_hw, f, *kernel,
        *stride, dw_blocks.ctypes.data))
    return dw_blocks


def output_hw(in_hw, kernel, stride, padding):
    """(Ho, Wo) = floor((H + 2 p - k) / s) + 1 along each axis."""
    return tuple((in_hw[a] + 2 * padding[a] - kernel[a]) // stride[a] + 1 for a in (0, 1))


def _succeeded(op, status):
    if status != 0:
        raise MemoryError(f"{op}: the kernel could not allocate its stripe buffer")


def weight_from_blocks(w_blocks):
    """The inverse of ``weight_blocks``: (F // 16, kh, kw, C, 16) -> (F, C, kh, kw)."""
    blocks, kh, kw, c, block = w_blocks.shape
    return w_blocks.transpose(0, 4, 3, 1, 2).reshape(blocks * block, c, kh, kw)


def _check_arrays(op, **arrays):
    for name, array in arrays.items():
        if array.dtype != xp.float32 or not array.flags.c_contiguous:
            raise ValueError(f"{op}: {name} must be C-contiguous float32, got {array.dtype} "
                             f"with strides {array.strides}")
