"""Sliding-window geometry, shared by convolution, pooling, their naive references, the
layers (``nn.conv``) and the model zoo: pairs of sizes, the output size, the checks.

Pure arithmetic on Python ints with no imports, so every layer may use it (``accel``'s
direct convolution checks its arrays with it too).

    Ho = floor((H + 2 ph - kh) / sh) + 1,   Wo = floor((W + 2 pw - kw) / sw) + 1
"""

from __future__ import annotations


def pair(value, name: str) -> tuple[int, int]:
    """``value`` as an (h, w) pair of ints: an int is used for both."""
    if isinstance(value, int):
        return value, value
    if len(value) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints (h, w), got {value!r}")
    return int(value[0]), int(value[1])


def output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """floor((size + 2 padding - kernel) / stride) + 1, the positions a window takes."""
    return (size + 2 * padding - kernel) // stride + 1


def output_hw(in_hw, kernel, stride, padding) -> tuple[int, int]:
    """(Ho, Wo): ``output_size`` along each axis of (h, w) pairs."""
    return (output_size(in_hw[0], kernel[0], stride[0], padding[0]),
            output_size(in_hw[1], kernel[1], stride[1], padding[1]))


def check_window(op: str, x_shape, kernel, stride, padding) -> tuple[int, int]:
    """Validate a sliding window over NCHW input; return the output size (Ho, Wo)."""
    if len(x_shape) != 4:
        raise ValueError(f"{op} expects input of shape (N, C, H, W), got shape {tuple(x_shape)}")
    if min(stride) <= 0:
        raise ValueError(f"{op}: stride must be positive, got {stride}")
    if min(padding) < 0:
        raise ValueError(f"{op}: padding must be non-negative, got {padding}")
    if min(kernel) <= 0:
        raise ValueError(f"{op}: kernel size must be positive, got {kernel}")
    padded = (x_shape[2] + 2 * padding[0], x_shape[3] + 2 * padding[1])
    if kernel[0] > padded[0] or kernel[1] > padded[1]:
        raise ValueError(f"{op}: kernel {kernel} is larger than the padded input {padded} "
                         f"(input {tuple(x_shape[2:])}, padding {padding})")
    return output_hw(x_shape[2:], kernel, stride, padding)


def checked_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """``output_size``, or a ValueError naming the sizes where the window does not fit."""
    out = output_size(size, kernel, stride, padding)
    if out < 1:
        raise ValueError(f"an input of size {size} is too small for kernel {kernel}, "
                         f"stride {stride}, padding {padding}")
    return out
