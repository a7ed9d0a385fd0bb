"""Max and average pooling on NCHW images.

Each pass loops over the kh * kw kernel offsets, each a strided slice of the whole batch
(no loop over examples), and keeps its input's memory layout (``accel.layout``). The plain
loop versions, the references these are tested against, are in ``conv_naive.py``. Max
pooling on float32 asks the compiled kernel first (``accel.max_pool2d``: one pass that
keeps each maximum's tap, and a backward pass that adds dy there); these passes are its
reference.

``ceil_mode`` (PyTorch's) lets a last window hang over the bottom or right edge: the
input is padded there by ``extra`` more rows and columns (-inf for max, zeros for the
average, which then divides by the count of positions inside the padded input only).
"""

from __future__ import annotations

from .. import accel
from ..accel import empty_nchw, is_channels_last
from ..autograd import Function, Tensor, array_of
from ..backend import array_module
from .window import as_int, check_window, pair


def pool_geometry(op, x_shape, kernel_size, stride, padding, ceil_mode=False):
    """(kernel, stride, padding, (Ho, Wo), extra) for a pooling window, checked as PyTorch
    does; ``extra`` (h, w) counts the rows and columns a ``ceil_mode`` window reaches past
    the padded input (0 without ceil_mode)."""
    kernel = pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else pair(stride, "stride")
    padding = pair(padding, "padding")
    if 2 * padding[0] > kernel[0] or 2 * padding[1] > kernel[1]:
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel {kernel}")
    out_hw = check_window(op, x_shape, kernel, stride, padding, ceil_mode=ceil_mode)
    extra = tuple(max(0, (out_hw[a] - 1) * stride[a] + kernel[a] - x_shape[2 + a]
                      - 2 * padding[a]) for a in (0, 1))
    return kernel, stride, padding, out_hw, extra


def pad_nchw(x, padding, value, extra=(0, 0)):
    """x with ``padding`` rows and columns of ``value`` around H and W, and ``extra`` more at
    the bottom and right (x itself if none)."""
    xp = array_module(x)
    (ph, pw), (eh, ew) = padding, extra
    if ph == pw == eh == ew == 0:
        return x
    n, c, h, w = x.shape
    padded = xp.full((n, c, h + 2 * ph + eh, w + 2 * pw + ew), value, dtype=x.dtype)
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


def scatter_to_windows(values, masks, x_shape, in_channels_last, kernel, stride, padding,
                       extra=(0, 0)):
    """dx from one (N, C, Ho, Wo) gradient per kernel offset, ``values * masks[k]`` (or
    ``values`` itself when ``masks`` is None): the adjoint of ``windows``.

    When the windows tile the input, each part is written straight into its own disjoint
    slice of dx (the view x.reshape(N, C, Ho, kh, Wo, kw)[:, :, :, i, :, j]), with no zeros
    and no temporary; otherwise the parts are added into a zeroed padded gradient, then
    cropped. dx is channels-last in memory when ``in_channels_last`` (as the input was).
    """
    xp = array_module(values)
    n, c, h, w = x_shape
    (ph, pw), (eh, ew) = padding, extra
    count = kernel[0] * kernel[1]
    masks = [None] * count if masks is None else masks
    if tiles(x_shape, kernel, stride, padding):
        dx = empty_nchw(x_shape, values.dtype, in_channels_last, like=values)
        for view, mask in zip(windows(dx, kernel, stride, values.shape[2:]), masks, strict=True):
            if mask is None:
                view[...] = values
            else:
                xp.multiply(values, mask, out=view)
        return dx
    dx = xp.zeros((n, c, h + 2 * ph + eh, w + 2 * pw + ew), dtype=values.dtype)
    for view, mask in zip(windows(dx, kernel, stride, values.shape[2:]), masks, strict=True):
        view += values if mask is None else values * mask
    return dx[:, :, ph:ph + h, pw:pw + w] if ph or pw or eh or ew else dx


def window_max(x, kernel, stride, padding, out_hw, extra=(0, 0)):
    """The maximum of each window: a running ``maximum`` over the kernel offsets
    (in x's memory layout; NaN wins, as in PyTorch)."""
    xp = array_module(x)
    parts = windows(pad_nchw(x, padding, -xp.inf, extra), kernel, stride, out_hw)
    if len(parts) == 1:
        return parts[0].copy(order="K")
    best = xp.maximum(parts[0], parts[1])
    for part in parts[2:]:
        xp.maximum(best, part, out=best)
    return best


