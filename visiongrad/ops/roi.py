"""Region-of-interest pooling: RoI max pooling (Fast R-CNN) and RoI align (Mask R-CNN), as
torchvision's ``roi_pool`` and ``roi_align``.

Boxes are a (K, 5) array of rows (batch index, x1, y1, x2, y2) in input-image pixels
(``spatial_scale`` maps them to the feature map), or a list of N per-image (L, 4) arrays.
Each RoI is cut into output_size (PH, PW) bins; both ops return (K, C, PH, PW). Boxes get
no gradient (as in torchvision). The ``*_reference`` loops transcribe torchvision's CPU
kernels line by line and are the oracles of the vectorised ops.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Function, Tensor, array_of
from ..backend import array_module

FLT_MAX = float(np.finfo(np.float32).max)  # torchvision's initial maximum, whatever the dtype


def rois_array(boxes, x_shape, op: str):
    """(K, 5) RoIs from a (K, 5) array or a list of per-image (L, 4) boxes; checks them."""
    if len(x_shape) != 4:
        raise ValueError(f"{op} expects input of shape (N, C, H, W), got {tuple(x_shape)}")
    if isinstance(boxes, (list, tuple)):
        xp = array_module(*boxes)
        parts = [xp.asarray(getattr(b, "data", b), dtype=xp.float64).reshape(-1, 4)
                 for b in boxes]
        index = xp.concatenate([xp.full(len(b), i, dtype=xp.float64)
                                for i, b in enumerate(parts)] or [xp.zeros(0)])
        boxes = xp.concatenate([index[:, None], xp.concatenate(parts or [xp.zeros((0, 4))])],
                               axis=1)
    xp = array_module(boxes)
    rois = xp.asarray(getattr(boxes, "data", boxes))
    if rois.ndim != 2 or rois.shape[1] != 5:
        raise ValueError(f"{op}: boxes must have shape (K, 5) (batch index, x1, y1, x2, y2) "
                         f"or be a list of (L, 4) arrays, got shape {rois.shape}")
    if rois.dtype.kind not in "biuf":
        raise TypeError(f"{op}: boxes must hold numbers, got dtype {rois.dtype}")
    if not xp.isfinite(rois).all():
        row = int(xp.nonzero(~xp.isfinite(rois).all(axis=1))[0][0])
        raise ValueError(f"{op}: boxes must hold finite numbers; row {row} is {rois[row]}")
    batch = rois[:, 0]
    if rois.size and (xp.any(batch != xp.round(batch)) or batch.min() < 0
                      or batch.max() >= x_shape[0]):
        raise ValueError(f"{op}: boxes[:, 0] must be batch indices in [0, {x_shape[0]}), got "
                         f"values from {batch.min()} to {batch.max()}")
    return rois


def output_pair(output_size, op: str) -> tuple[int, int]:
    sizes = (output_size, output_size) if isinstance(output_size, int) or not hasattr(
        output_size, "__len__") else tuple(output_size)
    if len(sizes) != 2 or min(sizes) < 1 or any(int(s) != s for s in sizes):
        raise ValueError(f"{op}: output_size must be a positive int or pair, got {output_size!r}")
    return int(sizes[0]), int(sizes[1])


# ----- RoI align --------------------------------------------------------------------------


def align_geometry(rois, dtype, spatial_scale, aligned, sampling_ratio, pooled):
    """Per-RoI, per-axis (y then x) start, bin size and sampling grid of RoI align."""
    xp = array_module(rois)
    rois = rois.astype(dtype)
    offset = dtype.type(0.5 if aligned else 0.0)
    scale = dtype.type(spatial_scale)
    geometry = []
    for axis, size in ((2, pooled[0]), (1, pooled[1])):  # boxes' y at 2 and 4, x at 1 and 3
        start = rois[:, axis] * scale - offset
        extent = rois[:, axis + 2] * scale - offset - start
        if not aligned:
            extent = xp.maximum(extent, dtype.type(1.0))
        grid = (xp.full(len(rois), sampling_ratio) if sampling_ratio > 0
                else xp.ceil(extent / dtype.type(size)).astype(xp.int64))
        geometry.append((start, extent / dtype.type(size), grid))
    return geometry


def bilinear_axis_weights(start, bin_size, grid, pooled: int, size: int, dtype):
    """A (K, pooled, size): A[k, p, r] = (1 / grid_k) sum over the grid_k samples of bin p
    of the bilinear weight of row r (torchvision's clamping: samples outside [-1, size]
    weigh nothing, samples in [-1, 0] read row 0, samples past size - 1 read the last row).
    RoI align is separable: y = A_y x A_x^T, as its weights are products hy hx."""
    xp = array_module(start)
    count = len(start)
    samples = max(int(grid.max(initial=0)), 1)
    bins = xp.arange(pooled, dtype=dtype)[None, :, None]
    steps = (xp.arange(samples, dtype=dtype) + dtype.type(0.5))[None, None, :]
    grid_t = grid.astype(dtype)[:, None, None]
    coord = (start[:, None, None] + bins * bin_size[:, None, None]
             + steps * bin_size[:, None, None] / xp.maximum(grid_t, 1))
    valid = (xp.arange(samples)[None, None, :] < grid[:, None, None]) \
        & (coord >= -1.0) & (coord <= size)
    coord = xp.maximum(coord, 0)
    low = xp.floor(coord).astype(xp.int64)
    edge = low >= size - 1
    low[edge] = size - 1
    coord = xp.where(edge, low.astype(dtype), coord)
    high = xp.where(edge, low, low + 1)
    frac = coord - low
    row = (xp.arange(count)[:, None, None] * pooled + xp.arange(pooled)[None, :, None]) * size
    weights = xp.bincount((row + low)[valid], (1 - frac)[valid], count * pooled * size) \
        + xp.bincount((row + high)[valid], frac[valid], count * pooled * size)
    return (weights.reshape(count, pooled, size) / xp.maximum(grid, 1)[:, None, None]) \
        .astype(dtype)


class RoIAlign(Function):
    """RoI align: each bin's value is the mean of bilinear samples on a regular grid.

    Forward:  for RoI k on image n, bin (i, j) of size (bh, bw) from (y0, x0) (box times
              spatial_scale, minus 0.5 if ``aligned``; without ``aligned`` a side is at
              least 1), with a (gh, gw) grid (``sampling_ratio``, or ceil(side / bins)):
              y[k, c, i, j] = 1 / (gh gw) sum_{a < gh, b < gw} bilinear(x[n, c],
                              y0 + i bh + (a + 1/2) bh / gh, x0 + j bw + (b + 1/2) bw / gw)
              The weights factor (hy hx), so y[k] = A_y[k] x[n] A_x[k]^T with A_y (PH, H),
              A_x (PW, W) (``bilinear_axis_weights``), computed for all RoIs at once.
    Backward: dx[n] = sum over RoIs k on image n of A_y[k]^T dy[k] A_x[k]
    Shape:    x (N, C, H, W), boxes (K, 5) -> y (K, C, PH, PW)
    """

    def forward(self, x, boxes, output_size, spatial_scale=1.0, sampling_ratio=-1,
                aligned=False):
        xp = array_module(x)
        rois = xp.asarray(rois_array(boxes, x.shape, "roi_align"))  # on x's device
        pooled = output_pair(output_size, "roi_align")
        (y0, bin_h, grid_h), (x0, bin_w, grid_w) = align_geometry(
            rois, x.dtype, spatial_scale, aligned, sampling_ratio, pooled)
        self.rows = bilinear_axis_weights(y0, bin_h, grid_h, pooled[0], x.shape[2], x.dtype)
        self.cols = bilinear_axis_weights(x0, bin_w, grid_w, pooled[1], x.shape[3], x.dtype)
        self.images = [(n, xp.flatnonzero(rois[:, 0] == n)) for n in xp.unique(rois[:, 0])]
        self.x_shape = x.shape
        out = xp.zeros((len(rois), x.shape[1]) + pooled, dtype=x.dtype)
        for n, members in self.images:  # a loop over images, never over RoIs
            out[members] = (self.rows[members][:, None] @ x[int(n)][None]) \
                @ self.cols[members].transpose(0, 2, 1)[:, None]
        return out

    def backward(self, grad_out):
        xp = array_module(grad_out)
        dx = xp.zeros(self.x_shape, dtype=grad_out.dtype)
        for n, members in self.images:
            through_rows = self.rows[members].transpose(0, 2, 1)[:, None] @ grad_out[members]
            dx[int(n)] = xp.tensordot(through_rows, self.cols[members], axes=([0, 3], [0, 1]))
        return dx


def roi_align_reference(x, boxes, output_size, spatial_scale=1.0, sampling_ratio=-1,
                        aligned=False):
    """torchvision's CPU RoI align kernel as plain loops (the oracle of ``RoIAlign``)."""
    xp = array_module(x)
    rois = rois_array(boxes, x.shape, "roi_align")
    ph_out, pw_out = output_pair(output_size, "roi_align")
    out = xp.zeros((len(rois), x.shape[1], ph_out, pw_out), dtype=x.dtype)
    offset = 0.5 if aligned else 0.0
    for k, (n, x1, y1, x2, y2) in enumerate(rois):
        start_w, start_h = x1 * spatial_scale - offset, y1 * spatial_scale - offset
        roi_w, roi_h = x2 * spatial_scale - offset - start_w, y2 * spatial_scale - offset - start_h
        if not aligned:
            roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
        bin_h, bin_w = roi_h / ph_out, roi_w / pw_out
        grid_h = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_h / ph_out)
        grid_w = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_w / pw_out)
        count = max(grid_h * grid_w, 1)
        for i in range(ph_out):
            for j in range(pw_out):
                total = xp.zeros(x.shape[1])
                for a in range(grid_h):
                    for b in range(grid_w):
                        y = start_h + i * bin_h + (a + 0.5) * bin_h / grid_h
                        xx = start_w + j * bin_w + (b + 0.5) * bin_w / grid_w
                        total += bilinear_reference(x[int(n)], y, xx)
                out[k, :, i, j] = total / count
    return out


