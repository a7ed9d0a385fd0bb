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
chooses among three strategies (``Conv2d.backward``). Where the compiled direct kernels fit
(``accel.direct_conv2d``, ``accel.direct_conv2d_weight_grad``,
``accel.direct_conv2d_input_grad``: float32, channels in blocks of 16, x86-64 with AVX2 and
FMA, one group, no dilation), the forward pass, the weight gradient and the input gradient
(stride 1, or any stride on small images) skip im2col and col2im; im2col and col2im
(``im2col.py``) stay the reference they are tested against, and the naive loops of
``conv_naive.py`` the reference of both. Groups run group by group through
the same products; dilation spaces the window's taps d apart in im2col and col2im.
"""

from __future__ import annotations

from .. import accel
from ..accel import (
    as_nchw,
    batch_chunks,
    channel_rows,
    channels_last,
    split_over_cores,
    window_bytes,
    workspace,
)
from ..accel.layout import add_per_channel, folded_sums, widen
from ..autograd import Function, Tensor, as_tensor
from ..backend import array_module
from .im2col import col2im, im2col, offset_major, weight_rows
from .window import as_int, check_window, output_hw, pair

# ----- the three products of a convolution ---------------------------------------------------
# ``compiled`` says whether a product may ask accel's compiled kernel: False for the options
# that start as NumPy references (groups > 1, dilation > 1).


def conv_output(x, weight, bias, stride, padding, dilation=(1, 1), compiled=True):
    """y = conv(x, weight) + bias for NCHW x and weight (F, C, kh, kw): a fresh array with
    NCHW axes and channels-last memory, from the compiled kernel where it fits
    (``accel.direct_conv2d``), else block by block as cols @ W_rows^T."""
    xp = array_module(x)
    n, f = x.shape[0], weight.shape[0]
    kernel = weight.shape[2:]
    out_hw = output_hw(x.shape[2:], kernel, stride, padding, dilation)
    rows = accel.direct_conv2d(x, weight, stride, padding, out_hw) if compiled else None
    if rows is None:
        rows = xp.empty((n, *out_hw, f), dtype=x.dtype)
        w_cols = weight_rows(weight).T

        def block(part):
            xp.matmul(im2col(x[part], kernel, stride, padding, dilation), w_cols,
                      out=rows[part].reshape(-1, f))

        split_over_cores(block, batch_chunks(n, window_bytes(out_hw, kernel, x.shape[1],
                                                             x.dtype)))
    if bias is not None:
        add_per_channel(rows.reshape(-1, f), bias)
    return as_nchw(rows)


def is_full_correlation(kernel, stride, padding, dilation=(1, 1)) -> bool:
    """Whether dx is a stride-1 convolution of dy padded by d (k - 1) - p >= 0 (see below)."""
    return stride == (1, 1) and all(padding[a] <= dilation[a] * (kernel[a] - 1) for a in (0, 1))


def full_padding(kernel, padding, dilation=(1, 1)):
    return tuple(dilation[a] * (kernel[a] - 1) - padding[a] for a in (0, 1))


def few_input_channels(weight) -> bool:
    """Whether x has under 1/8 as many channels as y (an image's first layer, C = 1 or 3):
    then the full correlation's windows of dy (kh kw F values per pixel) cost more to copy
    than col2im's kh kw passes over dy_rows @ W_rows (kh kw C values per pixel), which is 2
    to 4 times faster for the input gradient of a first layer (attacks, saliency)."""
    return weight.shape[0] >= 8 * weight.shape[1]


def flip(weight):
    """rot180(W)^T: the kernel turned 180 degrees with its two channel axes swapped."""
    return weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)


def conv_input_grad(grad_out, weight, x_shape, stride, padding, dilation=(1, 1),
                    compiled=True):
    """dx of y = conv(x, weight): dx = col2im(dy_rows @ W_rows) of shape ``x_shape``
    (NCHW axes, channels-last memory), or the compiled kernels' where they fit
    (``accel.direct_conv2d_input_grad``: small images at any stride, or the stride-1 case
    below).

    With stride 1 and padding p <= d (k - 1) the same sum is a convolution of dy, padded by
    d (k - 1) - p, with the kernel turned 180 degrees and its channel axes swapped (same
    dilation), dx = conv(dy, rot180(W)^T): one more im2col and product, and no kh * kw
    passes over the input's gradient, unless x has few channels (``few_input_channels``).
    """
    xp = array_module(grad_out)
    kernel = weight.shape[2:]
    if compiled and dilation == (1, 1):
        dx = accel.direct_conv2d_input_grad(grad_out, weight, x_shape, stride, padding)
        if dx is not None:
            return dx
    if is_full_correlation(kernel, stride, padding, dilation) and not few_input_channels(weight):
        return conv_output(grad_out, flip(weight), None, (1, 1),
                           full_padding(kernel, padding, dilation), dilation, compiled)
    n, c, h, w = x_shape
    rows = weight_rows(weight)
    dy_rows = channels_last(grad_out)
    dx = xp.empty((n, h, w, c), dtype=grad_out.dtype)

    def block(part):
        dy_part = dy_rows[part].reshape(-1, rows.shape[0])
        if offset_major(kernel, c):  # dcols^T = W_rows^T @ dy_rows^T, one slab per offset
            dcols = workspace.take("cols", (rows.shape[1], dy_part.shape[0]), grad_out.dtype,
                                   like=grad_out)
            xp.matmul(rows.T, dy_part.T, out=dcols)
            dcols = dcols.T
        else:
            dcols = workspace.take("cols", (dy_part.shape[0], rows.shape[1]), grad_out.dtype,
                                   like=grad_out)
            xp.matmul(dy_part, rows, out=dcols)
        col2im(dcols, dx[part], kernel, stride, padding, dilation)

    split_over_cores(block, batch_chunks(n, window_bytes(grad_out.shape[2:], kernel, c,
                                                         grad_out.dtype)))
    return as_nchw(dx)


def conv_weight_grad(x, grad_out, kernel, stride, padding, dilation=(1, 1), compiled=True):
    """dW of y = conv(x, W), returned as (F, C, kh, kw):
    dW[f, c, i, j] = sum_{n, ho, wo} x_pad[n, c, ho sh + i dh, wo sw + j dw] dy[n, f, ho, wo],
    from the compiled kernel where it fits (``accel.direct_conv2d_weight_grad``), else
    summed block by block as dW_rows^T = cols^T @ dy_rows.
    """
    xp = array_module(x)
    if compiled:
        dw = accel.direct_conv2d_weight_grad(x, grad_out, kernel, stride, padding)
        if dw is not None:
            return dw
    n, c = x.shape[:2]
    f = grad_out.shape[1]
    dy_rows = channels_last(grad_out)

    def block(part):
        return (im2col(x[part], kernel, stride, padding, dilation).T
                @ dy_rows[part].reshape(-1, f))

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
    xp = array_module(x)
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


# ----- arguments, groups ---------------------------------------------------------------------


def conv_padding(op, padding, kernel, stride, dilation):
    """(padding, extra): ``padding`` as an (h, w) pair of zeros on both sides, and ``extra``
    zeros at the bottom and right only. An int or pair has no extra; "valid" is 0;
    "same" (stride 1 only, as in PyTorch) pads d (k - 1) in all, the odd one at the end,
    so the output keeps the input's size."""
    if not isinstance(padding, str):
        return pair(padding, "padding"), (0, 0)
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding != "same":
        raise ValueError(f"{op}: padding must be an int, a pair of ints, 'same' or 'valid', "
                         f"got {padding!r}")
    if stride != (1, 1):
        raise ValueError(f"{op}: padding='same' needs stride 1, got stride {stride}")
    total = [dilation[a] * (kernel[a] - 1) for a in (0, 1)]
    return tuple(t // 2 for t in total), tuple(t % 2 for t in total)


def check_conv(op, x, weight, bias, in_channels_axis, stride, dilation, groups):
    """Shape and type checks shared by conv2d and conv_transpose2d; return (stride,
    dilation) as pairs. The weight's channel axis ``in_channels_axis`` holds C / groups."""
    stride, dilation = pair(stride, "stride"), pair(dilation, "dilation")
    groups = as_int(groups, "groups")
    if x.dtype.kind != "f":
        # NOTE: as PyTorch, no convolution of booleans or integers (cast first)
        raise TypeError(f"{op}: input must be floating point, got dtype {x.dtype}")
    if x.ndim != 4:
        raise ValueError(f"{op} expects input of shape (N, C, H, W), got shape {x.shape}")
    if weight.ndim != 4:
        raise ValueError(f"{op} expects weight of 4 dimensions, got shape {weight.shape}")
    if groups < 1 or x.shape[1] % groups or weight.shape[0] % groups:
        raise ValueError(f"{op}: groups={groups} must be positive and divide both the "
                         f"{x.shape[1]} input channels and the weight's first axis "
                         f"{weight.shape[0]}")
    expected = weight.shape[in_channels_axis] * groups ** in_channels_axis
    if x.shape[1] != expected:
        raise ValueError(f"{op}: input of shape {x.shape} has {x.shape[1]} channels but weight "
                         f"of shape {weight.shape} expects {expected}"
                         + (f" (groups={groups})" if groups > 1 else ""))
    if weight.dtype != x.dtype or (bias is not None and bias.dtype != x.dtype):
        raise TypeError(f"{op}: input, weight and bias must share one dtype, got {x.dtype}, "
                        f"{weight.dtype} and {None if bias is None else bias.dtype}")
    out_channels = weight.shape[0] if in_channels_axis else weight.shape[1] * groups
    if bias is not None and bias.shape != (out_channels,):
        raise ValueError(f"{op}: bias shape {bias.shape} does not match the {out_channels} "
                         f"output channels of weight of shape {weight.shape}")
    return stride, dilation


def group_slices(groups: int, size: int) -> list[slice]:
    """The channel slices of ``groups`` equal groups along an axis of ``size``."""
    step = size // groups
    return [slice(g * step, (g + 1) * step) for g in range(groups)]


def per_group(groups, product, x, x_axis_size, weight, w_axis_size):
    """``product(x_g, weight_g)`` for each group g, concatenated along the channel axis:
    x_g = x[:, group g of ``x_axis_size`` channels], weight_g = weight[group g of its
    first axis]. One group is the product itself."""
    xp = array_module(x)
    if groups == 1:
        return product(x, weight)
    return xp.concatenate([product(x[:, xs], weight[ws]) for xs, ws in zip(
        group_slices(groups, x_axis_size), group_slices(groups, w_axis_size), strict=True)],
        axis=1)


class Conv2d(Function):
    """2-D cross-correlation with stride, zero padding, dilation and groups (PyTorch's
    ``conv2d``).

    Forward:  y[n, f, ho, wo] = b[f] + sum_{c in group(f), i, j}
                  w[f, c, i, j] x_pad[n, c, ho sh + i dh, wo sw + j dw]
              computed per group as cols @ W_rows^T, cols = im2col(x_g) (N Ho Wo, kh kw C/g)
    Backward: db = sum_{n, ho, wo} dy;  dW_rows^T = cols^T @ dy_rows;
              dx = col2im(dy_rows @ W_rows)  (= conv(dy, rot180(w)^T) for stride 1),
              each per group
              (float32 with 16k filters, one group and no dilation: forward, dW and the
              stride-1 dx by the compiled direct kernel, the same sums without cols)
    Shape:    x (N, C, H, W), w (F, C / groups, kh, kw), b (F,) or None -> y (N, F, Ho, Wo),
              Ho = floor((H + 2 ph - dh (kh - 1) - 1) / sh) + 1 (likewise Wo);
              padding "same" (stride 1) gives Ho = H, the odd zero at the bottom (right);
              a batch of 0 gives an empty y (y and dx in channels-last memory, see the
              module's docstring)
    """

    def forward(self, x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        xp = array_module(x)
        stride, dilation = check_conv("conv2d", x, weight, bias, 1, stride, dilation, groups)
        padding, self.extra = conv_padding("conv2d", padding, weight.shape[2:], stride, dilation)
        if self.extra != (0, 0):  # the odd zeros of "same" at the bottom and right
            x = xp.pad(x, ((0, 0), (0, 0), (0, self.extra[0]), (0, self.extra[1])))
        out_hw = check_window("conv2d", x.shape, weight.shape[2:], stride, padding, dilation)
        self.geometry = stride, padding, dilation
        self.groups, self.compiled = groups, groups == 1 and dilation == (1, 1)
        self.x, self.weight = x, weight
        if x.shape[0] == 0:
            return xp.zeros((0, weight.shape[0], *out_hw), dtype=x.dtype)
        y = per_group(groups, lambda x_g, w_g: conv_output(
            x_g, w_g, None if groups > 1 else bias, *self.geometry, self.compiled),
            x, x.shape[1], weight, weight.shape[0])
        if groups > 1 and bias is not None:
            y += bias.reshape(-1, 1, 1)
        return y

    def backward(self, grad_out):
        """Per group, one of three strategies, chosen by the case:

        1. both gradients, stride 1, no dilation and no compiled kernel for dx: one im2col
           of the padded dy serves both products (``conv_grads_from_dy_windows``);
        2. otherwise dx alone: a convolution of dy with rot180(W)^T for stride 1 (compiled
           where it fits), else col2im(dy_rows @ W_rows) (``conv_input_grad``);
        3. and dW alone: the compiled kernel where it fits, else cols^T @ dy_rows
           (``conv_weight_grad``).
        """
        xp = array_module(grad_out)
        needs, x, weight = self.needs_input_grad, self.x, self.weight
        if x.shape[0] == 0:
            dx, dw = xp.zeros_like(x), xp.zeros_like(weight)
        elif self.groups == 1:
            dx, dw = self.group_grads(x, weight, grad_out)
        else:
            grads = [self.group_grads(x[:, xs], weight[fs], grad_out[:, fs]) for xs, fs in zip(
                group_slices(self.groups, x.shape[1]), group_slices(self.groups, weight.shape[0]),
                strict=True)]
            dx, dw = (xp.concatenate(parts, axis=axis) if needs[k] else None
                      for k, axis, parts in ((0, 1, [g[0] for g in grads]),
                                             (1, 0, [g[1] for g in grads])))
        if dx is not None and self.extra != (0, 0):
            dx = dx[:, :, :x.shape[2] - self.extra[0], :x.shape[3] - self.extra[1]]
        return with_bias_grad(needs, dx, dw, grad_out)

    def group_grads(self, x, weight, grad_out):
        """(dx, dW) of one group's convolution (None where not needed)."""
        needs, kernel = self.needs_input_grad, weight.shape[2:]
        stride, padding, dilation = self.geometry
        shared_windows = (needs[0] and needs[1] and dilation == (1, 1)
                          and is_full_correlation(kernel, stride, padding)
                          and not (self.compiled and accel.direct_input_grad_fits(
                              grad_out, weight.shape, x.shape, stride, padding)))
        if shared_windows:
            return conv_grads_from_dy_windows(x, weight, grad_out, padding)
        dx = (conv_input_grad(grad_out, weight, x.shape, *self.geometry, self.compiled)
              if needs[0] else None)
        dw = (conv_weight_grad(x, grad_out, kernel, *self.geometry, self.compiled)
              if needs[1] else None)
        return dx, dw


class ConvTranspose2d(Function):
    """Transposed convolution (PyTorch's ``conv_transpose2d``), the adjoint of ``conv2d``.

    Each input pixel scatters w[c, :, :, :] * x[n, c, h, w] into the output at
    (h sh + i dh - ph, w sw + j dw - pw), within its group: y = conv2d's input gradient
    with x in the role of dy.
    Forward:  y = col2im(x_rows @ W_rows) + b   (w read as a conv2d weight (C_in, C_out/g, k))
    Backward: dx = conv2d(dy, w) (same stride, padding, dilation, groups); dw = conv2d's
              weight gradient with dy as its input and x as its output gradient;
              db = sum_{n, h, w} dy
    Shape:    x (N, C_in, H, W), w (C_in, C_out / groups, kh, kw), b (C_out,) or None
              -> y (N, C_out, Ho, Wo),
              Ho = (H - 1) sh - 2 ph + dh (kh - 1) + 1 + output_padding_h

    NOTE: unlike PyTorch, which also allows output_padding < dilation, output_padding
    must be smaller than the stride.
    """

    def forward(self, x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                dilation=1):
        xp = array_module(x)
        op = "conv_transpose2d"
        stride, dilation = check_conv(op, x, weight, bias, 0, stride, dilation, groups)
        padding, extra = pair(padding, "padding"), pair(output_padding, "output_padding")
        for name, value in (("stride", stride), ("dilation", dilation)):
            if min(value) <= 0:
                raise ValueError(f"{op}: {name} must be positive, got {value}")
        if min(padding) < 0:
            raise ValueError(f"{op}: padding must be non-negative, got {padding}")
        if min(extra) < 0 or extra[0] >= stride[0] or extra[1] >= stride[1]:
            raise ValueError(f"{op}: output_padding {extra} must be non-negative and smaller "
                             f"than stride {stride}")
        out_hw = tuple((x.shape[2 + a] - 1) * stride[a] - 2 * padding[a]
                       + dilation[a] * (weight.shape[2 + a] - 1) + 1 + extra[a] for a in (0, 1))
        if min(out_hw) <= 0:
            raise ValueError(f"{op}: padding {padding} leaves no output: size {out_hw} for "
                             f"input {x.shape[2:]} and kernel {weight.shape[2:]}")
        self.geometry, self.groups = (stride, padding, dilation), groups
        self.compiled = groups == 1 and dilation == (1, 1)
        self.x, self.weight = x, weight
        n, out_channels = x.shape[0], weight.shape[1] * groups
        if n == 0:
            return xp.zeros((0, out_channels, *out_hw), dtype=x.dtype)
        y = per_group(groups, lambda x_g, w_g: conv_input_grad(
            x_g, w_g, (n, w_g.shape[1], *out_hw), *self.geometry, self.compiled),
            x, x.shape[1], weight, weight.shape[0])
        if bias is not None:
            y += bias.reshape(-1, 1, 1)
        return y

    def backward(self, grad_out):
        xp = array_module(grad_out)
        needs, groups, x, weight = self.needs_input_grad, self.groups, self.x, self.weight
        dx = dw = None
        if x.shape[0] == 0:
            dx, dw = xp.zeros_like(x), xp.zeros_like(weight)
            return with_bias_grad(needs, dx, dw, grad_out)
        if needs[0]:
            dx = per_group(groups, lambda dy_g, w_g: conv_output(
                dy_g, w_g, None, *self.geometry, self.compiled),
                grad_out, grad_out.shape[1], weight, weight.shape[0])
        if needs[1]:  # group g's (C_in/g, C_out/g, kh, kw) block, stacked along C_in
            dw = xp.concatenate([conv_weight_grad(
                grad_out[:, ys], x[:, xs], weight.shape[2:], *self.geometry, self.compiled)
                for xs, ys in zip(group_slices(groups, x.shape[1]),
                                  group_slices(groups, grad_out.shape[1]), strict=True)])
        return with_bias_grad(needs, dx, dw, grad_out)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """1-D convolution of x (N, C, L) with weight (F, C / groups, k) (PyTorch's ``conv1d``):
    ``Conv2d`` on the (N, C, 1, L) view with a (F, C / groups, 1, k) kernel,
    y[n, f, l] = b[f] + sum_{c in group(f), j} w[f, c, j] x_pad[n, c, l s + j d].

    Examples
    --------
    >>> F.conv1d(vg.ones(2, 3, 10), vg.ones(4, 3, 3), padding=1).shape
    (2, 4, 10)
    """
    x, weight = as_tensor(x), as_tensor(weight)
    if x.ndim != 3 or weight.ndim != 3:
        raise ValueError(f"conv1d expects input (N, C, L) and weight (F, C / groups, k), got "
                         f"shapes {tuple(x.shape)} and {tuple(weight.shape)}")
    along_length = {name: value if isinstance(value, str) else (int(name != "padding"),
                                                                as_int(value, name))
                    for name, value in (("stride", stride), ("padding", padding),
                                        ("dilation", dilation))}
    tensors = [x.reshape(x.shape[0], x.shape[1], 1, x.shape[2]),
               weight.reshape(weight.shape[0], weight.shape[1], 1, weight.shape[2])]
    y = Conv2d.apply(*tensors, *([] if bias is None else [bias]), groups=groups,
                     **along_length)
    return y.reshape(y.shape[0], y.shape[1], y.shape[3])


# ----- functional forms (``torch.nn.functional``'s names and arguments) --------------


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-D convolution (cross-correlation) of x (N, C, H, W) with weight (F, C / groups, kh,
    kw); ``padding`` an int, a pair, "valid" or "same" (stride 1), as in PyTorch.

    Examples
    --------
    >>> F.conv2d(vg.ones(2, 3, 8, 8), vg.ones(16, 3, 3, 3), stride=2, padding=1).shape
    (2, 16, 4, 4)
    >>> F.conv2d(vg.ones(1, 1, 3, 3), vg.ones(1, 1, 2, 2))
    Tensor([[[[4. 4.]
       [4. 4.]]]])
    """
    tensors = (x, weight) if bias is None else (x, weight, bias)
    return Conv2d.apply(*tensors, stride=stride, padding=padding, dilation=dilation,
                        groups=groups)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1) -> Tensor:
    """Transposed convolution of x (N, C_in, H, W) with weight (C_in, C_out / groups, kh, kw).

    Examples
    --------
    >>> x, weight = vg.ones(2, 16, 4, 4), vg.ones(16, 3, 4, 4)
    >>> F.conv_transpose2d(x, weight, stride=2, padding=1).shape
    (2, 3, 8, 8)
    """
    tensors = (x, weight) if bias is None else (x, weight, bias)
    return ConvTranspose2d.apply(*tensors, stride=stride, padding=padding,
                                 output_padding=output_padding, groups=groups,
                                 dilation=dilation)
