"""Sliding-window geometry, shared by convolution, pooling, their naive references, the
layers (``nn.conv``) and the model zoo: pairs of sizes, the output size, the checks.

Pure arithmetic on Python ints with no imports but ``operator``, so every layer may use it
(``accel``'s direct convolution checks its arrays with it too). A window of kernel k with
dilation d spans d (k - 1) + 1 input positions:

    Ho = floor((H + 2 ph - dh (kh - 1) - 1) / sh) + 1   (likewise Wo)

and ``ceil_mode`` (pooling) rounds the division up, dropping a last window that would
start in the right padding (PyTorch's rule).
"""

from __future__ import annotations

import operator


def as_int(value, name: str) -> int:
    """``value`` as an int: Python and NumPy integers pass, anything else (a float such as
    1.5, a bool, a string) is a TypeError naming ``name``, never a silent truncation."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int or a pair of ints (h, w), got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int or a pair of ints (h, w), got {value!r}") \
            from None


def pair(value, name: str) -> tuple[int, int]:
    """``value`` as an (h, w) pair of ints: an int is used for both."""
    if isinstance(value, str) or not hasattr(value, "__len__"):
        value = as_int(value, name)
        return value, value
    if len(value) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints (h, w), got {value!r}")
    return as_int(value[0], name), as_int(value[1], name)


def span(kernel: int, dilation: int = 1) -> int:
    """d (k - 1) + 1: the input positions a dilated window covers."""
    return dilation * (kernel - 1) + 1


def output_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1,
                ceil_mode: bool = False) -> int:
    """floor((size + 2 padding - d (kernel - 1) - 1) / stride) + 1, the positions a window
    takes; with ``ceil_mode`` the division rounds up, less one if the last window would
    start in the right padding."""
    room = size + 2 * padding - span(kernel, dilation)
    if not ceil_mode:
        return room // stride + 1
    out = -(-room // stride) + 1
    return out - 1 if (out - 1) * stride >= size + padding else out


def output_hw(in_hw, kernel, stride, padding, dilation=(1, 1), ceil_mode=False):
    """(Ho, Wo): ``output_size`` along each axis of (h, w) pairs."""
    return tuple(output_size(in_hw[a], kernel[a], stride[a], padding[a], dilation[a],
                             ceil_mode) for a in (0, 1))


def check_window(op: str, x_shape, kernel, stride, padding, dilation=(1, 1),
                 ceil_mode=False) -> tuple[int, int]:
    """Validate a sliding window over NCHW input; return the output size (Ho, Wo)."""
    if len(x_shape) != 4:
        raise ValueError(f"{op} expects input of shape (N, C, H, W), got shape {tuple(x_shape)}")
    if min(stride) <= 0:
        raise ValueError(f"{op}: stride must be positive, got {stride}")
    if min(padding) < 0:
        raise ValueError(f"{op}: padding must be non-negative, got {padding}")
    if min(kernel) <= 0:
        raise ValueError(f"{op}: kernel size must be positive, got {kernel}")
    if min(dilation) <= 0:
        raise ValueError(f"{op}: dilation must be positive, got {dilation}")
    padded = (x_shape[2] + 2 * padding[0], x_shape[3] + 2 * padding[1])
    spans = (span(kernel[0], dilation[0]), span(kernel[1], dilation[1]))
    if spans[0] > padded[0] or spans[1] > padded[1]:
        what = f"kernel {kernel}" + ("" if dilation == (1, 1) else f" with dilation {dilation}")
        raise ValueError(f"{op}: {what} is larger than the padded input {padded} "
                         f"(input {tuple(x_shape[2:])}, padding {padding})")
    return output_hw(x_shape[2:], kernel, stride, padding, dilation, ceil_mode)


def checked_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """``output_size``, or a ValueError naming the sizes where the window does not fit."""
    out = output_size(size, kernel, stride, padding)
    if out < 1:
        raise ValueError(f"an input of size {size} is too small for kernel {kernel}, "
                         f"stride {stride}, padding {padding}")
    return out