def bilinear_reference(plane, y, x):
    """torchvision's ``bilinear_interpolate`` for all channels of ``plane`` (C, H, W)."""
    xp = array_module(plane)
    height, width = plane.shape[1:]
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return xp.zeros(plane.shape[0])
    y, x = max(y, 0.0), max(x, 0.0)
    y_low, x_low = int(y), int(x)
    if y_low >= height - 1:
        y_high = y_low = height - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= width - 1:
        x_high = x_low = width - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly, lx = y - y_low, x - x_low
    hy, hx = 1.0 - ly, 1.0 - lx
    return (hy * hx * plane[:, y_low, x_low] + hy * lx * plane[:, y_low, x_high]
            + ly * hx * plane[:, y_high, x_low] + ly * lx * plane[:, y_high, x_high])


# ----- RoI max pooling --------------------------------------------------------------------


def round_half_away(values):
    """C's round(): halves go away from zero (NumPy's round goes to even)."""
    xp = array_module(values)
    return xp.sign(values) * xp.floor(xp.abs(values) + 0.5)


def pool_bins(rois, dtype, spatial_scale, pooled, size, axis):
    """(start, end) (K, pooled) integer bin limits of RoI pooling along one axis."""
    xp = array_module(rois)
    scale = dtype.type(spatial_scale)
    first = round_half_away(rois[:, axis].astype(dtype) * scale).astype(xp.int64)
    last = round_half_away(rois[:, axis + 2].astype(dtype) * scale).astype(xp.int64)
    bin_size = xp.maximum(last - first + 1, 1).astype(dtype) / dtype.type(pooled)
    bins = xp.arange(pooled, dtype=dtype)[None, :]
    start = xp.floor(bins * bin_size[:, None]).astype(xp.int64) + first[:, None]
    end = xp.ceil((bins + 1) * bin_size[:, None]).astype(xp.int64) + first[:, None]
    return xp.clip(start, 0, size), xp.clip(end, 0, size)


