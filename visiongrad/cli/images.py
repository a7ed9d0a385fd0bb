"""Reading image files for ``predict``."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import CommandError

MAX_IMAGE_PIXELS = 8192 * 8192
"""Images declaring more pixels are refused from their header, before decoding."""


def read_images(paths: Sequence[str], channels: int, size: tuple[int, int],
                resize: bool = False, invert: bool = False) -> np.ndarray:
    """Read PNG/JPEG files as a uint8 batch for a model taking ``channels`` x ``size``.

    Colour images are converted to grey for a one-channel model and grey ones to RGB for a
    three-channel model. An image of another size is an error unless ``resize`` (bilinear
    resampling to ``size``); ``invert`` maps each pixel ``p`` to ``255 - p`` (for a dark
    object on a light background, when the model was trained on the opposite).

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
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(path) as image:
                    if image.width * image.height > MAX_IMAGE_PIXELS:
                        raise CommandError(f"image {path} is {image.width}x{image.height} "
                                           f"pixels, more than the {MAX_IMAGE_PIXELS} read")
                    image = image.convert(mode)
        except FileNotFoundError:
            raise CommandError(f"image not found: {path}") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise CommandError(f"image {path} is too large to read: {error}") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
            raise CommandError(f"cannot read image {path}: {error}") from None
        if image.size != (width, height):
            if not resize:
                raise CommandError(f"image {path} is {image.width}x{image.height} pixels but "
                                   f"the model takes {width}x{height} (use --resize)")
            image = image.resize((width, height), Image.Resampling.BILINEAR)
        pixels = np.asarray(image, dtype=np.uint8)
        pixels = 255 - pixels if invert else pixels
        batch.append(pixels[None] if channels == 1 else pixels.transpose(2, 0, 1))
    return np.stack(batch)
