"""The masked convolution of PixelCNN, summed over the kernel rows its mask keeps.

A raster-order causal mask (``autoregressive.causal_mask``) zeroes every kernel row below
the centre row c = kh // 2, so the "same"-padded convolution with the masked weight,
y = conv2d(x, W * M, b, padding=(c, cw)), only ever reads input rows h - c ... h for
output row h. The same sums come from the top c + 1 kernel rows alone, over x with c zero
rows above it and none below: 2 of the 3 rows of a 3x3 kernel, 4 of 7 of a 7x7, the
products of the rows below never computed. ``conv2d(x, W * M, b, padding=(c, cw))`` is the
reference this op is tested against.
"""

from __future__ import annotations

from ..autograd import Function, Tensor, as_tensor
from ..backend import array_module
from ..ops.conv import bias_grad, conv_input_grad, conv_output, conv_weight_grad


class CausalConv2d(Function):
    """y = conv2d(x, W * M, b) "same"-padded, for a causal mask M (zero below row c).

    Forward:  y = conv2d(x_top, (W * M)[:, :, :c + 1], b, padding=(0, cw)),
              x_top = x with c zero rows on top,  c = kh // 2, cw = kw // 2
    Backward: dx = that convolution's input gradient, less its first c rows;
              dW[:, :, :c + 1] = its weight gradient times M[:c + 1], dW = 0 below;
              db = sum_{n, h, w} dy
    Shapes:   x (N, C, H, W), W (F, C, kh, kw) with kh, kw odd, M (kh, kw) zero below its
              centre row, b (F,) or None -> y (N, F, H, W) (y and dx channels-last in memory,
              as every convolution's)
    """

    def forward(self, x, weight, bias=None, mask=None):
        xp = array_module(x)
        n, channels, height, width = x.shape
        kh, kw = weight.shape[2:]
        if kh % 2 == 0 or kw % 2 == 0 or mask is None or mask.shape != (kh, kw):
            raise ValueError(f"causal_conv2d needs an odd kernel and a mask of its shape, got "
                             f"weight {weight.shape} and mask "
                             f"{None if mask is None else mask.shape}")
        if mask[kh // 2 + 1:].any():
            raise ValueError("causal_conv2d: the mask must be zero below its centre row")
        self.top, self.padding = kh // 2, (0, kw // 2)
        self.mask = mask[:self.top + 1].astype(weight.dtype)
        self.rows = weight[:, :, :self.top + 1] * self.mask
        top_rows = xp.empty((n, height + self.top, width, channels), dtype=x.dtype)
        top_rows[:, :self.top] = 0
        top_rows[:, self.top:] = x.transpose(0, 2, 3, 1)
        self.x_top, self.weight_shape = top_rows.transpose(0, 3, 1, 2), weight.shape
        return conv_output(self.x_top, self.rows, bias, (1, 1), self.padding)

    def backward(self, grad_out):
        xp = array_module(grad_out)
        needs, dx, dw = self.needs_input_grad, None, None
        if needs[0]:
            dx_top = conv_input_grad(grad_out, self.rows, self.x_top.shape, (1, 1),
                                     self.padding)
            dx_rows = xp.ascontiguousarray(dx_top.transpose(0, 2, 3, 1)[:, self.top:])
            dx = dx_rows.transpose(0, 3, 1, 2)
        if needs[1]:
            dw = xp.zeros(self.weight_shape, dtype=grad_out.dtype)
            dw[:, :, :self.top + 1] = conv_weight_grad(
                self.x_top, grad_out, self.rows.shape[2:], (1, 1), self.padding) * self.mask
        if len(needs) == 2:
            return dx, dw
        return dx, dw, bias_grad(grad_out) if needs[2] else None


def causal_conv2d(x, weight, bias, mask) -> Tensor:
    """``conv2d(x, weight * mask, bias, padding=(kh // 2, kw // 2))`` for a causal ``mask``
    (an array (kh, kw), zero below its centre row), as one :class:`CausalConv2d` node.

    Examples
    --------
    >>> import numpy as np
    >>> import visiongrad as vg
    >>> from visiongrad.generative.masked_conv import causal_conv2d
    >>> mask = np.array([[1, 1, 1], [1, 0, 0], [0, 0, 0]], np.float32)
    >>> causal_conv2d(vg.ones(1, 1, 4, 4), vg.ones(2, 1, 3, 3), None, mask).shape
    (1, 2, 4, 4)
    """
    tensors = (x, weight) if bias is None else (x, weight, bias)
    return CausalConv2d.apply(*(as_tensor(t) for t in tensors), mask=mask)
