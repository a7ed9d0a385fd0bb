"""Convolution, pooling, unpooling and upsampling on NCHW images.

Convolution is im2col plus one matrix product. The padded input is copied once into
NHWC order and a strided view of it lists, for every output position (n, ho, wo), the
kh * kw * C values its window covers; copying that view gives the matrix
``cols (N * Ho * Wo, kh * kw * C)`` and the convolution is ``cols @ W_rows^T`` with
``W_rows (F, kh * kw * C)``. Rows-per-position is the GEMM shape OpenBLAS runs fastest
here (a tall matrix times a small one), for the forward product and both gradients. The
batch goes through in blocks of a few examples (``CHUNK_BYTES``), so each block's
``cols`` is still in cache when the product reads it.

Memory layout: the product's result (N Ho Wo, F) already is the output in NHWC order, so
a convolution returns it as it is, seen with NCHW axes (``as_nchw``: PyTorch's
``channels_last`` memory format). Shapes, values and every op's meaning are unchanged;
what changes is that no step copies activations between the two orders: ReLU, batch
norm and pooling keep the layout they are given, the next im2col reads channels-last
memory with a plain copy, and the backward pass reads x_rows as a view of x.

Where the compiled kernel of ``direct_conv.py`` is built and the CPU runs it (x86-64
with AVX2 and FMA), float32 convolutions with a multiple of 16 output channels skip
im2col: the forward pass, the weight gradient and the stride-1 input gradient run
``direct_conv.c`` on the channels-last input block by block, each tile of outputs summed
in registers. Measured here (2 cores): the small ResNet's 16-channel 3x3 layer at batch
256 in about half the time (13.8 -> 7.3 ms forward, one A/B), its training step 1.47-1.50x
-> 1.13-1.21x PyTorch's and its inference 1.46-1.60x -> 1.00-1.17x. Everything else
(float64, where gradients are checked; other filter counts; tiny outputs; a machine
without the kernel or with ``VISIONGRAD_NATIVE=0``) takes the NumPy path below, which is
also what the kernel is tested against.

Large temporaries (the padded input, ``cols``) live in a per-thread workspace that is
reused from call to call. Arrays an op returns or saves are never workspace memory. The
backward pass rebuilds what it needs from the saved input instead of keeping ``cols``,
which costs one copy and saves kh * kw times the input's memory, as PyTorch's own kernels
do; with stride 1 both gradients come from one im2col of the padded output gradient
(``conv_grads_from_dy_windows``), so no col2im pass is needed at all.

Pooling loops over the kh * kw kernel offsets, each a strided slice of the whole batch
(no loop over examples). The plain loop versions, the references these are tested
against, are in ``conv_naive.py``.
"""

from __future__ import annotations

import threading

from ..autograd import Function
from ..backend import available_cores, split_over_cores, xp
from .channels import add_per_channel, channel_rows, folded_sums, widen
from .direct_conv import (
    direct_conv,
    direct_conv_fits,
    direct_conv_weight_grad,
    direct_weight_grad_fits,
    weight_blocks,
    weight_from_blocks,
)


def pair(value, name: str) -> tuple[int, int]:
    """``value`` as an (h, w) pair of ints: an int is used for both."""
    if isinstance(value, int):
        return value, value
    if len(value) != 2:
        raise ValueError(f"{name} must be an int or an (h, w) pair, got {value!r}")
    return int(value[0]), int(value[1])


def output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """floor((size + 2 padding - kernel) / stride) + 1, the positions a window takes."""
    return (size + 2 * padding - kernel) // stride + 1


def check_window(op: str, x_shape, kernel, stride, padding) -> tuple[int, int]:
    """Validate a sliding window over NCHW input; return the output size (Ho, Wo)."""
    if len(x_shape) != 4:
        raise ValueError(f"{op} expects input of shape (N, C, H, W), got shape {tuple(x_shape)}")
    if min(stride) <= 0:
        raise ValueError(f"{op}: stride must be positive, got {stride}")
    if min(padding) < 0:
        raise ValueError(f"{op}: padding must be non-negative, got {padding}")
    if min(kernel) <= 0:
        raise ValueError(f"{op}: kernel size must be positive, got {kernel}")
    padded = (x_shape[2] + 2 * padding[0], x_shape[3] + 2 * padding[1])
    if kernel[0] > padded[0] or kernel[1] > padded[1]:
        raise ValueError(f"{op}: kernel {kernel} is larger than the padded input {padded} "
                         f"(input {tuple(x_shape[2:])}, padding {padding})")
    return tuple(output_size(x_shape[2 + a], kernel[a], stride[a], padding[a]) for a in (0, 1))


# ----- workspace ---------------------------------------------------------------------------


