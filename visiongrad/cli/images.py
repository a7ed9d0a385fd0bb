"""Reading image files for ``predict``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import CommandError


def read_images(paths: Sequence[str], channels: int, size: tuple[int, int]) -> np.ndarray:
    """Read PNG/JPEG files as a uint8 batch for a model taking ``channels`` x ``size``.

    Colour images are converted to grey for a one-channel model and grey ones to RGB for a
    three-channel model; the size must already match (no silent resizing).

    Returns
    -------
    ndarray of uint8, shape (N, channels, H, W)
    """
    mode = {1: "L", 3: "RGB"}.get(channels)
    if mode is None:
        raise CommandError(f"cannot read images for a model with {channels} input channels")
    height, width = size
    batch = []
    for path in paths:
        try:
            with Image.open(path) as image:
                image = image.convert(mode)
        except FileNotFoundError:
            raise CommandError(f"image not found: {path}") from None
        except (UnidentifiedImageError, OSError) as error:
            raise CommandError(f"cannot read image {path}: {error}") from None
        if image.size != (width, height):
            raise CommandError(f"image {path} is {image.width}x{image.height} pixels but the "
                               f"model takes {width}x{height}")
        pixels = np.asarray(image, dtype=np.uint8)
        batch.append(pixels[None] if channels == 1 else pixels.transpose(2, 0, 1))
    return np.stack(batch)