class RoIPool(Function):
    """RoI max pooling: each bin's value is the maximum of the input pixels it covers.

    Forward:  box corners times spatial_scale are rounded (halves away from zero); a RoI
              of (h, w) = (y2 - y1 + 1, x2 - x1 + 1) pixels (at least 1) has bins
              [floor(i h / PH), ceil((i + 1) h / PH)) + y1 (clipped to the image) and the
              same in x; y[k, c, i, j] = max of x[n, c] over bin (i, j), 0 for an empty bin.
              All RoIs and bins at once: each bin's pixels gathered as flat indices
              into its plane, padded to the largest bin with an index of an extra -inf
              pixel.
    Backward: dx[n, c, argmax[k, c, i, j]] += dy[k, c, i, j], argmax being the first
              maximum in row-major order (none for an empty bin)
    Shape:    x (N, C, H, W), boxes (K, 5) -> y (K, C, PH, PW)
    """

    def forward(self, x, boxes, output_size, spatial_scale=1.0):
        xp = array_module(x)
        rois = xp.asarray(rois_array(boxes, x.shape, "roi_pool"))  # on x's device
        pooled = output_pair(output_size, "roi_pool")
        n, c, height, width = x.shape
        h0, h1 = pool_bins(rois, x.dtype, spatial_scale, pooled[0], height, 2)
        w0, w1 = pool_bins(rois, x.dtype, spatial_scale, pooled[1], width, 1)
        span_h = max(int((h1 - h0).max(initial=1)), 1)
        span_w = max(int((w1 - w0).max(initial=1)), 1)
        rows = h0[:, :, None] + xp.arange(span_h)  # (K, PH, span_h)
        cols = w0[:, :, None] + xp.arange(span_w)  # (K, PW, span_w)
        inside = (rows < h1[:, :, None])[:, :, None, :, None] \
            & (cols < w1[:, :, None])[:, None, :, None, :]
        # each bin's pixels as flat indices into a plane, the padding pointing at an extra
        # -inf pixel: (K, PH, PW, span_h * span_w), row-major within the bin
        pixel = xp.where(inside, xp.minimum(rows, height - 1)[:, :, None, :, None] * width
                         + xp.minimum(cols, width - 1)[:, None, :, None, :], height * width)
        pixel = pixel.reshape(len(rois), pooled[0], pooled[1], span_h * span_w)
        planes = xp.concatenate([x.reshape(n * c, height * width),
                                 xp.full((n * c, 1), -np.inf, x.dtype)], axis=1)
        batch = rois[:, 0].astype(xp.int64)
        plane = batch[:, None] * c + xp.arange(c)  # (K, C): the RoI's image's channels
        windows = planes[plane[:, :, None, None, None], pixel[:, None]]  # (K, C, PH, PW, S)
        first = xp.argmax(windows, axis=-1)
        out = xp.take_along_axis(windows, first[..., None], axis=-1)[..., 0]
        self.argmax = xp.take_along_axis(xp.broadcast_to(pixel[:, None], windows.shape),
                                         first[..., None], axis=-1)[..., 0]
        empty = ((h1 <= h0)[:, :, None] | (w1 <= w0)[:, None, :])[:, None]
        unset = ~empty & ~(out > -FLT_MAX)  # no value beat torchvision's initial -FLT_MAX
        out = xp.where(empty, 0, xp.where(unset, -FLT_MAX, out)).astype(x.dtype)
        self.argmax[empty | unset] = -1
        self.batch, self.x_shape = batch, x.shape
        return out

    def backward(self, grad_out):
        xp = array_module(grad_out)
        n, c, h, w = self.x_shape
        chosen = self.argmax >= 0
        plane = self.batch[:, None, None, None] * c + xp.arange(c)[None, :, None, None]
        flat = (plane * (h * w) + self.argmax)[chosen]
        dx = xp.bincount(flat, grad_out[chosen], n * c * h * w)
        return dx.reshape(self.x_shape).astype(grad_out.dtype)


