"""Adaptive pooling: average or maximum over bins that cover the input, whatever its size.

An output of size ``out`` over an input of size ``H`` uses PyTorch's bins: output row i
pools input rows ``start_i = floor(i H / out)`` up to (excluding) ``end_i = ceil((i + 1)
H / out)``. Bins may overlap (H not divisible by out) or repeat a row (out > H).

The average over a rectangle of bins is separable: y = P_h x P_w^T, with the (out, H)
averaging matrix P_h[i, r] = 1 / (end_i - start_i) for start_i <= r < end_i (0 elsewhere),
so the forward is two small matrix products and the backward their transposes.
"""

from __future__ import annotations

from ..autograd import Function, Tensor, array_of
from ..backend import array_module


def adaptive_output_size(x_shape, output_size, op: str) -> tuple[int, int]:
    """(out_h, out_w) from an int, a pair, or a pair with ``None`` (keep that input size)."""
    if len(x_shape) != 4:
        raise ValueError(f"{op} expects input of shape (N, C, H, W), got shape {tuple(x_shape)}")
    sizes = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    if len(sizes) != 2:
        raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    sizes = tuple(x_shape[2 + a] if size is None else int(size) for a, size in enumerate(sizes))
    if min(sizes) < 1:
        raise ValueError(f"{op}: output_size must be positive, got {output_size!r}")
    if min(x_shape[2:]) < 1:
        raise ValueError(f"{op}: input of shape {tuple(x_shape)} has an empty plane")
    return sizes


def adaptive_bins(size: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's bins: (floor(i size / out), ceil((i + 1) size / out)) for i < out."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


def averaging_matrix(size: int, out: int, like):
    """P (out, size) with P[i, r] = 1 / |bin i| for r in bin i: P @ v averages v per bin
    (an array of ``like``'s namespace and dtype)."""
    matrix = array_module(like).zeros((out, size), dtype=like.dtype)
    for i, (start, end) in enumerate(adaptive_bins(size, out)):
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


class AdaptiveAvgPool2d(Function):
    """Mean of each adaptive bin (PyTorch's ``adaptive_avg_pool2d``).

    Forward:  y[n, c] = P_h x[n, c] P_w^T  (P_h (Ho, H), P_w (Wo, W): see the module)
    Backward: dx[n, c] = P_h^T dy[n, c] P_w
    Shape:    x (N, C, H, W) -> y (N, C, Ho, Wo)
    """

    def forward(self, x, output_size):
        out_h, out_w = adaptive_output_size(x.shape, output_size, "adaptive_avg_pool2d")
        self.rows = averaging_matrix(x.shape[2], out_h, x)
        self.cols = averaging_matrix(x.shape[3], out_w, x)
        return self.rows @ x @ self.cols.T

    def backward(self, grad_out):
        return self.rows.T @ grad_out @ self.cols


def adaptive_max_pool2d_with_indices(x, output_size):
    """(y, indices) of adaptive max pooling (see ``AdaptiveMaxPool2d``): each bin's first
    maximum in row-major order, as PyTorch picks among ties."""
    xp = array_module(x)
    out_h, out_w = adaptive_output_size(x.shape, output_size, "adaptive_max_pool2d")
    n, c, h, w = x.shape
    y = xp.empty((n, c, out_h, out_w), dtype=x.dtype)
    indices = xp.empty((n, c, out_h, out_w), dtype=xp.int64)
    for i, (h0, h1) in enumerate(adaptive_bins(h, out_h)):
        for j, (w0, w1) in enumerate(adaptive_bins(w, out_w)):
            window = x[:, :, h0:h1, w0:w1].reshape(n, c, -1)
            first = xp.argmax(window, axis=2)
            y[:, :, i, j] = xp.take_along_axis(window, first[..., None], axis=2)[..., 0]
            row, col = xp.divmod(first, w1 - w0)
            indices[:, :, i, j] = (h0 + row) * w + w0 + col
    return y, indices


class AdaptiveMaxPool2d(Function):
    """Maximum of each adaptive bin (PyTorch's ``adaptive_max_pool2d``).

    Forward:  y[n, c, i, j] = max of x[n, c, rows of bin i, columns of bin j]
    Backward: dx at each bin's first maximum (row-major, PyTorch's choice among ties)
              += dy[n, c, i, j]; bins overlap, so one input may collect several
    Shape:    x (N, C, H, W) -> y (N, C, Ho, Wo); ``indices`` (N, C, Ho, Wo) holds each
              maximum's flat position h W + w in its input plane, as ``return_indices``
    """

    def forward(self, x, output_size):
        self.x_shape = x.shape
        y, self.indices = adaptive_max_pool2d_with_indices(x, output_size)
        return y

    def backward(self, grad_out):
        xp = array_module(grad_out)
        n, c, h, w = self.x_shape
        dx = xp.zeros((n * c, h * w), dtype=grad_out.dtype)
        planes = xp.arange(n * c)
        flat_indices = self.indices.reshape(n * c, -1)
        flat_grad = grad_out.reshape(n * c, -1)
        for cell in range(flat_indices.shape[1]):  # one position per plane and cell: no clash
            dx[planes, flat_indices[:, cell]] += flat_grad[:, cell]
        return dx.reshape(self.x_shape)


# ----- functional forms (``torch.nn.functional``'s names and arguments) --------------


def adaptive_avg_pool2d(x, output_size) -> Tensor:
    """Mean over PyTorch's adaptive bins: any (H, W) -> ``output_size`` (int, pair, or a
    pair with None to keep that size).

    Examples
    --------
    >>> F.adaptive_avg_pool2d(vg.ones(2, 3, 7, 5), (2, 2)).shape
    (2, 3, 2, 2)
    >>> F.adaptive_avg_pool2d(vg.arange(16.0).reshape(1, 1, 4, 4), 1)
    Tensor([[[[7.5]]]])
    """
    return AdaptiveAvgPool2d.apply(x, output_size=output_size)


def adaptive_max_pool2d(x, output_size, return_indices: bool = False):
    """Maximum over PyTorch's adaptive bins; with ``return_indices`` also each maximum's
    flat index h W + w in its input plane.

    Examples
    --------
    >>> F.adaptive_max_pool2d(vg.arange(16.0).reshape(1, 1, 4, 4), 2)
    Tensor([[[[ 5.  7.]
       [13. 15.]]]])
    """
    y = AdaptiveMaxPool2d.apply(x, output_size=output_size)
    if not return_indices:
        return y
    _, indices = adaptive_max_pool2d_with_indices(array_of(x), output_size)
    return y, Tensor._wrap(indices)
