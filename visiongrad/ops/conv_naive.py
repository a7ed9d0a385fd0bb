"""Plain loop versions of convolution and pooling: the course's "naive" layers.

Each output element is computed by one visit to its window, exactly as the formula
reads; each backward pass walks the same loops and sends the upstream gradient back
along every term. They are slow and obviously right, which is their job: the fast ops
in ``conv.py`` are tested against them. Arguments are arrays; stride and padding are
(h, w) pairs; padding is zeros for convolution and average pooling, -inf for max.
"""

from __future__ import annotations

from ..backend import array_module
from .window import output_hw


def _pad(x, padding, value=0.0):
    xp = array_module(x)
    ph, pw = padding
    return xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def _taps(x_pad, top, left, kernel, dilation):
    """The window of ``x_pad`` (..., H, W) at (top, left): kernel taps ``dilation`` apart."""
    return x_pad[..., top:top + dilation[0] * (kernel[0] - 1) + 1:dilation[0],
                 left:left + dilation[1] * (kernel[1] - 1) + 1:dilation[1]]


def conv2d_naive(x, weight, bias, stride, padding, dilation=(1, 1), groups=1):
    """y[n, f, ho, wo] = b[f] + sum(w[f] * x_pad[n, channels of f's group, window(ho, wo)]),
    the window's taps ``dilation`` apart."""
    xp = array_module(x)
    n, c, h, w = x.shape
    f, c_group, kh, kw = weight.shape
    ho, wo = output_hw((h, w), (kh, kw), stride, padding, dilation)
    x_pad = _pad(x, padding)
    y = xp.zeros((n, f, ho, wo), dtype=x.dtype)
    for i in range(n):
        for k in range(f):
            first = k // (f // groups) * c_group  # the first input channel of k's group
            for r in range(ho):
                for s in range(wo):
                    window = _taps(x_pad[i, first:first + c_group], r * stride[0],
                                   s * stride[1], (kh, kw), dilation)
                    y[i, k, r, s] = (window * weight[k]).sum()
            if bias is not None:
                y[i, k] += bias[k]
    return y


