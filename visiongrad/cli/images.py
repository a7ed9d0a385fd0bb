"""Reading image files for ``predict``, through the library's safe opener."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Sequence

import numpy as np
from PIL import Image

from .errors import PROG, CommandError


def read_images(paths: Sequence[str], channels: int, size: tuple[int, int],
                resize: bool = False, invert: bool = False) -> np.ndarray:
    """Read PNG/JPEG files as a uint8 batch for a model taking ``channels`` x ``size``.

    Each file is opened with :func:`visiongrad.data.open_image` (its pixel count checked
    from the header, before decoding) and converted by
    :func:`visiongrad.data.image_to_array`: 16-bit grey is scaled to 8 bits, grey images
    become RGB for a three-channel model, and colour images become grey for a one-channel
    model with a ``visiongrad: warning:`` line on stderr. An image of another size is an
    error unless ``resize`` (bilinear resampling to ``size``); ``invert`` maps each pixel
    ``p`` to ``255 - p`` (for a dark object on a light background, when the model was
    trained on the opposite).

    Returns
    -------
    ndarray of uint8, shape (N, channels, H, W)
    """
    from visiongrad.data import DataFormatError, image_to_array, open_image

    mode = {1: "L", 3: "RGB"}.get(channels)
    if mode is None:
        raise CommandError(f"cannot read images for a model with {channels} input channels")
    height, width = size
    batch = []
    for path in paths:
        if not os.path.isfile(path):
            raise CommandError(f"image not found: {path}")
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", UserWarning)
                pixels = image_to_array(open_image(path), mode, path)
        except DataFormatError as error:
            raise CommandError(f"cannot read image {error}") from None
        for warning in caught:
            print(f"{PROG}: warning: {warning.message}", file=sys.stderr)
        if pixels.shape[:2] != (height, width):
            if not resize:
                raise CommandError(f"image {path} is {pixels.shape[1]}x{pixels.shape[0]} "
                                   f"pixels but the model takes {width}x{height} (use --resize)")
            pixels = np.asarray(Image.fromarray(pixels).resize((width, height),
                                                               Image.Resampling.BILINEAR))
        pixels = 255 - pixels if invert else pixels
        batch.append(pixels[None] if channels == 1 else pixels.transpose(2, 0, 1))
    return np.stack(batch)