def first_maximum_masks(x, y, kernel, stride, padding, extra=(0, 0)):
    """For each kernel offset in row-major order, the (N, C, Ho, Wo) mask of the windows
    whose first maximum sits at that offset: PyTorch's choice among ties (which are
    common: a window of zeros after a ReLU). A window whose maximum is NaN marks its last
    NaN, as PyTorch's kernel does (every NaN replaces the maximum so far).
    """
    xp = array_module(x)
    parts = windows(pad_nchw(x, padding, -xp.inf, extra), kernel, stride, y.shape[2:])
    masks = first_hits((part == y for part in parts), y)
    if has_nan(y):
        nan_windows = xp.isnan(y)
        last_nans = first_hits((xp.isnan(part) & nan_windows for part in parts[::-1]), y)
        masks = [mask | last for mask, last in zip(masks, last_nans[::-1], strict=True)]
    return masks


def has_nan(y) -> bool:
    """Whether ``y`` holds a NaN (one reduction: NaN is the maximum of any array with one)."""
    xp = array_module(y)
    return y.size > 0 and bool(xp.isnan(y.max()))


def first_hits(hits, like) -> list:
    """The windows' hit masks in kernel-offset order, each cleared in place where an
    earlier offset already hit, so only the first maximum of a window keeps its mark;
    returned as a list. ``like`` is an array of the windows' shape and memory layout."""
    xp = array_module(like)
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
    xp = array_module(x)
    n, c = x.shape[:2]
    (kh, kw), (ho, wo) = kernel, y.shape[2:]
    hits = x.reshape(n, c, ho, kh, wo, kw) == y.reshape(n, c, ho, 1, wo, 1)
    first_hits([hits[:, :, :, i, :, j] for i in range(kh) for j in range(kw)], y)  # in place
    dx = empty_nchw(x.shape, grad_out.dtype, is_channels_last(x), like=grad_out)
    xp.multiply(hits, grad_out.reshape(n, c, ho, 1, wo, 1),
                out=dx.reshape(n, c, ho, kh, wo, kw))
    return dx


def max_pool2d_indices(x, kernel_size, stride=None, padding=0, ceil_mode=False):
    """PyTorch's ``return_indices``: the flat index (h W + w) in each input plane of the
    element each window's maximum came from, shape (N, C, Ho, Wo), int64."""
    xp = array_module(x)
    kernel, stride, padding, out_hw, extra = pool_geometry("max_pool2d", x.shape, kernel_size,
                                                           stride, padding, ceil_mode)
    y = window_max(x, kernel, stride, padding, out_hw, extra)
    offset = xp.zeros(y.shape, dtype=xp.int64)
    for k, hit in enumerate(first_maximum_masks(x, y, kernel, stride, padding, extra)):
        offset += hit * k
    i, j = xp.divmod(offset, kernel[1])
    rows = xp.arange(out_hw[0]).reshape(-1, 1) * stride[0] - padding[0] + i
    cols = xp.arange(out_hw[1]) * stride[1] - padding[1] + j
    return rows * x.shape[3] + cols


class MaxPool2d(Function):
    """Max pooling (PyTorch's ``max_pool2d`` without dilation).

    Forward:  y[n, c, ho, wo] = max_{i < kh, j < kw} x_pad[n, c, ho sh + i, wo sw + j]
              (padding is -inf; a NaN in a window is its maximum)
    Backward: dx at the first maximum of each window (row-major; the last NaN of a window
              whose maximum is NaN, as PyTorch) += dy; 0 elsewhere
    Shape:    x (N, C, H, W) -> y (N, C, Ho, Wo), Ho = floor((H + 2 ph - kh) / sh) + 1
              (ceil_mode: rounded up, less one if the last window starts in the padding)
    """

    def forward(self, x, kernel_size, stride=None, padding=0, ceil_mode=False):
        self.kernel, self.stride, self.padding, out_hw, self.extra = pool_geometry(
            "max_pool2d", x.shape, kernel_size, stride, padding, ceil_mode)
        self.compiled = accel.max_pool2d(x, self.kernel, self.stride, self.padding, out_hw)
        if self.compiled is not None:  # y and each maximum's tap, from the compiled kernel
            return self.compiled.y
        self.x = x
        self.y = window_max(x, self.kernel, self.stride, self.padding, out_hw, self.extra)
        return self.y

    def backward(self, grad_out):
        xp = array_module(grad_out)
        if self.compiled is not None:
            return self.compiled.backward(grad_out)
        dy = grad_out
        if dy.strides != self.y.strides:  # into y's memory order, as the masks are
            dy = xp.empty_like(self.y)
            dy[...] = grad_out
        if tiles(self.x.shape, self.kernel, self.stride, self.padding) and not has_nan(self.y):
            return tiled_max_grad(self.x, self.y, dy, self.kernel)
        masks = first_maximum_masks(self.x, self.y, self.kernel, self.stride, self.padding,
                                    self.extra)
        return scatter_to_windows(dy, masks, self.x.shape, is_channels_last(self.x),
                                  self.kernel, self.stride, self.padding, self.extra)