def conv2d_naive_backward(grad_out, x, weight, stride, padding, dilation=(1, 1), groups=1):
    """(dx, dw, db): each y[n, f, ho, wo] sends dy * w[f] to its window of x (in f's group)
    and dy * window to w[f]."""
    xp = array_module(x)
    f, c_group, kh, kw = weight.shape
    h, w = x.shape[2:]
    x_pad = _pad(x, padding)
    dx_pad = xp.zeros_like(x_pad)
    dw = xp.zeros_like(weight)
    n, f, ho, wo = grad_out.shape
    for i in range(n):
        for k in range(f):
            group = slice(k // (f // groups) * c_group, (k // (f // groups) + 1) * c_group)
            for r in range(ho):
                for s in range(wo):
                    top, left = r * stride[0], s * stride[1]
                    g = grad_out[i, k, r, s]
                    _taps(dx_pad[i, group], top, left, (kh, kw), dilation)[...] += g * weight[k]
                    dw[k] += g * _taps(x_pad[i, group], top, left, (kh, kw), dilation)
    dx = dx_pad[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w]
    return dx, dw, grad_out.sum(axis=(0, 2, 3))


def conv_transpose2d_naive(x, weight, bias, stride, padding, output_padding, dilation=(1, 1),
                           groups=1):
    """Each x[n, c, h, w] adds x * w[c] into its group's output window at
    (h sh - ph, w sw - pw), the taps ``dilation`` apart."""
    xp = array_module(x)
    n, cin, h, w = x.shape
    _, f_group, kh, kw = weight.shape
    ho = (h - 1) * stride[0] + dilation[0] * (kh - 1) + 1 + output_padding[0]
    wo = (w - 1) * stride[1] + dilation[1] * (kw - 1) + 1 + output_padding[1]
    y_pad = xp.zeros((n, f_group * groups, ho, wo), dtype=x.dtype)
    for i in range(n):
        for r in range(h):
            for s in range(w):
                for c in range(cin):
                    first = c // (cin // groups) * f_group
                    _taps(y_pad[i, first:first + f_group], r * stride[0], s * stride[1],
                          (kh, kw), dilation)[...] += x[i, c, r, s] * weight[c]
    y = y_pad[:, :, padding[0]:ho - padding[0], padding[1]:wo - padding[1]]
    return y if bias is None else y + bias.reshape(-1, 1, 1)


def conv_transpose2d_naive_backward(grad_out, x, weight, stride, padding, dilation=(1, 1),
                                    groups=1):
    """(dx, dw, db): x[n, c, h, w] gets sum(dy window * w[c]), w[c] gets x * dy window,
    the window in c's group."""
    xp = array_module(x)
    n, cin, h, w = x.shape
    _, f_group, kh, kw = weight.shape
    dy_pad = _pad(grad_out, padding)  # the forward's uncropped output canvas
    dx = xp.zeros_like(x)
    dw = xp.zeros_like(weight)
    for i in range(n):
        for r in range(h):
            for s in range(w):
                for c in range(cin):
                    first = c // (cin // groups) * f_group
                    window = _taps(dy_pad[i, first:first + f_group], r * stride[0],
                                   s * stride[1], (kh, kw), dilation)
                    dx[i, c, r, s] = (window * weight[c]).sum()
                    dw[c] += x[i, c, r, s] * window
    return dx, dw, grad_out.sum(axis=(0, 2, 3))


def max_pool2d_naive(x, kernel, stride, padding):
    """y = max over each window; also the flat index (row-major within the window) of the
    first maximum, for the backward pass."""
    xp = array_module(x)
    n, c, h, w = x.shape
    ho, wo = output_hw((h, w), kernel, stride, padding)
    x_pad = _pad(x, padding, -xp.inf)
    y = xp.zeros((n, c, ho, wo), dtype=x.dtype)
    argmax = xp.zeros((n, c, ho, wo), dtype=xp.int64)
    for i in range(n):
        for k in range(c):
            for r in range(ho):
                for s in range(wo):
                    top, left = r * stride[0], s * stride[1]
                    window = x_pad[i, k, top:top + kernel[0], left:left + kernel[1]]
                    argmax[i, k, r, s] = xp.argmax(window)  # the first maximum
                    y[i, k, r, s] = window.max()
    return y, argmax


def max_pool2d_naive_backward(grad_out, x, kernel, stride, padding):
    """dx: each window's dy goes to its first maximum."""
    xp = array_module(x)
    _, argmax = max_pool2d_naive(x, kernel, stride, padding)
    h, w = x.shape[2:]
    dx_pad = xp.zeros((x.shape[0], x.shape[1], h + 2 * padding[0], w + 2 * padding[1]),
                      dtype=x.dtype)
    n, c, ho, wo = grad_out.shape
    for i in range(n):
        for k in range(c):
            for r in range(ho):
                for s in range(wo):
                    di, dj = divmod(int(argmax[i, k, r, s]), kernel[1])
                    dx_pad[i, k, r * stride[0] + di, s * stride[1] + dj] += grad_out[i, k, r, s]
    return dx_pad[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w]


def avg_pool2d_naive(x, kernel, stride, padding):
    """y = mean over each zero-padded window (padding counted)."""
    xp = array_module(x)
    n, c, h, w = x.shape
    ho, wo = output_hw((h, w), kernel, stride, padding)
    x_pad = _pad(x, padding)
    y = xp.zeros((n, c, ho, wo), dtype=x.dtype)
    for r in range(ho):
        for s in range(wo):
            top, left = r * stride[0], s * stride[1]
            window = x_pad[:, :, top:top + kernel[0], left:left + kernel[1]]
            y[:, :, r, s] = window.mean(axis=(2, 3))
    return y


def avg_pool2d_naive_backward(grad_out, x, kernel, stride, padding):
    """dx: each window's dy / (kh kw) to every element of the window."""
    xp = array_module(x)
    h, w = x.shape[2:]
    dx_pad = xp.zeros((x.shape[0], x.shape[1], h + 2 * padding[0], w + 2 * padding[1]),
                      dtype=x.dtype)
    ho, wo = grad_out.shape[2:]
    for r in range(ho):
        for s in range(wo):
            top, left = r * stride[0], s * stride[1]
            share = grad_out[:, :, r, s, None, None] / (kernel[0] * kernel[1])
            dx_pad[:, :, top:top + kernel[0], left:left + kernel[1]] += share
    return dx_pad[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w]
