"""Max and average pooling on NCHW images.

Each pass loops over the kh * kw kernel offsets, each a strided slice of the whole batch
(no loop over examples), and keeps its input's memory layout (``accel.layout``). The plain
loop versions, the references these are tested against, are in ``conv_naive.py``.
"""

from __future__ import annotations

from ..accel import empty_nchw, is_channels_last
from ..autograd import Function
from ..backend import xp
from .window import check_window, pair


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
