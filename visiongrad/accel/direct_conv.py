"""The compiled direct convolution (``kernels/direct_conv.c``), where it was built and the
CPU runs it (x86-64 with AVX2 and FMA).

An op asks in one call: ``direct_conv2d``, ``direct_conv2d_weight_grad`` and
``direct_conv2d_input_grad`` return the result, or None where the case does not fit
(``direct_conv_fits``, ``direct_weight_grad_fits``, ``direct_input_grad_fits``: the
kernels not loaded, float64, a channel count that is not a multiple of 16, tiny outputs, a
large weight gradient); ``ops/conv.py`` then runs im2col plus a matrix product, which is
also the reference the kernels are tested against. Small images (a deep layer's maps, in a
batch of several) go to the kernels of ``batched_conv`` instead of the stripe kernels
here; the input gradient has a kernel only there (elsewhere a stride-1 input gradient is
``direct_conv2d`` of dy, which ``ops/conv.py`` asks for).
"""

from __future__ import annotations

from ..backend import xp
from . import batched_conv
from .batched_conv import (
    batched_conv2d,
    batched_conv2d_input_grad,
    batched_conv2d_weight_grad,
    batched_fits,
    from_blocks,
    to_blocks,
)
from .layout import as_nchw, channels_last, contiguous_rows
from .native import (
    CONV_AVX512,
    DIRECT_CONV,
    DIRECT_CONV_PARTS,
    DIRECT_CONV_WEIGHT_GRAD,
    DIRECT_CONV_WEIGHT_GRAD_PARTS,
)
from .threads import row_parts

FILTER_BLOCK = 16
"""The kernel computes output channels 16 at a time: it takes filter counts that are a
multiple of this."""


MIN_OUTPUTS = 9
"""The kernels go through each image in stripes of output rows and never across two
images, so an image with few outputs leaves each stripe too little work to pay for
loading and storing its sums: at least this many outputs per image (3x3) take the kernel
(the crossover measured against im2col is in benchmarks/results/)."""


def avx512_tiles(wanted: bool | None = None) -> bool:
    """Whether the convolution kernels (here and in ``batched_conv``) run their AVX-512
    tiles, which compute 16 filters per register instead of 8 on a CPU with AVX-512F;
    ``wanted`` False makes them run their AVX2 tiles, True the AVX-512 ones again where the
    CPU has them (for tests that compare the two: both sum the same products in the same
    order, so they agree to the bit). False where no kernel is loaded.

    Examples
    --------
    >>> from visiongrad import accel
    >>> accel.direct_conv.avx512_tiles() in (True, False)
    True
    """
    if CONV_AVX512 is None:
        return False
    return bool(CONV_AVX512(-1 if wanted is None else int(wanted)))


def direct_conv_fits(x, filters: int, out_hw) -> bool:
    """Whether the compiled kernels are loaded and take a convolution of ``x`` with this
    many output channels and output size (Ho, Wo): float32, a multiple of
    ``FILTER_BLOCK`` filters, and at least ``MIN_OUTPUTS`` outputs per image.

    Examples
    --------
    >>> from visiongrad import accel
    >>> x = np.ones((8, 16, 16, 16), np.float32)
    >>> accel.direct_conv_fits(x, 32, (16, 16)) in (True, False)   # False without the kernels
    True
    """
    return (DIRECT_CONV is not None and x.dtype == xp.float32 and filters % FILTER_BLOCK == 0
            and out_hw[0] * out_hw[1] >= MIN_OUTPUTS)


WEIGHT_GRAD_MAX_BYTES = 256 << 10
"""The weight-gradient kernel adds each stripe's sums into dw, so it reads and writes the
whole gradient once per stripe of at most one image; that stays cheap while dw fits in the
L2 cache. Larger weight gradients take im2col."""


def direct_weight_grad_fits(x, weight_shape, out_hw) -> bool:
    """Whether the compiled weight gradient takes this convolution: as
    ``direct_conv_fits``, and a gradient of at most ``WEIGHT_GRAD_MAX_BYTES``."""
    f, c, kh, kw = weight_shape
    return (direct_conv_fits(x, f, out_hw)
            and f * c * kh * kw * x.dtype.itemsize <= WEIGHT_GRAD_MAX_BYTES)