def roi_pool_reference(x, boxes, output_size, spatial_scale=1.0):
    """torchvision's CPU RoI pooling kernel as plain loops: (output, argmax)."""
    xp = array_module(x)
    rois = rois_array(boxes, x.shape, "roi_pool")
    (ph_out, pw_out), (_, channels, height, width) = output_pair(output_size, "roi_pool"), x.shape
    out = xp.zeros((len(rois), channels, ph_out, pw_out), dtype=x.dtype)
    argmax = xp.full(out.shape, -1, dtype=xp.int64)
    for k, (n, x1, y1, x2, y2) in enumerate(rois):
        start_w, start_h = (int(round_half_away(v * spatial_scale)) for v in (x1, y1))
        end_w, end_h = (int(round_half_away(v * spatial_scale)) for v in (x2, y2))
        bin_h = max(end_h - start_h + 1, 1) / ph_out
        bin_w = max(end_w - start_w + 1, 1) / pw_out
        for i in range(ph_out):
            for j in range(pw_out):
                hs = min(max(math.floor(i * bin_h) + start_h, 0), height)
                he = min(max(math.ceil((i + 1) * bin_h) + start_h, 0), height)
                ws = min(max(math.floor(j * bin_w) + start_w, 0), width)
                we = min(max(math.ceil((j + 1) * bin_w) + start_w, 0), width)
                if he <= hs or we <= ws:
                    continue
                for c in range(channels):
                    best, best_index = -FLT_MAX, -1
                    for r in range(hs, he):
                        for s in range(ws, we):
                            if x[int(n), c, r, s] > best:
                                best, best_index = x[int(n), c, r, s], r * width + s
                    out[k, c, i, j], argmax[k, c, i, j] = best, best_index
    return out, argmax