class _Workspace(threading.local):
    """Scratch arrays reused across calls, one per name, grown when a call needs more.

    A buffer is valid until the next request for the same name, so a function takes its
    scratch, uses it and returns a fresh array; nothing it returns or saves aliases one.
    """

    def __init__(self):
        self.buffers = {}

    def take(self, name: str, shape, dtype):
        dtype = xp.dtype(dtype)
        nbytes = dtype.itemsize
        for size in shape:
            nbytes *= size
        buffer = self.buffers.get(name)
        if buffer is None or buffer.size < nbytes:
            buffer = self.buffers[name] = xp.empty(nbytes, dtype=xp.uint8)
        return buffer[:nbytes].view(dtype).reshape(shape)


workspace = _Workspace()


# ----- im2col, col2im and the three products of a convolution --------------------------------


def im2col(x, kernel, stride, padding):
    """Windows of NCHW ``x`` as rows: cols (N * Ho * Wo, kh * kw * C), workspace memory.

    cols[(n, ho, wo), (i, j, c)] = x_padded[n, c, ho * sh + i, wo * sw + j].
    Row-major (one strided view of the padded NHWC input, copied once) unless a window row
    is short (kw * C < ``SHORT_WINDOW_ROW``, a first layer on grey or colour images): then
    the same matrix is built offset by offset as its contiguous transpose and returned as a
    transposed view, which BLAS reads just as fast (``offset_major_im2col``). Without
    padding, a channels-last x is its own NHWC input and is read in place (the small
    ResNet's 1x1 stride-2 shortcut convolution at batch 256: 1.48 -> 0.85 ms).
    """
    n, c, h, w = x.shape
    if kernel[1] * c < SHORT_WINDOW_ROW:
        return offset_major_im2col(x, kernel, stride, padding).T
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    padded = padded_rows(x, padding)
    ho, wo = output_size(h, kh, sh, ph), output_size(w, kw, sw, pw)
    s_n, s_h, s_w, s_c = padded.strides
    windows = xp.lib.stride_tricks.as_strided(
        padded, (n, ho, wo, kh, kw, c), (s_n, s_h * sh, s_w * sw, s_h, s_w, s_c))
    cols = workspace.take("cols", windows.shape, x.dtype)
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
    padded = workspace.take("padded", (n, h + 2 * ph, w + 2 * pw, c), x.dtype)
    zero_border(padded, (1, 2), padding)
    padded[:, ph:ph + h, pw:pw + w] = channels_last(x)
    return padded


def contiguous_rows(x):
    """NCHW ``x`` as contiguous channels-last rows (N, H, W, C): a view when x is
    channels-last in memory (as every convolution's output is), else one copy."""
    return xp.ascontiguousarray(channels_last(x))


SHORT_WINDOW_ROW = 16
"""Below this many values in one window row (kw * C), the row-major im2col copies runs too
short to be fast (5 values for a 5x5 kernel on grey images) and ``offset_major_im2col``,
whose runs are whole output rows, takes over: measured here for the three-layer convnet's
first layer, 0.8 ms instead of 2.7 ms per im2col and a weight-gradient product twice as
fast."""