def direct_conv2d(x, weight, stride, padding, out_hw, w_blocks=None):
    """y = conv(x, weight) as rows (N, Ho, Wo, F) (no bias), built block by block over the
    batch by the kernel, or None where it does not fit (``direct_conv_fits``); from the
    weight's blocks where given (``weight_blocks(weight)``, made here otherwise).

    Examples
    --------
    >>> from visiongrad import accel
    >>> x, weight = np.ones((8, 16, 16, 16), np.float32), np.ones((32, 16, 3, 3), np.float32)
    >>> rows = accel.direct_conv2d(x, weight, (1, 1), (1, 1), (16, 16))   # (N, Ho, Wo, F)
    >>> rows is None or (rows.shape, float(rows[0, 1, 1, 0]))       # 16 * 3 * 3 ones
    ((8, 16, 16, 32), 144.0)
    """
    if not isinstance(x, xp.ndarray) or not isinstance(weight, xp.ndarray):  # host guard
        return None
    n, f = x.shape[0], weight.shape[0]
    if batched_fits(n, out_hw[0] * out_hw[1], f, weight.shape[2:], x.dtype):
        return batched_conv2d(x, weight, stride, padding, out_hw, w_blocks)
    if not direct_conv_fits(x, f, out_hw):
        return None
    w_blocks = weight_blocks(weight) if w_blocks is None else w_blocks
    return stripe_conv2d(x, w_blocks, stride, padding, out_hw)


def stripe_conv2d(x, w_blocks, stride, padding, out_hw):
    """``direct_conv2d`` by the stripe kernel, from the weights' blocks, in one part per
    core (``conv_parts``)."""
    n, f = x.shape[0], w_blocks.shape[0] * FILTER_BLOCK
    rows = xp.empty((n, *out_hw, f), dtype=x.dtype)
    direct_conv(contiguous_rows(x), w_blocks, stride, padding, rows,
                parts=conv_parts(n, f, x.nbytes + rows.nbytes))
    return rows


