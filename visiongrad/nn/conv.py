"""Convolution and pooling layers: Conv1d, Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d,
GlobalAvgPool2d. Layout NCHW (NCL for Conv1d) throughout."""

from __future__ import annotations

from .. import functional as F
from ..ops.window import as_int, pair
from .linear import check_positive, empty_parameter, reset_weight_and_bias
from .module import Module


def check_window_sizes(owner: str, **pairs) -> None:
    """Raise ``ValueError`` naming the first (h, w) pair with an entry below 1."""
    for name, value in pairs.items():
        if min(value) < 1:
            raise ValueError(f"{owner}: {name} must be positive, got {value}")


class _Convolution(Module):
    """What the convolutions share: sizes, groups, parameters, PyTorch's default init.

    ``weight_shape`` gives the weight's shape; ``sizes`` turns an int-or-pair argument into
    the layer's form (a pair for 2-D, a 1-tuple for 1-D, as PyTorch stores them).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride, padding,
                 dilation, groups: int, bias: bool):
        super().__init__()
        name = type(self).__name__
        check_positive(name, in_channels=in_channels, out_channels=out_channels, groups=groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: groups={groups} must divide in_channels "
                             f"({in_channels}) and out_channels ({out_channels})")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = self.sizes(kernel_size, "kernel_size")
        self.stride, self.dilation = self.sizes(stride, "stride"), self.sizes(dilation, "dilation")
        check_window_sizes(name, kernel_size=self.kernel_size, stride=self.stride,
                           dilation=self.dilation)
        self.padding = padding if isinstance(padding, str) else self.sizes(padding, "padding")
        self.weight = empty_parameter(*self.weight_shape())
        self.bias = empty_parameter(out_channels) if bias else None
        reset_weight_and_bias(self.weight, self.bias)

    def sizes(self, value, name: str) -> tuple[int, ...]:
        return pair(value, name)

    def weight_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")
        if self.dilation != (1,) * len(self.dilation):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text if self.bias is not None else text + ", bias=False"


class Conv2d(_Convolution):
    """2-D convolution (cross-correlation, as in PyTorch and the course).

    y[n, f] = b[f] + sum_{c in group(f)} W[f, c] * x_pad[n, c] (with stride and dilation)

    Shape
    -----
    x (N, C, H, W) -> y (N, F, H', W'),
    H' = (H + 2 pad_h - dilation_h (kh - 1) - 1) // stride_h + 1 (likewise W');
    ``padding`` an int, a pair, "valid" or "same" (stride 1: H' = H);
    ``weight`` (F, C / groups, kh, kw), ``bias`` (F,).
    Initialised as PyTorch: U(-1/sqrt(C / groups kh kw), 1/sqrt(C / groups kh kw)) for both.

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.Conv2d(3, 8, 3, stride=2, padding=1)
    >>> layer(vg.randn(2, 3, 16, 16)).shape
    (2, 8, 8, 8)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias)

    def weight_shape(self) -> tuple[int, ...]:
        return (self.out_channels, self.in_channels // self.groups, *self.kernel_size)

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class Conv1d(_Convolution):
    """1-D convolution over (N, C, L) sequences (``F.conv1d``).

    Shape
    -----
    x (N, C, L) -> y (N, F, L'), L' = (L + 2 padding - dilation (k - 1) - 1) // stride + 1;
    ``weight`` (F, C / groups, k), ``bias`` (F,); PyTorch's init.

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.Conv1d(3, 6, 3, padding=1)
    >>> layer(vg.randn(2, 3, 10)).shape
    (2, 6, 10)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias)

    def sizes(self, value, name: str) -> tuple[int, ...]:
        if not isinstance(value, int) and hasattr(value, "__len__") and len(value) == 1:
            value = value[0]
        return (as_int(value, name),)

    def weight_shape(self) -> tuple[int, ...]:
        return (self.out_channels, self.in_channels // self.groups, *self.kernel_size)

    def forward(self, x):
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return F.conv1d(x, self.weight, self.bias, self.stride[0], padding, self.dilation[0],
                        self.groups)


class ConvTranspose2d(_Convolution):
    """2-D transposed convolution ("deconvolution", the gradient of ``Conv2d`` wrt its input).

    Shape
    -----
    x (N, C, H, W) -> y (N, F, H', W'),
    H' = (H - 1) stride_h - 2 pad_h + dilation_h (kh - 1) + 1 + output_padding_h (likewise W');
    ``weight`` (C, F / groups, kh, kw) (in_channels first, as PyTorch), ``bias`` (F,).
    Initialised as PyTorch: U(-1/sqrt(F / groups kh kw), 1/sqrt(F / groups kh kw)) for both.

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.ConvTranspose2d(8, 3, 4, stride=2, padding=1)
    >>> layer(vg.randn(2, 8, 8, 8)).shape
    (2, 3, 16, 16)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1):
        if isinstance(padding, str):
            raise ValueError(f"ConvTranspose2d: padding must be an int or a pair, got "
                             f"{padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias)
        self.output_padding = pair(output_padding, "output_padding")

    def weight_shape(self) -> tuple[int, ...]:
        return (self.in_channels, self.out_channels // self.groups, *self.kernel_size)

    def forward(self, x):
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, output_padding={self.output_padding}"


class _Pool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False):
        super().__init__()
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride")
        self.padding = pair(padding, "padding")
        check_window_sizes(type(self).__name__, kernel_size=self.kernel_size,
                           stride=self.stride)
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        text = f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
        return text + (", ceil_mode=True" if self.ceil_mode else "")


class MaxPool2d(_Pool2d):
    """Max over each kh x kw window; ``stride`` defaults to the window size.

    Shape: (N, C, H, W) -> (N, C, (H + 2 pad_h - kh) // stride_h + 1, ...), the division
    rounded up with ``ceil_mode`` (less one if the last window starts in the padding).
    NOTE: unlike PyTorch, no ``dilation`` and no ``return_indices`` (use F.max_pool2d).

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.MaxPool2d(2)
    >>> layer(vg.randn(1, 3, 8, 8)).shape
    (1, 3, 4, 4)
    """

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding,
                            ceil_mode=self.ceil_mode)