def offset_major_im2col(x, kernel, stride, padding):
    """cols^T (kh * kw * C, N * Ho * Wo), workspace memory: for each kernel offset (i, j)
    the strided slice x_padded[:, :, i::sh, j::sw] of the padded CNHW input, one copy each."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho, wo = output_size(h, kh, sh, ph), output_size(w, kw, sw, pw)
    padded = workspace.take("padded", (c, n, h + 2 * ph, w + 2 * pw), x.dtype)
    zero_border(padded, (2, 3), padding)
    padded[:, :, ph:ph + h, pw:pw + w] = x.transpose(1, 0, 2, 3)
    cols_t = workspace.take("cols", (kh, kw, c, n, ho, wo), x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols_t[i, j] = padded[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]
    return cols_t.reshape(kh * kw * c, n * ho * wo)


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


def col2im(cols, out, kernel, stride, padding):
    """The adjoint of ``im2col``: add each row's values back where its window read them,
    into ``out`` (N, H, W, C), the input's gradient in channels-last order.

    For every kernel offset (i, j), the (N, Ho, Wo, C) slab cols[..., i, j, :] is added to
    the strided slice x_padded[:, i::sh, j::sw] (kh * kw slice additions, no ``add.at``);
    the padding is cropped off as the sum is copied into ``out``.
    """
    n, h, w, c = out.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho, wo = output_size(h, kh, sh, ph), output_size(w, kw, sw, pw)
    slabs = cols.reshape(n, ho, wo, kh, kw, c)
    padded = workspace.take("padded", (n, h + 2 * ph, w + 2 * pw, c), cols.dtype)
    padded.fill(0)
    for i in range(kh):
        for j in range(kw):
            along_h = slice(i, i + sh * (ho - 1) + 1, sh)
            along_w = slice(j, j + sw * (wo - 1) + 1, sw)
            padded[:, along_h, along_w] += slabs[:, :, :, i, j]
    out[...] = padded[:, ph:ph + h, pw:pw + w]


def weight_rows(weight):
    """(F, C, kh, kw) -> (F, kh * kw * C), the column order of ``im2col``."""
    return weight.transpose(0, 2, 3, 1).reshape(weight.shape[0], -1)


def channels_last(x):
    """NCHW ``x`` as its (N, H, W, C) transpose: a view, contiguous when x is channels-last
    in memory (as every convolution's output is)."""
    return x.transpose(0, 2, 3, 1)


def as_nchw(rows):
    """An (N, H, W, C) array seen with NCHW axes: the channels-last memory layout PyTorch
    calls ``channels_last``. Elementwise ops keep it, so a network's activations stay in
    the order the convolutions produce and read."""
    return rows.transpose(0, 3, 1, 2)


def is_channels_last(x) -> bool:
    """Whether 4-D ``x`` is channels-last in memory (its NHWC transpose is contiguous)."""
    return x.ndim == 4 and channels_last(x).flags.c_contiguous


def empty_nchw(shape, dtype, in_channels_last: bool):
    """An uninitialised NCHW array, channels-last in memory if asked."""
    if not in_channels_last:
        return xp.empty(shape, dtype=dtype)
    n, c, h, w = shape
    return as_nchw(xp.empty((n, h, w, c), dtype=dtype))


CHUNK_BYTES = 4 << 20
"""The size of one im2col block. A convolution runs over the batch a few examples at a
time, so its window matrix stays in the L3 cache between being written and being read
by the product, and the workspace holds 4 MB instead of the whole batch's windows (115 MB
for VGG's 32-channel layer at batch 128). Measured here on the course's layers: 4 MB
blocks take 25-40% less time than one whole-batch im2col and product (2 MB and 8 MB
blocks lie between)."""


def batch_chunks(n: int, bytes_per_example: int):
    """Slices of the batch axis of equal size (to one example), each of at most about
    ``CHUNK_BYTES`` of window matrix, and a multiple of the core count of them, so that
    ``split_over_cores`` gives every core the same work. (A 1x1 shortcut convolution's
    windows fit in one block, and as one block it ran on one core: 2.6 ms at batch 256,
    1.5 ms in two blocks.)"""
    cores = available_cores()
    per_block = max(1, CHUNK_BYTES // max(1, bytes_per_example))
    blocks = -(-n // per_block)
    blocks = min(n, -(-blocks // cores) * cores)
    bounds = [n * i // blocks for i in range(blocks + 1)]
    return [slice(start, stop) for start, stop in zip(bounds, bounds[1:], strict=False)]


def window_bytes(out_hw, kernel, channels, dtype) -> int:
    """Bytes of one example's im2col rows: Ho * Wo rows of kh * kw * C values."""
    return out_hw[0] * out_hw[1] * kernel[0] * kernel[1] * channels * xp.dtype(dtype).itemsize


def conv_output(x, weight, bias, stride, padding):
    """y = conv(x, weight) + bias for NCHW x and weight (F, C, kh, kw): a fresh array with
    NCHW axes and channels-last memory, built block by block by the compiled kernel where
    it fits (``direct_conv_fits``), else as cols @ W_rows^T."""
    n, f = x.shape[0], weight.shape[0]
    kernel = weight.shape[2:]
    out_hw = tuple(output_size(x.shape[2 + a], kernel[a], stride[a], padding[a])
                   for a in (0, 1))
    rows = xp.empty((n, *out_hw, f), dtype=x.dtype)
    if direct_conv_fits(x, f, out_hw):
        w_blocks = weight_blocks(weight)

        def block(part):
            direct_conv(contiguous_rows(x[part]), w_blocks, stride, padding, rows[part])
    else:
        w_cols = weight_rows(weight).T

        def block(part):
            xp.matmul(im2col(x[part], kernel, stride, padding), w_cols,
                      out=rows[part].reshape(-1, f))

    split_over_cores(block, batch_chunks(n, window_bytes(out_hw, kernel, x.shape[1], x.dtype)))
    if bias is not None:
        add_per_channel(rows.reshape(-1, f), bias)
    return as_nchw(rows)


def is_full_correlation(kernel, stride, padding) -> bool:
    """Whether dx is a stride-1 convolution of dy padded by k - 1 - p >= 0 (see below)."""
    return stride == (1, 1) and all(padding[a] <= kernel[a] - 1 for a in (0, 1))


def full_padding(kernel, padding):
    return kernel[0] - 1 - padding[0], kernel[1] - 1 - padding[1]


def flip(weight):
    """rot180(W)^T: the kernel turned 180 degrees with its two channel axes swapped."""
    return weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)


def conv_input_grad(grad_out, weight, x_shape, stride, padding):
    """dx of y = conv(x, weight): dx = col2im(dy_rows @ W_rows) of shape ``x_shape``
    (NCHW axes, channels-last memory).

    With stride 1 and padding p <= k - 1 the same sum is a convolution of dy, padded by
    k - 1 - p, with the kernel turned 180 degrees and its channel axes swapped,
    dx = conv(dy, rot180(W)^T): one more im2col and product, and no kh * kw passes over
    the input's gradient.
    """
    kernel = weight.shape[2:]
    if is_full_correlation(kernel, stride, padding):
        return conv_output(grad_out, flip(weight), None, (1, 1), full_padding(kernel, padding))
    n, c, h, w = x_shape
    rows = weight_rows(weight)
    dy_rows = channels_last(grad_out)
    dx = xp.empty((n, h, w, c), dtype=grad_out.dtype)

    def block(part):
        dy_part = dy_rows[part].reshape(-1, rows.shape[0])
        dcols = workspace.take("cols", (dy_part.shape[0], rows.shape[1]), grad_out.dtype)
        xp.matmul(dy_part, rows, out=dcols)
        col2im(dcols, dx[part], kernel, stride, padding)

    split_over_cores(block, batch_chunks(n, window_bytes(grad_out.shape[2:], kernel, c,
                                                         grad_out.dtype)))
    return as_nchw(dx)


def conv_weight_grad(x, grad_out, kernel, stride, padding):
    """dW of y = conv(x, W), returned as (F, C, kh, kw):
    dW[f, c, i, j] = sum_{n, ho, wo} x_pad[n, c, ho sh + i, wo sw + j] dy[n, f, ho, wo],
    summed block by block by the compiled kernel where it fits
    (``direct_weight_grad_fits``), else as dW_rows^T = cols^T @ dy_rows.
    """
    n, c = x.shape[:2]
    f = grad_out.shape[1]
    dy_rows = channels_last(grad_out)
    chunks = batch_chunks(n, window_bytes(grad_out.shape[2:], kernel, c, x.dtype))
    if direct_weight_grad_fits(x, (f, c, *kernel), grad_out.shape[2:]):
        dy_rows = xp.ascontiguousarray(dy_rows)

        def direct_block(part):
            return direct_conv_weight_grad(contiguous_rows(x[part]), dy_rows[part], kernel,
                                           stride, padding)

        dw_blocks = sum(split_over_cores(direct_block, chunks))
        return xp.ascontiguousarray(weight_from_blocks(dw_blocks))

    def block(part):
        return im2col(x[part], kernel, stride, padding).T @ dy_rows[part].reshape(-1, f)

    dw_rows = sum(split_over_cores(block, chunks))
    return xp.ascontiguousarray(dw_rows.reshape(*kernel, c, f).transpose(3, 2, 0, 1))


def conv_grads_from_dy_windows(x, weight, grad_out, padding):
    """(dx, dW) of a stride-1 convolution from one matrix per block: the windows of dy.

    With dy_cols = im2col(dy padded by k - 1 - p) (N H W, kh kw F), whose row (n, h, w)
    holds dy[n, f, h - i + p, w - j + p] at column (k - 1 - i, k - 1 - j, f),
        dx_rows = dy_cols @ rot180(W)^T_rows^T          (as in ``conv_input_grad``)
        dW[f, c, i, j] = sum_{n, h, w} x[n, c, h, w] dy[n, f, h - i + p, w - j + p]
                       = (dy_cols^T @ x_rows)[(k - 1 - i, k - 1 - j, f), c],
    so the one im2col serves both products (``conv_weight_grad`` would build another
    from x). x_rows is a view of x when x is channels-last.
    """
    n, c, h, w = x.shape
    kernel, f = weight.shape[2:], weight.shape[0]
    flipped_cols = weight_rows(flip(weight)).T
    x_rows = channels_last(x)
    dx = xp.empty((n, h, w, c), dtype=x.dtype)

    def block(part):
        dy_cols = im2col(grad_out[part], kernel, (1, 1), full_padding(kernel, padding))
        xp.matmul(dy_cols, flipped_cols, out=dx[part].reshape(-1, c))
        return dy_cols.T @ x_rows[part].reshape(-1, c)

    dw_flipped = sum(split_over_cores(block, batch_chunks(n, window_bytes((h, w), kernel, f,
                                                                          x.dtype))))
    dw = dw_flipped.reshape(kernel[0], kernel[1], f, c)[::-1, ::-1].transpose(2, 3, 0, 1)
    return as_nchw(dx), xp.ascontiguousarray(dw)


def bias_grad(grad_out):
    """db[f] = sum over n, h, w of dy[n, f, h, w]: column sums of dy's channel rows."""
    rows = channel_rows(grad_out)
    return folded_sums(*widen(rows))


def with_bias_grad(needs_input_grad, dx, dw, grad_out):
    """The gradients (dx, dw) plus db when the op was given a bias that needs one."""
    if len(needs_input_grad) == 2:
        return dx, dw
    return dx, dw, bias_grad(grad_out) if needs_input_grad[2] else None


def _check_conv(op, x, weight, bias, in_channels_axis, stride, padding):
    """Shape checks shared by conv2d and conv_transpose2d; return (stride, padding)."""
    stride, padding = pair(stride, "stride"), pair(padding, "padding")
    if weight.ndim != 4:
        raise ValueError(f"{op} expects weight of 4 dimensions, got shape {weight.shape}")
    if x.ndim == 4 and x.shape[1] != weight.shape[in_channels_axis]:
        raise ValueError(f"{op}: input of shape {x.shape} has {x.shape[1]} channels but weight "
                         f"of shape {weight.shape} expects {weight.shape[in_channels_axis]}")
    if weight.dtype != x.dtype or (bias is not None and bias.dtype != x.dtype):
        raise TypeError(f"{op}: input, weight and bias must share one dtype, got {x.dtype}, "
                        f"{weight.dtype} and {None if bias is None else bias.dtype}")
    out_channels = weight.shape[1 - in_channels_axis]
    if bias is not None and bias.shape != (out_channels,):
        raise ValueError(f"{op}: bias shape {bias.shape} does not match the {out_channels} "
                         f"output channels of weight of shape {weight.shape}")
    return stride, padding


class Conv2d(Function):
    """2-D cross-correlation with stride and zero padding (PyTorch's ``conv2d``).

    Forward:  y[n, f, ho, wo] = b[f] + sum_{c, i, j} w[f, c, i, j] x_pad[n, c, ho sh + i, wo sw + j]
              computed as cols @ W_rows^T, cols = im2col(x) (N Ho Wo, kh kw C)
    Backward: db = sum_{n, ho, wo} dy;  dW_rows^T = cols^T @ dy_rows;
              dx = col2im(dy_rows @ W_rows)  (= conv(dy, rot180(w)^T) for stride 1)
              (float32 with 16k filters: forward, dW and the stride-1 dx by the compiled
              direct kernel, the same sums without cols; see the module's docstring)
    Shape:    x (N, C, H, W), w (F, C, kh, kw), b (F,) or None -> y (N, F, Ho, Wo),
              Ho = floor((H + 2 ph - kh) / sh) + 1,  Wo = floor((W + 2 pw - kw) / sw) + 1
              (y and dx in channels-last memory, see the module's docstring)
    """

    def forward(self, x, weight, bias=None, stride=1, padding=0):
        self.stride, self.padding = _check_conv("conv2d", x, weight, bias, 1, stride, padding)
        check_window("conv2d", x.shape, weight.shape[2:], self.stride, self.padding)
        self.x, self.weight = x, weight
        return conv_output(x, weight, bias, self.stride, self.padding)

    def backward(self, grad_out):
        needs = self.needs_input_grad
        dx = dw = None
        # One im2col of dy serves both gradients, unless the kernel computes dx directly.
        direct_dx = direct_conv_fits(grad_out, self.x.shape[1], self.x.shape[2:])
        if (needs[0] and needs[1] and not direct_dx
                and is_full_correlation(self.weight.shape[2:], self.stride, self.padding)):
            dx, dw = conv_grads_from_dy_windows(self.x, self.weight, grad_out, self.padding)
            return with_bias_grad(needs, dx, dw, grad_out)
        if needs[0]:
            dx = conv_input_grad(grad_out, self.weight, self.x.shape, self.stride, self.padding)
        if needs[1]:
            dw = conv_weight_grad(self.x, grad_out, self.weight.shape[2:], self.stride,
                                  self.padding)
        return with_bias_grad(needs, dx, dw, grad_out)


class ConvTranspose2d(Function):
    """Transposed convolution (PyTorch's ``conv_transpose2d``), the adjoint of ``conv2d``.

    Each input pixel scatters w[c, :, :, :] * x[n, c, h, w] into the output at
    (h sh + i - ph, w sw + j - pw): y = conv2d's input gradient with x in the role of dy.
    Forward:  y = col2im(x_rows @ W_rows) + b   (w read as a conv2d weight (C_in, C_out, k))
    Backward: dx = conv2d(dy, w) (same stride and padding); dw = conv2d's weight gradient
              with dy as its input and x as its output gradient; db = sum_{n, h, w} dy
    Shape:    x (N, C_in, H, W), w (C_in, C_out, kh, kw), b (C_out,) or None
              -> y (N, C_out, Ho, Wo),  Ho = (H - 1) sh - 2 ph + kh + output_padding_h
    """

    def forward(self, x, weight, bias=None, stride=1, padding=0, output_padding=0):
        op = "conv_transpose2d"
        stride, padding = _check_conv(op, x, weight, bias, 0, stride, padding)
        extra = pair(output_padding, "output_padding")
        if x.ndim != 4:
            raise ValueError(f"{op} expects input of shape (N, C, H, W), got shape {x.shape}")
        if min(stride) <= 0:
            raise ValueError(f"{op}: stride must be positive, got {stride}")
        if min(padding) < 0:
            raise ValueError(f"{op}: padding must be non-negative, got {padding}")
        if min(extra) < 0 or extra[0] >= stride[0] or extra[1] >= stride[1]:
            raise ValueError(f"{op}: output_padding {extra} must be non-negative and smaller "
                             f"than stride {stride}")
        out_hw = tuple((x.shape[2 + a] - 1) * stride[a] - 2 * padding[a] + weight.shape[2 + a]
                       + extra[a] for a in (0, 1))
        if min(out_hw) <= 0:
            raise ValueError(f"{op}: padding {padding} leaves no output: size {out_hw} for "
                             f"input {x.shape[2:]} and kernel {weight.shape[2:]}")
        self.stride, self.padding, self.x, self.weight = stride, padding, x, weight
        y = conv_input_grad(x, weight, (x.shape[0], weight.shape[1], *out_hw), stride, padding)
        if bias is not None:
            y += bias.reshape(-1, 1, 1)
        return y

    def backward(self, grad_out):
        needs = self.needs_input_grad
        dx = dw = None
        if needs[0]:
            dx = conv_output(grad_out, self.weight, None, self.stride, self.padding)
        if needs[1]:
            dw = conv_weight_grad(grad_out, self.x, self.weight.shape[2:], self.stride,
                                  self.padding)
        return with_bias_grad(needs, dx, dw, grad_out)


# ----- pooling ---------------------------------------------------------------------------------


def pool_geometry(op, x_shape, kernel_size, stride, padding):
    """(kernel, stride, padding, (Ho, Wo)) for a pooling window, checked as PyTorch does."""
    kernel = pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else pair(stride, "stride")
    padding = pair(padding, "padding")
    if 2 * padding[0] > kernel[0] or 2 * padding[1] > kernel[1]:
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel {kernel}")
    return kernel, stride, padding, check_window(op, x_shape, kernel, stride, padding)


def pad_nchw(x, padding, value):
    """x with ``padding`` rows and columns of ``value`` around H and W (x itself if none)."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    n, c, h, w = x.shape
    padded = xp.full((n, c, h + 2 * ph, w + 2 * pw), value, dtype=x.dtype)
    padded[:, :, ph:ph + h, pw:pw + w] = x
    return padded


def windows(padded, kernel, stride, out_hw):
    """For each kernel offset (i, j), row-major, the (N, C, Ho, Wo) slice of ``padded``
    whose element (ho, wo) is the window (ho, wo)'s entry at offset (i, j)."""
    (kh, kw), (sh, sw), (ho, wo) = kernel, stride, out_hw
    return [padded[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]
            for i in range(kh) for j in range(kw)]


def tiles(x_shape, kernel, stride, padding) -> bool:
    """Whether the windows cover every pixel exactly once (kernel == stride, sizes divide)."""
    return (kernel == stride and padding == (0, 0)
            and x_shape[2] % kernel[0] == 0 and x_shape[3] % kernel[1] == 0)


def scatter_to_windows(values, masks, x_shape, in_channels_last, kernel, stride, padding):
    """dx from one (N, C, Ho, Wo) gradient per kernel offset, ``values * masks[k]`` (or
    ``values`` itself when ``masks`` is None): the adjoint of ``windows``.

    When the windows tile the input, each part is written straight into its own disjoint
    slice of dx (the view x.reshape(N, C, Ho, kh, Wo, kw)[:, :, :, i, :, j]), with no zeros
    and no temporary; otherwise the parts are added into a zeroed padded gradient, then
    cropped. dx is channels-last in memory when ``in_channels_last`` (as the input was).
    """
    n, c, h, w = x_shape
    ph, pw = padding
    count = kernel[0] * kernel[1]
    masks = [None] * count if masks is None else masks
    if tiles(x_shape, kernel, stride, padding):
        dx = empty_nchw(x_shape, values.dtype, in_channels_last)
        for view, mask in zip(windows(dx, kernel, stride, values.shape[2:]), masks, strict=True):
            if mask is None:
                view[...] = values
            else:
                xp.multiply(values, mask, out=view)
        return dx
    dx = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=values.dtype)
    for view, mask in zip(windows(dx, kernel, stride, values.shape[2:]), masks, strict=True):
        view += values if mask is None else values * mask
    return dx[:, :, ph:ph + h, pw:pw + w] if ph or pw else dx


def window_max(x, kernel, stride, padding, out_hw):
    """The maximum of each window: a running ``maximum`` over the kernel offsets
    (in x's memory layout)."""
    parts = windows(pad_nchw(x, padding, -xp.inf), kernel, stride, out_hw)
    if len(parts) == 1:
        return parts[0].copy(order="K")
    best = xp.maximum(parts[0], parts[1])
    for part in parts[2:]:
        xp.maximum(best, part, out=best)
    return best


def first_maximum_masks(x, y, kernel, stride, padding):
    """For each kernel offset in row-major order, the (N, C, Ho, Wo) mask of the windows
    whose first maximum sits at that offset: PyTorch's choice among ties (which are
    common: a window of zeros after a ReLU).
    NOTE: a window whose maximum is NaN matches no offset, so it passes no gradient.
    """
    parts = windows(pad_nchw(x, padding, -xp.inf), kernel, stride, y.shape[2:])
    return first_hits((part == y for part in parts), y)


def first_hits(hits, like) -> list:
    """The windows' hit masks in kernel-offset order, each cleared in place where an
    earlier offset already hit, so only the first maximum of a window keeps its mark;
    returned as a list. ``like`` is an array of the windows' shape and memory layout."""
    unclaimed = xp.ones_like(like, dtype=bool)
    cleared = []
    for hit in hits:
        hit &= unclaimed
        unclaimed ^= hit
        cleared.append(hit)
    return cleared


def tiled_max_grad(x, y, grad_out, kernel):
    """dx of max pooling whose windows tile x, by reshape: x seen as blocks
    (N, C, Ho, kh, Wo, kw) (a view in either memory layout) is compared with y in one
    broadcast pass, later ties are dropped offset by offset (the first maximum wins, as in
    PyTorch), and dx = hits * dy in one more pass written straight into dx's blocks."""
    n, c = x.shape[:2]
    (kh, kw), (ho, wo) = kernel, y.shape[2:]
    hits = x.reshape(n, c, ho, kh, wo, kw) == y.reshape(n, c, ho, 1, wo, 1)
    first_hits([hits[:, :, :, i, :, j] for i in range(kh) for j in range(kw)], y)  # in place
    dx = empty_nchw(x.shape, grad_out.dtype, is_channels_last(x))
    xp.multiply(hits, grad_out.reshape(n, c, ho, 1, wo, 1),
                out=dx.reshape(n, c, ho, kh, wo, kw))
    return dx


def max_pool2d_indices(x, kernel_size, stride=None, padding=0):
    """PyTorch's ``return_indices``: the flat index (h W + w) in each input plane of the
    element each window's maximum came from, shape (N, C, Ho, Wo), int64."""
    kernel, stride, padding, out_hw = pool_geometry("max_pool2d", x.shape, kernel_size, stride,
                                                    padding)
    y = window_max(x, kernel, stride, padding, out_hw)
    offset = xp.zeros(y.shape, dtype=xp.int64)
    for k, hit in enumerate(first_maximum_masks(x, y, kernel, stride, padding)):
        offset += hit * k
    i, j = xp.divmod(offset, kernel[1])
    rows = xp.arange(out_hw[0]).reshape(-1, 1) * stride[0] - padding[0] + i
    cols = xp.arange(out_hw[1]) * stride[1] - padding[1] + j
    return rows * x.shape[3] + cols


class MaxPool2d(Function):
    """Max pooling (PyTorch's ``max_pool2d`` without dilation and ceil_mode).

    Forward:  y[n, c, ho, wo] = max_{i < kh, j < kw} x_pad[n, c, ho sh + i, wo sw + j]
              (padding is -inf)
    Backward: dx at the first maximum of each window (row-major) += dy; 0 elsewhere
    Shape:    x (N, C, H, W) -> y (N, C, Ho, Wo), Ho = floor((H + 2 ph - kh) / sh) + 1
    """

    def forward(self, x, kernel_size, stride=None, padding=0):
        self.kernel, self.stride, self.padding, out_hw = pool_geometry(
            "max_pool2d", x.shape, kernel_size, stride, padding)
        self.x = x
        self.y = window_max(x, self.kernel, self.stride, self.padding, out_hw)
        return self.y

    def backward(self, grad_out):
        dy = grad_out
        if dy.strides != self.y.strides:  # into y's memory order, as the masks are
            dy = xp.empty_like(self.y)
            dy[...] = grad_out
        if tiles(self.x.shape, self.kernel, self.stride, self.padding):
            return tiled_max_grad(self.x, self.y, dy, self.kernel)
        masks = first_maximum_masks(self.x, self.y, self.kernel, self.stride, self.padding)
        return scatter_to_windows(dy, masks, self.x.shape, is_channels_last(self.x),
                                  self.kernel, self.stride, self.padding)


class AvgPool2d(Function):
    """Average pooling with zero padding counted in the mean (PyTorch's default
    ``count_include_pad=True``).

    Forward:  y[n, c, ho, wo] = 1 / (kh kw) sum_{i, j} x_pad[n, c, ho sh + i, wo sw + j]
    Backward: every x_pad in the window (ho, wo) gets dy[n, c, ho, wo] / (kh kw)
    Shape:    x (N, C, H, W) -> y (N, C, Ho, Wo), Ho = floor((H + 2 ph - kh) / sh) + 1
    """

    def forward(self, x, kernel_size, stride=None, padding=0):
        self.kernel, self.stride, self.padding, out_hw = pool_geometry(
            "avg_pool2d", x.shape, kernel_size, stride, padding)
        self.x_shape, self.x_channels_last = x.shape, is_channels_last(x)
        parts = windows(pad_nchw(x, self.padding, 0), self.kernel, self.stride, out_hw)
        total = parts[0].copy(order="K")
        for part in parts[1:]:
            total += part
        total *= x.dtype.type(1 / len(parts))
        return total

    def backward(self, grad_out):
        share = grad_out * grad_out.dtype.type(1 / (self.kernel[0] * self.kernel[1]))
        return scatter_to_windows(share, None, self.x_shape, self.x_channels_last,
                                  self.kernel, self.stride, self.padding)


class MaxUnpool2d(Function):
    """The partial inverse of max pooling (PyTorch's ``max_unpool2d``).

    Forward:  y.flat_plane[n, c, indices[n, c, h, w]] = x[n, c, h, w], zeros elsewhere
              (indices are flat h W_out + w positions in each output plane)
    Backward: dx[n, c, h, w] = dy.flat_plane[n, c, indices[n, c, h, w]]
    Shape:    x, indices (N, C, H, W) -> y (N, C, Ho, Wo), Ho = (H - 1) sh - 2 ph + kh,
              or ``output_size`` (its last two entries)
    """

    def forward(self, x, indices, kernel_size, stride=None, padding=0, output_size=None):
        if x.ndim != 4:
            raise ValueError(f"max_unpool2d expects input of shape (N, C, H, W), got shape "
                             f"{x.shape}")
        if indices.shape != x.shape:
            raise ValueError(f"max_unpool2d: indices of shape {indices.shape} do not match "
                             f"input of shape {x.shape}")
        kernel = pair(kernel_size, "kernel_size")
        stride = kernel if stride is None else pair(stride, "stride")
        padding = pair(padding, "padding")
        if output_size is None:
            out_hw = tuple((x.shape[2 + a] - 1) * stride[a] - 2 * padding[a] + kernel[a]
                           for a in (0, 1))
        else:
            out_hw = tuple(int(size) for size in output_size[-2:])
        n, c = x.shape[:2]
        plane = out_hw[0] * out_hw[1]
        self.flat_indices = indices.reshape(n, c, -1)
        if indices.size and (self.flat_indices.min() < 0 or self.flat_indices.max() >= plane):
            raise ValueError(f"max_unpool2d: indices must lie in [0, {plane}) for an output "
                             f"of size {out_hw}, got values in [{int(indices.min())}, "
                             f"{int(indices.max())}]")
        self.x_shape = x.shape
        y = xp.zeros((n, c, plane), dtype=x.dtype)
        xp.put_along_axis(y, self.flat_indices, x.reshape(n, c, -1), axis=2)
        return y.reshape(n, c, *out_hw)

    def backward(self, grad_out):
        flat = grad_out.reshape(*grad_out.shape[:2], -1)
        return xp.take_along_axis(flat, self.flat_indices, axis=2).reshape(self.x_shape), None


# ----- upsampling ------------------------------------------------------------------------------


def _check_scale(op, x, scale_factor):
    if x.ndim != 4:
        raise ValueError(f"{op} expects input of shape (N, C, H, W), got shape {x.shape}")
    scale = pair(scale_factor, "scale_factor")
    if min(scale) <= 0:
        raise ValueError(f"{op}: scale_factor must be a positive integer, got {scale_factor}")
    return scale


class UpsampleNearest(Function):
    """Nearest-neighbour upsampling by integer factors (PyTorch's
    ``interpolate(mode="nearest")``): each value fills its sh x sw block.

    Forward:  y[n, c, h, w] = x[n, c, h // sh, w // sw]
    Backward: dx[n, c, h, w] = sum of dy over the block (h sh .. h sh + sh - 1, ...)
    Shape:    x (N, C, H, W) -> y (N, C, H sh, W sw)
    """

    def forward(self, x, scale_factor):
        self.scale = sh, sw = _check_scale("upsample_nearest", x, scale_factor)
        n, c, h, w = x.shape
        blocks = xp.broadcast_to(x[:, :, :, None, :, None], (n, c, h, sh, w, sw))
        return blocks.reshape(n, c, h * sh, w * sw)

    def backward(self, grad_out):
        (sh, sw), (n, c, h, w) = self.scale, grad_out.shape
        return grad_out.reshape(n, c, h // sh, sh, w // sw, sw).sum(axis=(3, 5))


class UpsampleBedOfNails(Function):
    """"Bed of nails" upsampling: each value at the top-left of its sh x sw block, zeros
    elsewhere (the course's unpooling without remembered positions).

    Forward:  y[n, c, h sh, w sw] = x[n, c, h, w], y = 0 elsewhere
    Backward: dx[n, c, h, w] = dy[n, c, h sh, w sw]
    Shape:    x (N, C, H, W) -> y (N, C, H sh, W sw)
    """

    def forward(self, x, scale_factor):
        self.scale = sh, sw = _check_scale("upsample_bed_of_nails", x, scale_factor)
        n, c, h, w = x.shape
        y = xp.zeros((n, c, h * sh, w * sw), dtype=x.dtype)
        y[:, :, ::sh, ::sw] = x
        return y

    def backward(self, grad_out):
        sh, sw = self.scale
        return xp.ascontiguousarray(grad_out[:, :, ::sh, ::sw])
