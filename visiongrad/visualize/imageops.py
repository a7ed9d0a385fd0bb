"""Small image operations of the gradient-ascent methods, on NumPy arrays (N, C, H, W):
jitter, Gaussian blur and bilinear resizing."""

from __future__ import annotations

import numpy as np
from PIL import Image


def jitter(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Roll ``images`` by ``dy`` rows and ``dx`` columns (wrapping around).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import visualize
    >>> visualize.jitter(np.arange(4.0).reshape(1, 1, 1, 4), 0, 1)
    array([[[[3., 0., 1., 2.]]]])
    """
    return np.roll(images, (dy, dx), axis=(-2, -1))


def gaussian_blur(images: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of each channel, kernel radius ceil(3 sigma), edges
    reflected: out = g * (g * x along H) along W, g[t] ~ exp(-t^2 / (2 sigma^2)).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import visualize
    >>> out = visualize.gaussian_blur(np.random.default_rng(0).random((1, 3, 8, 8)), sigma=1.0)
    >>> out.shape
    (1, 3, 8, 8)
    """
    if sigma <= 0:
        return images
    radius = int(np.ceil(3 * sigma))
    taps = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2 * sigma ** 2))
    taps /= taps.sum()
    out = images
    for axis in (-2, -1):
        pad = [(0, 0)] * out.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="reflect" if out.shape[axis] > radius else "edge")
        length = out.shape[axis]
        out = sum(tap * np.take(padded, np.arange(i, i + length), axis=axis)
                  for i, tap in enumerate(taps))
    return out.astype(images.dtype, copy=False)


def resize(images: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resizing of every channel of (N, C, H, W) ``images`` to ``height`` x
    ``width`` (Pillow's float mode).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import visualize
    >>> visualize.resize(np.ones((1, 3, 4, 4)), 8, 6).shape
    (1, 3, 8, 6)
    """
    n, c = images.shape[:2]
    out = np.empty((n, c, height, width), dtype=images.dtype)
    for i in range(n):
        for j in range(c):
            plane = Image.fromarray(np.ascontiguousarray(images[i, j], dtype=np.float32), "F")
            out[i, j] = np.asarray(plane.resize((width, height), Image.Resampling.BILINEAR))
    return out