class AvgPool2d(_Pool2d):
    """Mean over each kh x kw window; ``stride`` defaults to the window size; zero padding
    counts in the mean unless ``count_include_pad=False``; ``divisor_override`` replaces
    the window size as the divisor.

    Shape: (N, C, H, W) -> (N, C, (H + 2 pad_h - kh) // stride_h + 1, ...), rounded up with
    ``ceil_mode`` as in MaxPool2d.

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.AvgPool2d(2)
    >>> layer(vg.randn(1, 3, 8, 8)).shape
    (1, 3, 4, 4)
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None):
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class GlobalAvgPool2d(Module):
    """Mean over all of H and W: (N, C, H, W) -> (N, C, 1, 1), as PyTorch's
    ``AdaptiveAvgPool2d(1)``; follow it with ``Flatten()`` for (N, C).

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.GlobalAvgPool2d()
    >>> layer(vg.randn(2, 3, 4, 4)).shape
    (2, 3, 1, 1)
    """

    def forward(self, x):
        if x.ndim != 4:
            raise ValueError(f"GlobalAvgPool2d expects (N, C, H, W) input, got shape "
                             f"{tuple(x.shape)}")
        return x.mean(axis=(2, 3), keepdims=True)


class Upsample(Module):
    """Resize (N, C, H, W) input to ``size`` or by ``scale_factor`` (``F.interpolate``):
    mode "nearest" or "bilinear" with PyTorch's ``align_corners``.

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import nn
    >>> layer = nn.Upsample(scale_factor=2)
    >>> layer(vg.randn(1, 3, 4, 4)).shape
    (1, 3, 8, 8)
    """

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest",
                 align_corners=None, recompute_scale_factor=None):
        super().__init__()
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, x):
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                             self.recompute_scale_factor)

    def extra_repr(self) -> str:
        what = f"size={self.size}" if self.size is not None else \
            f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"