def conv_parts(n: int, filters: int, nbytes: int) -> int:
    """How many parts the stripe kernels cut a batch of ``n`` images into, one per core
    (``threads.row_parts``): ranges of images, or, with fewer images than parts (a batch of
    one, as in style transfer and the other visualisations), ranges of 16-filter blocks,
    which the forward kernel takes (``kernels/conv_parts.c``)."""
    return row_parts(max(n, filters // FILTER_BLOCK), nbytes)


def direct_conv2d_weight_grad(x, grad_out, kernel, stride, padding):
    """dW (F, C, kh, kw) of y = conv(x, W), summed block by block over the batch by the
    kernel, or None where it does not fit (``direct_weight_grad_fits``).

    Examples
    --------
    >>> from visiongrad import accel
    >>> x, grad_out = np.ones((1, 2, 4, 4), np.float32), np.ones((1, 3, 4, 4), np.float32)
    >>> dw = accel.direct_conv2d_weight_grad(x, grad_out, (3, 3), (1, 1), (1, 1))
    >>> dw is None or (dw.shape, float(dw[0, 0, 1, 1]))
    True
    """
    if not isinstance(x, xp.ndarray) or not isinstance(grad_out, xp.ndarray):  # host guard
        return None
    n, c = x.shape[:2]
    f = grad_out.shape[1]
    positions = grad_out.shape[2] * grad_out.shape[3]
    if batched_fits(n, positions, f, kernel, x.dtype) and grad_out.dtype == x.dtype:
        return batched_conv2d_weight_grad(x, grad_out, kernel, stride, padding)
    if not direct_weight_grad_fits(x, (f, c, *kernel), grad_out.shape[2:]):
        return None
    dy_rows = xp.ascontiguousarray(channels_last(grad_out))
    return weight_from_blocks(direct_conv_weight_grad(
        contiguous_rows(x), dy_rows, kernel, stride, padding,
        parts=row_parts(n, x.nbytes + grad_out.nbytes)))


def direct_input_grad_fits(grad_out, weight_shape, x_shape, stride, padding) -> bool:
    """Whether ``direct_conv2d_input_grad`` takes this input gradient: the small-image
    kernel's case, or a stride-1 one that is a convolution of dy the stripe kernel takes.

    Examples
    --------
    >>> from visiongrad import accel
    >>> grad_out = np.ones((1, 3, 4, 4), np.float32)
    >>> weight_shape, x_shape = (3, 2, 3, 3), (1, 2, 4, 4)
    >>> fits = accel.direct_input_grad_fits(grad_out, weight_shape, x_shape, (1, 1), (1, 1))
    >>> fits in (True, False)
    True
    """
    limit = None if tuple(stride) == (1, 1) else batched_conv.STRIDED_INPUT_GRAD_MAP
    if not isinstance(grad_out, xp.ndarray) or grad_out.dtype != xp.float32:  # host guard
        return False
    if batched_fits(x_shape[0], x_shape[2] * x_shape[3], x_shape[1], weight_shape[2:],
                    grad_out.dtype, limit):
        return True
    kernel = weight_shape[2:]
    return (tuple(stride) == (1, 1) and all(padding[a] <= kernel[a] - 1 for a in (0, 1))
            and direct_conv_fits(grad_out, x_shape[1], x_shape[2:]))


def direct_conv2d_input_grad(grad_out, weight, x_shape, stride, padding):
    """dx (NCHW axes, channels-last memory) of y = conv(x, weight), or None where no kernel
    fits (``direct_input_grad_fits``): the small-image kernel (any stride), or, for stride
    1, the stripe kernel's dx = conv(dy padded by k - 1 - p, rot180(W)^T), whose weights
    are reordered in one compiled pass (``to_blocks(..., across=True, turned=True)``).

    Examples
    --------
    >>> from visiongrad import accel
    >>> grad_out, weight = np.ones((1, 3, 4, 4), np.float32), np.ones((3, 2, 3, 3), np.float32)
    >>> dx = accel.direct_conv2d_input_grad(grad_out, weight, (1, 2, 4, 4), (1, 1), (1, 1))
    >>> dx is None or (dx.shape, float(dx[0, 0, 1, 1]))
    True
    """
    if (not direct_input_grad_fits(grad_out, weight.shape, x_shape, stride, padding)
            or not isinstance(weight, xp.ndarray) or weight.dtype != xp.float32):
        return None
    limit = None if tuple(stride) == (1, 1) else batched_conv.STRIDED_INPUT_GRAD_MAP
    if batched_fits(x_shape[0], x_shape[2] * x_shape[3], x_shape[1], weight.shape[2:],
                    grad_out.dtype, limit):
        return batched_conv2d_input_grad(grad_out, weight, x_shape, stride, padding)
    kernel = weight.shape[2:]
    full = tuple(kernel[a] - 1 - padding[a] for a in (0, 1))
    return as_nchw(stripe_conv2d(grad_out, to_blocks(weight, across=True, turned=True), (1, 1),
                                 full, x_shape[2:]))


def weight_blocks(weight):
    """(F, C, kh, kw) weights as the kernel reads them: blocks of ``FILTER_BLOCK`` output
    channels, w_blocks[f // 16, i, j, c, f % 16] = weight[f, c, i, j], contiguous
    (``batched_conv.to_blocks``)."""
    return to_blocks(weight)


def kernel_output_hw(in_hw, kernel, stride, padding) -> tuple[int, int]:
    """(Ho, Wo) the kernels compute, floor((H + 2 ph - kh) / sh) + 1 along each axis (no
    dilation, no ceil mode): what ``direct_conv`` checks its arrays against before handing
    their pointers over. The ops' general geometry is ``ops/window.py``, which ``accel``
    sits below and may not import; tests/accel/test_direct_conv.py holds the two equal."""
    def positions(a: int) -> int:
        return (in_hw[a] + 2 * padding[a] - kernel[a]) // stride[a] + 1

    return positions(0), positions(1)


def direct_conv(x_rows, w_blocks, stride, padding, out_rows, parts=1):
    """out_rows[n, ho, wo, f] = sum_{i, j, c} x_pad[n, ho sh + i, wo sw + j, c]
    * w_blocks[f // 16, i, j, c, f % 16], into ``out_rows`` (N, Ho, Wo, F), where x_pad is
    x_rows (N, H, W, C) zero-padded by ``padding`` (the kernel pads as it goes), in
    ``parts`` parts on ``kernels/parallel.c``'s threads (ranges of images, or of filter
    blocks for fewer images than parts; each output is the same sum either way).

    w_blocks comes from ``weight_blocks``; all three arrays are C-contiguous float32
    (checked: the kernel trusts its pointers)."""
    _check_arrays("direct_conv", x_rows=x_rows, w_blocks=w_blocks, out_rows=out_rows)
    n, h, w, c = x_rows.shape
    blocks, kh, kw, weight_channels, block = w_blocks.shape
    expected = (n, *kernel_output_hw((h, w), (kh, kw), stride, padding), blocks * block)
    if weight_channels != c or block != FILTER_BLOCK or out_rows.shape != expected:
        raise ValueError(f"direct_conv: x_rows {x_rows.shape} and w_blocks {w_blocks.shape} "
                         f"at stride {stride}, padding {padding} need out_rows of shape "
                         f"{expected} (blocks of {FILTER_BLOCK} filters), got {out_rows.shape}")
    arguments = (x_rows.ctypes.data, n, h, w, c, *padding, w_blocks.ctypes.data, kh, kw,
                 blocks * block, *stride, out_rows.ctypes.data, *expected[1:3])
    if parts > 1 and DIRECT_CONV_PARTS is not None:
        _succeeded("direct_conv", DIRECT_CONV_PARTS(*arguments, parts))
    else:
        _succeeded("direct_conv", DIRECT_CONV(*arguments))


def direct_conv_weight_grad(x_rows, dy_rows, kernel, stride, padding, parts=1):
    """dw_blocks[f // 16, i, j, c, f % 16] = sum_{n, ho, wo} x_pad[n, ho sh + i, wo sw + j, c]
    * dy_rows[n, ho, wo, f]: the weight gradient of ``direct_conv``, in its weights' layout.

    x_rows (N, H, W, C) is padded by ``padding`` as it goes, dy_rows is (N, Ho, Wo, F);
    both C-contiguous float32 (checked). With ``parts`` > 1 the images are cut into that
    many ranges on ``kernels/parallel.c``'s threads, each summed apart and the sums added
    in order (the same result for the same number of parts)."""
    _check_arrays("direct_conv_weight_grad", x_rows=x_rows, dy_rows=dy_rows)
    n, h, w, c = x_rows.shape
    out_hw = kernel_output_hw((h, w), kernel, stride, padding)
    f = dy_rows.shape[3]
    if dy_rows.shape[:3] != (n, *out_hw) or f % FILTER_BLOCK:
        raise ValueError(f"direct_conv_weight_grad: x_rows {x_rows.shape} with kernel {kernel} "
                         f"at stride {stride}, padding {padding} needs dy_rows of shape "
                         f"({n}, {out_hw[0]}, {out_hw[1]}, F) (F a multiple of "
                         f"{FILTER_BLOCK}), got {dy_rows.shape}")
    dw_blocks = xp.empty((f // FILTER_BLOCK, *kernel, c, FILTER_BLOCK), dtype=xp.float32)
    arguments = (x_rows.ctypes.data, n, h, w, c, *padding, dy_rows.ctypes.data, *out_hw, f,
                 *kernel, *stride, dw_blocks.ctypes.data)
    if parts > 1 and DIRECT_CONV_WEIGHT_GRAD_PARTS is not None:
        _succeeded("direct_conv_weight_grad", DIRECT_CONV_WEIGHT_GRAD_PARTS(*arguments, parts))
    else:
        _succeeded("direct_conv_weight_grad", DIRECT_CONV_WEIGHT_GRAD(*arguments))
    return dw_blocks


def _succeeded(op, status):
    if status != 0:
        raise MemoryError(f"{op}: the kernel could not allocate its stripe buffer")


def weight_from_blocks(w_blocks):
    """The inverse of ``weight_blocks``: (F // 16, kh, kw, C, 16) -> (F, C, kh, kw),
    contiguous (``batched_conv.from_blocks``)."""
    return from_blocks(w_blocks)


def _check_arrays(op, **arrays):
    for name, array in arrays.items():
        if array.dtype != xp.float32 or not array.flags.c_contiguous:
            raise ValueError(f"{op}: {name} must be C-contiguous float32, got {array.dtype} "
                             f"with strides {array.strides}")
