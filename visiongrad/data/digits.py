"""Handwritten digits: the UCI "Optical Recognition of Handwritten Digits" scans that
scikit-learn ships as ``load_digits``, embedded here and upsampled to 28x28.

1,797 real 8x8 scans (pixel = count of "on" pixels in a 4x4 block, 0..16) from 43 writers,
embedded in ``visiongrad/data/embedded/digits.npz`` (CC BY 4.0, notice beside it; built by
``scripts/build_digits.py``), so no scikit-learn is needed. The split is fixed in the file:
a stratified test set of 50 images per class (500) and 1,297 training images. Loading
scales 0..16 to 0..255 and resizes bilinearly to 28x28, the size of the MNIST family, so
networks trained on Fashion-MNIST take the digits as they are.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

from .dataset import ImageDataset
from .npz import load_npz_arrays

__all__ = ["DIGITS_CLASSES", "embedded_path", "load_digits", "resize_bilinear"]

DIGITS_CLASSES = [str(digit) for digit in range(10)]
DIGITS_FILE = "digits.npz"


def embedded_path() -> Path:
    """Where the embedded digits file lives in this installation."""
    return Path(str(resources.files(__package__).joinpath("embedded", DIGITS_FILE)))


def resize_bilinear(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of (..., H, W) to (..., h, w), as PyTorch's
    ``F.interpolate(mode="bilinear", align_corners=False, antialias=False)``.

    Output pixel i samples the input at s = (i + 0.5) H / h - 0.5, clamped to [0, H - 1]:
    y = (1 - t) x[floor(s)] + t x[floor(s) + 1], t = s - floor(s), along each axis in turn.
    Returns float64.
    """
    out = np.asarray(images, dtype=np.float64)
    for axis, new in zip((-2, -1), size, strict=True):
        old = out.shape[axis]
        source = np.clip((np.arange(new) + 0.5) * old / new - 0.5, 0, old - 1)
        low = np.floor(source).astype(np.intp)
        high = np.minimum(low + 1, old - 1)
        weight = (source - low).reshape((-1, 1) if axis == -2 else (-1,))
        out = ((1 - weight) * np.take(out, low, axis=axis)
               + weight * np.take(out, high, axis=axis))
    return out


def load_digits(split: str = "train", size: int = 28) -> ImageDataset:
    """The embedded digits ``split`` ("train": 1,297, "test": 500) as uint8 images
    (N, 1, size, size) in 0..255 (16 -> 255, bilinear upsampling) and int64 labels 0..9.

    Raises
    ------
    ValueError
        An unknown split, or ``size`` below 8.
    FileNotFoundError
        The embedded file is missing from the installation.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if not isinstance(size, int) or size < 8:
        raise ValueError(f"size must be an integer of at least 8, got {size!r}")
    path = embedded_path()
    if not path.is_file():
        raise FileNotFoundError(f"the embedded digits file {path} is missing from this "
                                "installation; rebuild it with scripts/build_digits.py")
    arrays = load_npz_arrays(path, [f"{split}_x", f"{split}_y"])
    scans = arrays[f"{split}_x"].astype(np.float64) * (255.0 / 16.0)
    images = np.rint(np.clip(resize_bilinear(scans, (size, size)), 0, 255)).astype(np.uint8)
    return ImageDataset(images[:, None], arrays[f"{split}_y"], classes=DIGITS_CLASSES,
                        name=f"digits/{split}")