# ----- functional forms (``torch.nn.functional``'s names and arguments) --------------


def roi_align(x, boxes, output_size, spatial_scale: float = 1.0, sampling_ratio: int = -1,
              aligned: bool = False) -> Tensor:
    """Bilinear RoI align of x (N, C, H, W) over ``boxes`` (K, 5) rows (batch index, x1, y1,
    x2, y2) or a list of per-image (L, 4) boxes -> (K, C, PH, PW), as torchvision.ops.

    Examples
    --------
    >>> boxes = vg.tensor([[0.0, 0.0, 0.0, 4.0, 4.0]])
    >>> F.roi_align(vg.ones(1, 3, 8, 8), boxes, output_size=2).shape
    (1, 3, 2, 2)
    """
    return RoIAlign.apply(x, boxes=array_of(boxes), output_size=output_size,
                          spatial_scale=spatial_scale, sampling_ratio=sampling_ratio,
                          aligned=aligned)


def roi_pool(x, boxes, output_size, spatial_scale: float = 1.0) -> Tensor:
    """RoI max pooling of x (N, C, H, W) over ``boxes`` (K, 5) or a list of per-image (L, 4)
    boxes -> (K, C, PH, PW), as torchvision.ops.

    Examples
    --------
    >>> boxes = vg.tensor([[0.0, 0.0, 0.0, 3.0, 3.0]])
    >>> F.roi_pool(vg.arange(16.0).reshape(1, 1, 4, 4), boxes, output_size=2)
    Tensor([[[[ 5.  7.]
       [13. 15.]]]])
    """
    return RoIPool.apply(x, boxes=array_of(boxes), output_size=output_size,
                         spatial_scale=spatial_scale)
