"""Resizing NCHW images to any size (PyTorch's ``interpolate``): nearest and bilinear.

Both modes are separable linear maps: y[n, c] = A_h x[n, c] A_w^T with one (out, in)
matrix per axis, so the forward pass is two small matrix products and the backward pass
their transposes (the same form as ``adaptive_pool.py``). Row o of A reads the source
coordinate s(o) of output o:

    nearest:                   A[o, min(floor(o r), in - 1)] = 1
    bilinear, align_corners:   s = o (in - 1) / (out - 1)              (0 when out = 1)
    bilinear, otherwise:       s = max((o + 1/2) r - 1/2, 0)
                               A[o, floor(s)] += 1 - l, A[o, min(floor(s) + 1, in - 1)] += l,
                               l = s - floor(s)

with r = in / out, or 1 / scale_factor where a scale factor was given (PyTorch's rule
unless ``recompute_scale_factor``).
"""

from __future__ import annotations

import math

from ..autograd import Function, Tensor
from ..backend import array_module

MODES = ("nearest", "bilinear")


def resize_matrix(size: int, out: int, mode: str, align_corners: bool, ratio, like):
    """A (out, size): the map along one axis described in the module's docstring; ``ratio``
    is in / out unless a scale factor set it (an array of ``like``'s namespace and dtype)."""
    xp = array_module(like)
    matrix = xp.zeros((out, size), dtype=like.dtype)
    rows = xp.arange(out)
    if mode == "nearest":
        matrix[rows, xp.minimum(xp.floor(rows * ratio).astype(xp.int64), size - 1)] = 1
        return matrix
    if align_corners:
        source = rows * ((size - 1) / (out - 1)) if out > 1 else xp.zeros(out)
    else:
        source = xp.maximum((rows + 0.5) * ratio - 0.5, 0)
    low = xp.minimum(xp.floor(source).astype(xp.int64), size - 1)
    high = xp.minimum(low + 1, size - 1)
    lam = source - low
    xp.add.at(matrix, (rows, low), 1 - lam)
    xp.add.at(matrix, (rows, high), lam)
    return matrix


def output_and_ratios(in_hw, size, scale_factor, recompute_scale_factor, op="interpolate"):
    """((Ho, Wo), (r_h, r_w)) from exactly one of ``size`` and ``scale_factor``."""
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size and scale_factor")
    if size is not None:
        out = (size, size) if isinstance(size, int) else tuple(int(s) for s in size)
        if len(out) != 2 or min(out) < 1:
            raise ValueError(f"{op}: size must be a positive int or pair, got {size!r}")
        return out, tuple(in_hw[a] / out[a] for a in (0, 1))
    scales = (scale_factor,) * 2 if isinstance(scale_factor, (int, float)) \
        else tuple(scale_factor)
    if len(scales) != 2 or min(scales) <= 0:
        raise ValueError(f"{op}: scale_factor must be positive (a number or a pair), got "
                         f"{scale_factor!r}")
    out = tuple(int(math.floor(in_hw[a] * scales[a])) for a in (0, 1))
    if min(out) < 1:
        raise ValueError(f"{op}: scale_factor {scale_factor!r} leaves no output for input "
                         f"size {tuple(in_hw)}")
    if recompute_scale_factor:
        return out, tuple(in_hw[a] / out[a] for a in (0, 1))
    return out, tuple(1 / s for s in scales)


class Interpolate(Function):
    """Nearest or bilinear resizing (PyTorch's ``interpolate`` for 4-D input).

    Forward:  y[n, c] = A_h x[n, c] A_w^T   (A_h (Ho, H), A_w (Wo, W): see the module)
    Backward: dx[n, c] = A_h^T dy[n, c] A_w
    Shape:    x (N, C, H, W) -> y (N, C, Ho, Wo), (Ho, Wo) = ``size`` or
              floor(H scale_h), floor(W scale_w)
    """

    def forward(self, x, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None):
        if x.ndim != 4:
            raise ValueError(f"interpolate expects input of shape (N, C, H, W), got shape "
                             f"{x.shape}")
        if mode not in MODES:
            raise ValueError(f"interpolate: mode must be one of {MODES}, got {mode!r}")
        if mode == "nearest" and align_corners is not None:
            raise ValueError("interpolate: align_corners only goes with mode='bilinear'")
        if x.dtype.kind != "f":
            raise TypeError(f"interpolate: input must be floating point, got {x.dtype}")
        out, ratios = output_and_ratios(x.shape[2:], size, scale_factor, recompute_scale_factor)
        self.rows, self.cols = (resize_matrix(x.shape[2 + a], out[a], mode, bool(align_corners),
                                              ratios[a], x) for a in (0, 1))
        return self.rows @ x @ self.cols.T

    def backward(self, grad_out):
        return self.rows.T @ grad_out @ self.cols


def interpolate(x, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                recompute_scale_factor=None) -> Tensor:
    """Resize x (N, C, H, W) to ``size`` or by ``scale_factor`` (PyTorch's ``interpolate``):
    mode "nearest" or "bilinear" with ``align_corners``. NOTE: 4-D input only.

    Examples
    --------
    >>> F.interpolate(vg.ones(1, 3, 4, 4), scale_factor=2).shape
    (1, 3, 8, 8)
    >>> x = vg.tensor([[[[0.0, 1.0]]]])
    >>> F.interpolate(x, size=(1, 4), mode='bilinear', align_corners=True)
    Tensor([[[[0.     0.3333 0.6667 1.    ]]]])
    """
    return Interpolate.apply(x, size=size, scale_factor=scale_factor, mode=mode,
                             align_corners=align_corners,
                             recompute_scale_factor=recompute_scale_factor)