def window_counts(size, kernel, stride, padding, out, include_pad):
    """For each of the ``out`` windows along an axis of ``size``, the positions it covers
    inside the padded input (``include_pad``) or inside the input itself."""
    starts = [o * stride - padding for o in range(out)]
    ends = [min(start + kernel, size + padding) for start in starts]
    if include_pad:
        return [end - start for start, end in zip(starts, ends, strict=True)]
    return [min(end, size) - max(start, 0) for start, end in zip(starts, ends, strict=True)]


class AvgPool2d(Function):
    """Average pooling (PyTorch's ``avg_pool2d``).

    Forward:  y[n, c, ho, wo] = 1 / D[ho, wo] sum_{i, j} x_pad[n, c, ho sh + i, wo sw + j]
              (zero padding); D = kh kw, except: ``count_include_pad=False`` counts only
              the window's positions inside x, ``ceil_mode`` windows count only positions
              inside the padded input, and ``divisor_override`` replaces D
    Backward: every x_pad in the window (ho, wo) gets dy[n, c, ho, wo] / D[ho, wo]
    Shape:    x (N, C, H, W) -> y (N, C, Ho, Wo), Ho = floor((H + 2 ph - kh) / sh) + 1
              (ceil_mode: rounded up, less one if the last window starts in the padding)
    """

    def forward(self, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                count_include_pad=True, divisor_override=None):
        self.kernel, self.stride, self.padding, out_hw, self.extra = pool_geometry(
            "avg_pool2d", x.shape, kernel_size, stride, padding, ceil_mode)
        self.x_shape, self.x_channels_last = x.shape, is_channels_last(x)
        self.divisor = self.divisors(x, out_hw, count_include_pad, divisor_override)
        parts = windows(pad_nchw(x, self.padding, 0, self.extra), self.kernel, self.stride,
                        out_hw)
        total = parts[0].copy(order="K")
        for part in parts[1:]:
            total += part
        total *= 1 / self.divisor
        return total

    def divisors(self, x, out_hw, count_include_pad, divisor_override):
        """D: one number when every window has kh kw positions (or an override), else
        the (Ho, Wo) counts (one count per axis, multiplied)."""
        xp = array_module(x)
        if divisor_override is not None:
            if as_int(divisor_override, "divisor_override") <= 0:
                raise ValueError(f"avg_pool2d: divisor_override must be positive, got "
                                 f"{divisor_override}")
            return x.dtype.type(divisor_override)
        if self.extra == (0, 0) and (count_include_pad or self.padding == (0, 0)):
            return x.dtype.type(self.kernel[0] * self.kernel[1])
        rows, cols = (xp.asarray(window_counts(x.shape[2 + a], self.kernel[a], self.stride[a],
                                               self.padding[a], out_hw[a], count_include_pad),
                                 dtype=x.dtype) for a in (0, 1))
        return rows[:, None] * cols

    def backward(self, grad_out):
        share = grad_out * (1 / self.divisor).astype(grad_out.dtype)
        return scatter_to_windows(share, None, self.x_shape, self.x_channels_last,
                                  self.kernel, self.stride, self.padding, self.extra)


# ----- functional forms (``torch.nn.functional``'s names and arguments) --------------


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """Max pooling; with ``return_indices`` also each maximum's flat index in its H*W plane
    (for ``max_unpool2d``). ``stride`` defaults to ``kernel_size``; ``ceil_mode`` rounds
    the output size up (a last window may hang over the bottom or right edge).

    NOTE: unlike PyTorch, ``dilation`` must be 1 (dilated max pooling is not implemented).

    Examples
    --------
    >>> F.max_pool2d(vg.arange(16.0).reshape(1, 1, 4, 4), 2)
    Tensor([[[[ 5.  7.]
       [13. 15.]]]])
    >>> F.max_pool2d(vg.arange(16.0).reshape(1, 1, 4, 4), 2, return_indices=True)[1]
    Tensor([[[[ 5  7]
       [13 15]]]])
    """
    if pair(dilation, "dilation") != (1, 1):
        raise ValueError(f"max_pool2d: dilation must be 1 (not implemented), got {dilation}")
    y = MaxPool2d.apply(x, kernel_size=kernel_size, stride=stride, padding=padding,
                        ceil_mode=ceil_mode)
    if not return_indices:
        return y
    indices = max_pool2d_indices(array_of(x), kernel_size, stride, padding, ceil_mode)
    return y, Tensor._wrap(indices)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """Average pooling with PyTorch's options: zero padding counted in the mean unless
    ``count_include_pad=False``; ``ceil_mode`` as in ``max_pool2d``; ``divisor_override``
    divides every window's sum by that number instead.

    Examples
    --------
    >>> F.avg_pool2d(vg.arange(16.0).reshape(1, 1, 4, 4), 2)
    Tensor([[[[ 2.5  4.5]
       [10.5 12.5]]]])
    """
    return AvgPool2d.apply(x, kernel_size=kernel_size, stride=stride, padding=padding,
                           ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                           divisor_override=divisor_override)
