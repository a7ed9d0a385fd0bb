"""Batch transforms and data augmentation for images of shape (N, C, H, W).

Every transform acts on a whole batch at once, with no Python loop over the images: flips
select images with a boolean mask, random crops gather per-image windows from a
``sliding_window_view`` by fancy indexing, and rotation, shear, translation, scaling and
resized crops are one batched affine warp (:func:`warp_affine`) with a 2x3 matrix per image.

Contract of every random transform
----------------------------------
- Input: an array (N, C, H, W) of any real dtype; it is never modified.
- Output: a new array with the same dtype and value range (integers are rounded and
  clipped back into their dtype), the same N, in the same order, so labels stay aligned.
- Randomness: the transform's own generator when it was built with ``rng=`` (a
  ``numpy.random.Generator`` or an int seed), else the ``rng`` passed to the call
  (:class:`~visiongrad.data.loader.DataLoader` passes one per epoch), else
  ``visiongrad.random.get_generator()``. NumPy's global random state is never used.

Compose them with :class:`Compose`; any callable ``images -> images`` (for example a
fitted preprocessing object from :mod:`visiongrad.data.preprocessing`) may be a step.

NOTE: unlike torchvision, transforms take and return batches, never single images, and
``ColorJitter`` applies brightness, contrast and saturation in that fixed order.

The affine family lives in :mod:`visiongrad.data.affine`, the base classes and
:class:`ToFloat` in :mod:`visiongrad.data.transform_base`; all are importable from here.

Examples
--------
>>> from visiongrad.data.transforms import Compose, RandomCrop, RandomHorizontalFlip
>>> augment = Compose([RandomCrop(4, padding=1, rng=0), RandomHorizontalFlip(rng=0)])
>>> images = np.zeros((2, 3, 4, 4), np.uint8)
>>> out = augment(images)
>>> out.shape, out.dtype
((2, 3, 4, 4), dtype('uint8'))
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..random import GeneratorLike
from .affine import (
    RandomAffine,
    RandomResizedCrop,
    RandomRotation,
    RandomShear,
    RandomTranslation,
    warp_affine,
)
from .transform_base import (
    Compose,
    RandomTransform,
    ToFloat,
    _cast_like,
    _float_dtype,
    _interval,
    _pair,
    apply_transform,
    random_transforms,
)

__all__ = [
    "Compose", "RandomTransform", "RandomHorizontalFlip", "RandomVerticalFlip", "RandomCrop",
    "RandomResizedCrop", "RandomAffine", "RandomRotation", "RandomTranslation", "RandomShear",
    "ColorJitter", "RandomErasing", "Cutout", "ToFloat", "warp_affine", "apply_transform",
    "random_transforms",
]


# ----------------------------------------------------------------------------- flips

class _RandomFlip(RandomTransform):
    axis: int

    def __init__(self, p: float = 0.5, rng: GeneratorLike = None):
        super().__init__(rng)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p}")
        self.p = p

    def apply(self, images, rng):
        flip = (rng.random(len(images)) < self.p)[:, None, None, None]
        return np.where(flip, np.flip(images, axis=self.axis), images)


class RandomHorizontalFlip(_RandomFlip):
    """Mirror each image left-right with probability ``p``: ``out[n, c, i, j] =
    x[n, c, i, W - 1 - j]`` for the chosen images, a copy of the rest."""

    axis = -1


class RandomVerticalFlip(_RandomFlip):
    """Flip each image upside down with probability ``p``: ``out[n, c, i, j] =
    x[n, c, H - 1 - i, j]`` for the chosen images, a copy of the rest."""

    axis = -2


# ----------------------------------------------------------------------------- crops

class RandomCrop(RandomTransform):
    """Pad each image, then cut a window of ``size`` at a random place (per image).

    ``out[n] = pad(x[n])[:, t_n : t_n + h, l_n : l_n + w]`` with ``t_n`` uniform in
    ``0 .. H + 2p - h`` and ``l_n`` in ``0 .. W + 2p - w``. All windows are gathered at once
    from a ``sliding_window_view`` of the padded batch.

    Parameters
    ----------
    size : int or (h, w)
        Output size; ``RandomCrop((H, W), padding=4)`` is the usual CIFAR augmentation.
    padding : int
        Pixels added on every side before cropping.
    padding_mode : {"constant", "edge", "reflect"}
        As in ``numpy.pad``; "constant" pads with ``fill``.
    fill : number
        The constant padding value.
    """

    def __init__(self, size, padding: int = 0, padding_mode: str = "constant", fill=0,
                 rng: GeneratorLike = None):
        super().__init__(rng)
        self.size = tuple(int(side) for side in _pair(size, "size"))
        if padding < 0:
            raise ValueError(f"padding must be non-negative, got {padding}")
        if padding_mode not in ("constant", "edge", "reflect"):
            raise ValueError(f"padding_mode must be 'constant', 'edge' or 'reflect', got "
                             f"{padding_mode!r}")
        self.padding, self.padding_mode, self.fill = int(padding), padding_mode, fill

    def apply(self, images, rng):
        p = self.padding
        extra = {"constant_values": self.fill} if self.padding_mode == "constant" else {}
        padded = np.pad(images, ((0, 0), (0, 0), (p, p), (p, p)), mode=self.padding_mode,
                        **extra) if p else images
        height, width = self.size
        rows, cols = padded.shape[2:]
        if height > rows or width > cols:
            raise ValueError(f"crop size {self.size} is larger than the padded images "
                             f"{(rows, cols)} (images {images.shape[2:]}, padding {p})")
        n = len(images)
        top = rng.integers(0, rows - height + 1, n)
        left = rng.integers(0, cols - width + 1, n)
        windows = sliding_window_view(padded, (height, width), axis=(2, 3))
        return windows[np.arange(n), :, top, left]


# ----------------------------------------------------------------------------- colour

#: ITU-R BT.601 luma weights for R, G, B (as PIL and torchvision).
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])


def _luminance(x: np.ndarray) -> np.ndarray:
    """Grayscale (N, 1, H, W): luma-weighted for C=3, the channel mean otherwise."""
    if x.shape[1] == 3:
        return np.einsum("c,nchw->nhw", LUMA_WEIGHTS.astype(x.dtype), x)[:, None]
    return x.mean(axis=1, keepdims=True)


class ColorJitter(RandomTransform):
    """Random brightness, contrast and saturation, one factor of each per image.

    With factors ``b, k, s`` drawn uniformly from their ranges and ``gray(x)`` the luma
    (C=3) or channel mean::

        x <- b x                                    (brightness)
        x <- k (x - m) + m,  m = mean(gray(x))      (contrast, per image)
        x <- s (x - gray(x)) + gray(x)              (saturation; no effect when C = 1)

    then clipped to ``value_range``.

    Parameters
    ----------
    brightness, contrast, saturation : float or (min, max)
        A number ``v`` draws the factor from ``[max(0, 1 - v), 1 + v]``; 0 leaves it out.
    value_range : (low, high), optional
        Default (0, 255) for integer images and (0, 1) for float images; give it for other
        ranges (apply jitter before standardising).
    """

    def __init__(self, brightness=0.0, contrast=0.0, saturation=0.0, value_range=None,
                 rng: GeneratorLike = None):
        super().__init__(rng)
        self.brightness = _interval(brightness, "brightness", centre=1.0, lowest=0.0)
        self.contrast = _interval(contrast, "contrast", centre=1.0, lowest=0.0)
        self.saturation = _interval(saturation, "saturation", centre=1.0, lowest=0.0)
        self.value_range = value_range

    def apply(self, images, rng):
        n = len(images)
        factors = [rng.uniform(*span, n).reshape(n, 1, 1, 1)
                   for span in (self.brightness, self.contrast, self.saturation)]
        brightness, contrast, saturation = (f.astype(_float_dtype(images)) for f in factors)
        x = images.astype(_float_dtype(images)) * brightness
        mean = _luminance(x).mean(axis=(1, 2, 3), keepdims=True)
        x = contrast * (x - mean) + mean
        gray = _luminance(x)
        x = saturation * (x - gray) + gray
        low, high = self.value_range or ((0, 255) if np.issubdtype(images.dtype, np.integer)
                                         else (0.0, 1.0))
        return _cast_like(np.clip(x, low, high), images)


# ----------------------------------------------------------------------------- erasing

class _RectangleErase(RandomTransform):
    """Fill one axis-aligned rectangle per image with ``value``; subclasses draw them."""

    def __init__(self, p: float, value, rng):
        super().__init__(rng)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p}")
        self.p, self.value = p, value

    def rectangles(self, n: int, height: int, width: int, rng: np.random.Generator):
        """``(top, bottom, left, right)``, each (N,): rows ``top <= i < bottom`` etc."""
        raise NotImplementedError

    def apply(self, images, rng):
        n, _, height, width = images.shape
        top, bottom, left, right = self.rectangles(n, height, width, rng)
        erase = rng.random(n) < self.p
        rows, cols = np.arange(height), np.arange(width)
        inside_rows = (rows >= top[:, None]) & (rows < bottom[:, None])        # (N, H)
        inside_cols = (cols >= left[:, None]) & (cols < right[:, None])        # (N, W)
        mask = erase[:, None, None] & inside_rows[:, :, None] & inside_cols[:, None, :]
        return np.where(mask[:, None], np.asarray(self.value).astype(images.dtype), images)


class RandomErasing(_RectangleErase):
    """Random erasing (Zhong et al. 2017): with probability ``p`` fill a random rectangle of
    area fraction ``U(scale)`` and aspect ratio (w / h) log-uniform in ``ratio``
    (clipped to the image) with ``value``.

    NOTE: unlike torchvision, a rectangle that does not fit is clipped rather than re-drawn.
    """

    def __init__(self, p: float = 0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0,
                 rng: GeneratorLike = None):
        super().__init__(p, value, rng)
        self.scale, self.ratio = _interval(scale, "scale"), _interval(ratio, "ratio")

    def rectangles(self, n, height, width, rng):
        area = height * width * rng.uniform(*self.scale, n)
        aspect = np.exp(rng.uniform(*np.log(self.ratio), n))
        box_h = np.clip(np.rint(np.sqrt(area / aspect)), 1, height).astype(int)
        box_w = np.clip(np.rint(np.sqrt(area * aspect)), 1, width).astype(int)
        top = rng.integers(0, height - box_h + 1)
        left = rng.integers(0, width - box_w + 1)
        return top, top + box_h, left, left + box_w


class Cutout(_RectangleErase):
    """Cutout (DeVries & Taylor 2017): fill a ``size`` x ``size`` square centred on a uniformly
    random pixel with ``value``; the part outside the image is dropped. Probability ``p``."""

    def __init__(self, size: int, p: float = 1.0, value=0,
                 rng: GeneratorLike = None):
        super().__init__(p, value, rng)
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        self.size = int(size)

    def rectangles(self, n, height, width, rng):
        top = rng.integers(0, height, n) - self.size // 2
        left = rng.integers(0, width, n) - self.size // 2
        return top, top + self.size, left, left + self.size
