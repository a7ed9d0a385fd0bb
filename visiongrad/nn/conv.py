"""Convolution and pooling layers: Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d,
GlobalAvgPool2d. Layout NCHW throughout."""

from __future__ import annotations

from .. import functional as F
from ..ops.window import pair
from .linear import check_positive, empty_parameter, reset_weight_and_bias
from .module import Module


class _Convolution(Module):
    """What Conv2d and ConvTranspose2d share: sizes, parameters, PyTorch's default init."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride, padding,
                 bias: bool):
        super().__init__()
        check_positive(type(self).__name__, in_channels=in_channels, out_channels=out_channels)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride, self.padding = pair(stride, "stride"), pair(padding, "padding")
        self.weight = empty_parameter(*self.weight_shape())
        self.bias = empty_parameter(out_channels) if bias else None
        reset_weight_and_bias(self.weight, self.bias)

    def weight_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")
        return text if self.bias is not None else text + ", bias=False"


class Conv2d(_Convolution):
    """2-D convolution (cross-correlation, as in PyTorch and the course).

    y[n, f] = b[f] + sum_c W[f, c] * x_pad[n, c] (with stride)

    Shape
    -----
    x (N, C, H, W) -> y (N, F, H', W'),
    H' = (H + 2 pad_h - kh) // stride_h + 1, W' = (W + 2 pad_w - kw) // stride_w + 1;
    ``weight`` (F, C, kh, kw), ``bias`` (F,).
    Initialised as PyTorch: U(-1/sqrt(C kh kw), 1/sqrt(C kh kw)) for both.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 bias: bool = True):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, bias)

    def weight_shape(self) -> tuple[int, ...]:
        return (self.out_channels, self.in_channels, *self.kernel_size)

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding)


class ConvTranspose2d(_Convolution):
    """2-D transposed convolution ("deconvolution", the gradient of ``Conv2d`` wrt its input).

    Shape
    -----
    x (N, C, H, W) -> y (N, F, H', W'),
    H' = (H - 1) stride_h - 2 pad_h + kh + output_padding_h (likewise W');
    ``weight`` (C, F, kh, kw) (in_channels first, as PyTorch), ``bias`` (F,).
    Initialised as PyTorch: U(-1/sqrt(F kh kw), 1/sqrt(F kh kw)) for both.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, bias: bool = True):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, bias)
        self.output_padding = pair(output_padding, "output_padding")

    def weight_shape(self) -> tuple[int, ...]:
        return (self.in_channels, self.out_channels, *self.kernel_size)

    def forward(self, x):
        return F.conv_transpose2d(x, self.weight, self.bias, stride=self.stride,
                                  padding=self.padding, output_padding=self.output_padding)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, output_padding={self.output_padding}"


class _Pool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride")
        self.padding = pair(padding, "padding")

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """Max over each kh x kw window; ``stride`` defaults to the window size.

    Shape: (N, C, H, W) -> (N, C, (H + 2 pad_h - kh) // stride_h + 1, ...)
    """

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, stride=self.stride, padding=self.padding)


class AvgPool2d(_Pool2d):
    """Mean over each kh x kw window; ``stride`` defaults to the window size.

    Shape: (N, C, H, W) -> (N, C, (H + 2 pad_h - kh) // stride_h + 1, ...)
    """

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, stride=self.stride, padding=self.padding)


class GlobalAvgPool2d(Module):
    """Mean over all of H and W: (N, C, H, W) -> (N, C, 1, 1), as PyTorch's
    ``AdaptiveAvgPool2d(1)``; follow it with ``Flatten()`` for (N, C)."""

    def forward(self, x):
        if x.ndim != 4:
            raise ValueError(f"GlobalAvgPool2d expects (N, C, H, W) input, got shape "
                             f"{tuple(x.shape)}")
        return x.mean(axis=(2, 3), keepdims=True)
