"""Convolution and transposed convolution on NCHW images.

Convolution is im2col plus one matrix product. The padded input is copied once into
NHWC order and a strided view of it lists, for every output position (n, ho, wo), the
kh * kw * C values its window covers; copying that view gives the matrix
``cols (N * Ho * Wo, kh * kw * C)`` and the convolution is ``cols @ W_rows^T`` with
``W_rows (F, kh * kw * C)``. Rows-per-position is the GEMM shape OpenBLAS runs fastest
(a tall matrix times a small one), for the forward product and both gradients. The batch
goes through in cache-sized blocks dealt to one thread per core (``accel.batch_chunks``,
``accel.split_over_cores``), with large temporaries in ``accel.workspace``.

The product's result (N Ho Wo, F) already is the output in NHWC order, so a convolution
returns it as it is, seen with NCHW axes: the layout contract of ``accel.layout``.

The backward pass rebuilds what it needs from the saved input instead of keeping ``cols``
(one copy instead of kh * kw times the input's memory, as PyTorch's own kernels do), and
chooses among three strategies (``Conv2d.backward``). Where the compiled direct kernel fits
(``accel.direct_conv2d``: float32, 16k filters, x86-64 with AVX2 and FMA), the forward
pass, the weight gradient and the stride-1 input gradient skip im2col; im2col and col2im
below stay the reference it is tested against, and the naive loops of ``conv_naive.py``
the reference of both.
"""

from __future__ import annotations

from .. import accel
from ..accel import (
    as_nchw,
    batch_chunks,
    channel_rows,
    channels_last,
    is_channels_last,
    split_over_cores,
    window_bytes,
    workspace,
)
from ..accel.layout import add_per_channel, folded_sums, widen
from ..autograd import Function
from ..backend import xp
from .window import check_window, output_hw, pair

# ----- im2col and col2im: the reference of every fast path ---------------------------------


def im2col(x, kernel, stride, padding):
    """Windows of NCHW ``x`` as rows: cols (N * Ho * Wo, kh * kw * C), workspace memory.

    cols[(n, ho, wo), (i, j, c)] = x_padded[n, c, ho * sh + i, wo * sw + j].
    Row-major (one strided view of the padded NHWC input, copied once) unless a window row
    is short (kw * C < ``SHORT_WINDOW_ROW``, a first layer on grey or colour images): then
    the same matrix is built offset by offset as its contiguous transpose and returned as a
    transposed view, which BLAS reads just as fast (``offset_major_im2col``). Without
    padding, a channels-last x is its own NHWC input and is read in place.
    """
    n, c, h, w = x.shape
    if kernel[1] * c < SHORT_WINDOW_ROW:
        return offset_major_im2col(x, kernel, stride, padding).T
    (kh, kw), (sh, sw) = kernel, stride
    padded = padded_rows(x, padding)
    ho, wo = output_hw((h, w), kernel, stride, padding)
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


SHORT_WINDOW_ROW = 16
"""Below this many values in one window row (kw * C), the row-major im2col copies runs too
short to be fast (5 values for a 5x5 kernel on grey images) and ``offset_major_im2col``,
whose runs are whole output rows, takes over (a first layer's im2col and weight gradient
several times faster; benchmarks/results/)."""


def offset_major_im2col(x, kernel, stride, padding):
    """cols^T (kh * kw * C, N * Ho * Wo), workspace memory: for each kernel offset (i, j)
    the strided slice x_padded[:, :, i::sh, j::sw] of the padded CNHW input, one copy each."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho, wo = output_hw((h, w), kernel, stride, padding)
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
    ho, wo = output_hw((h, w), kernel, stride, padding)
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



# ----- the three products of a convolution ---------------------------------------------------


def conv_output(x, weight, bias, stride, padding):
    """y = conv(x, weight) + bias for NCHW x and weight (F, C, kh, kw): a fresh array with
    NCHW axes and channels-last memory, from the compiled kernel where it fits
    (``accel.direct_conv2d``), else block by block as cols @ W_rows^T."""
    n, f = x.shape[0], weight.shape[0]
    kernel = weight.shape[2:]
    out_hw = output_hw(x.shape[2:], kernel, stride, padding)
    rows = accel.direct_conv2d(x, weight, stride, padding, out_hw)
    if rows is None:
        rows = xp.empty((n, *out_hw, f), dtype=x.dtype)
        w_cols = weight_rows(weight).T

        def block(part):
            xp.matmul(im2col(x[part], kernel, stride, padding), w_cols,
                      out=rows[part].reshape(-1, f))

        split_over_cores(block, batch_chunks(n, window_bytes(out_hw, kernel, x.shape[1],
                                                             x.dtype)))
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
    from the compiled kernel where it fits (``accel.direct_conv2d_weight_grad``), else
    summed block by block as dW_rows^T = cols^T @ dy_rows.
    """
    dw = accel.direct_conv2d_weight_grad(x, grad_out, kernel, stride, padding)
    if dw is not None:
        return dw
    n, c = x.shape[:2]
    f = grad_out.shape[1]
    dy_rows = channels_last(grad_out)

    def block(part):
        return im2col(x[part], kernel, stride, padding).T @ dy_rows[part].reshape(-1, f)

    dw_rows = sum(split_over_cores(block, batch_chunks(n, window_bytes(
        grad_out.shape[2:], kernel, c, x.dtype))))
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
              direct kernel, the same sums without cols; see ``backward``)
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
        """One of three strategies, chosen by the case:

        1. both gradients, stride 1 and no compiled kernel for dx: one im2col of the padded
           dy serves both products (``conv_grads_from_dy_windows``);
        2. otherwise dx alone: a convolution of dy with rot180(W)^T for stride 1 (compiled
           where it fits), else col2im(dy_rows @ W_rows) (``conv_input_grad``);
        3. and dW alone: the compiled kernel where it fits, else cols^T @ dy_rows
           (``conv_weight_grad``).
        """
        needs, kernel = self.needs_input_grad, self.weight.shape[2:]
        shared_windows = (needs[0] and needs[1]
                          and is_full_correlation(kernel, self.stride, self.padding)
                          and not accel.direct_conv_fits(grad_out, self.x.shape[1],
                                                         self.x.shape[2:]))
        if shared_windows:
            dx, dw = conv_grads_from_dy_windows(self.x, self.weight, grad_out, self.padding)
        else:
            dx = (conv_input_grad(grad_out, self.weight, self.x.shape, self.stride,
                                  self.padding) if needs[0] else None)
            dw = (conv_weight_grad(self.x, grad_out, kernel, self.stride, self.padding)
                  if needs[1] else None)
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
