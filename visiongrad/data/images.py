"""Opening image files safely: the pixel count is checked before anything is decoded.

A PNG of a few kilobytes can declare 30000 x 30000 pixels (a "decompression bomb"), and
decoding it would take gigabytes. :func:`open_image` reads only the header first
(``Image.open`` is lazy), refuses more than ``max_pixels`` pixels, and only then decodes.
:func:`image_to_array` turns a decoded image into uint8 with the conversions stated:
16-bit grayscale is scaled to 8 bits (not clipped), and colour becomes grayscale only
when ``mode="L"`` is asked for, with a warning.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import DataFormatError

__all__ = ["MAX_IMAGE_PIXELS", "IMAGE_FORMATS", "GRAYSCALE_MODES", "open_image",
           "image_to_array", "read_image"]

MAX_IMAGE_PIXELS = 8192 * 8192
"""Most pixels (width x height) an image file may declare: 8192 x 8192. Pillow's own limit
(``Image.MAX_IMAGE_PIXELS``) is also enforced, as an error rather than a warning.

Examples
--------
>>> MAX_IMAGE_PIXELS == 8192 * 8192
True
"""

#: Most bytes per declared pixel an image file may hold (16-bit RGBA, uncompressed).
MAX_BYTES_PER_PIXEL = 8

#: The formats :func:`open_image` reads (Pillow's names), whatever a file's name says: a
#: file in any other format Pillow knows (an EPS would start Ghostscript, a TIFF may hold
#: CIE-Lab) is refused before its decoder runs.
IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")

#: The colour modes those formats decode to that :func:`image_to_array` converts exactly.
IMAGE_MODES = ("1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "I", "I;16",
               "I;16B", "I;16L", "I;16N", "F")

#: Pillow modes without colour.
GRAYSCALE_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")

_SIXTEEN_BIT_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N")


def open_image(path: str | os.PathLike, max_pixels: int = MAX_IMAGE_PIXELS) -> Image.Image:
    """Open and decode the image at ``path`` after checking its declared size.

    Parameters
    ----------
    path : str or os.PathLike
    max_pixels : int
        Refuse an image whose header declares more pixels than this, before decoding.

    Returns
    -------
    PIL.Image.Image
        The decoded image (its first frame), detached from the file.

    Raises
    ------
    DataFormatError
        The file is not a readable image in one of :data:`IMAGE_FORMATS` (its content
        decides, not its name), has a colour mode outside :data:`IMAGE_MODES`, declares a
        zero or too large size, or is damaged; the message names ``path``.

    Examples
    --------
    >>> import os, tempfile; folder = tempfile.mkdtemp(); from PIL import Image
    >>> path = os.path.join(folder, 'a.png')
    >>> Image.new('RGB', (5, 4)).save(path)
    >>> open_image(path).size
    (5, 4)
    """
    path = Path(path)
    try:
        # Decoded from memory: Pillow reads a chunk of the length a file declares, and
        # from a file object that read reserves the declared length (up to 2 GiB) first.
        if path.stat().st_size > MAX_BYTES_PER_PIXEL * max_pixels + (1 << 20):
            raise DataFormatError(f"{path}: {path.stat().st_size} bytes is more than an "
                                  f"image of at most {max_pixels} pixels can take")
        content = path.read_bytes()
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=IMAGE_FORMATS) as picture:
                width, height = picture.size
                if picture.mode not in IMAGE_MODES:
                    raise DataFormatError(f"{path}: colour mode {picture.mode} is not read "
                                          "(save the image as RGB or grey)")
                if width < 1 or height < 1 or width * height > max_pixels:
                    raise DataFormatError(
                        f"{path}: image declares {width}x{height} pixels (WxH); refused "
                        f"before decoding (the limit is {max_pixels} pixels)")
                picture.load()
                return picture.copy() if picture.mode != "P" else picture.convert("RGBA")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise DataFormatError(f"{path}: refused before decoding ({error})") from None
    except DataFormatError:
        raise
    except UnidentifiedImageError:
        raise DataFormatError(f"{path}: not a readable image (not PNG, JPEG, BMP, GIF or "
                              "WebP)") from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as error:
        raise DataFormatError(f"{path}: not a readable image ({error})") from None


def image_to_array(picture: Image.Image, mode: str, source: str | os.PathLike = "image"
                   ) -> np.ndarray:
    """``picture`` as uint8 (H, W) for ``mode="L"`` or (H, W, 3) for ``mode="RGB"``.

    16-bit grayscale (Pillow's "I;16" and "I" modes, as PNG stores them) is scaled to
    8 bits, round(v * 255 / 65535), rather than clipped at 255 as Pillow's ``convert``
    does. A colour image asked for as ``mode="L"`` is converted with ITU-R 601-2 luma
    (L = 0.299 R + 0.587 G + 0.114 B) and a ``UserWarning`` naming ``source`` says so.

    Examples
    --------
    >>> from PIL import Image
    >>> pixels = image_to_array(Image.new('RGB', (5, 4), (1, 2, 3)), mode='RGB')
    >>> pixels.shape, pixels[0, 0]
    ((4, 5, 3), array([1, 2, 3], dtype=uint8))
    >>> image_to_array(Image.new('L', (5, 4)), mode='L').shape
    (4, 5)
    """
    if mode not in ("L", "RGB"):
        raise ValueError(f"mode must be 'L' or 'RGB', got {mode!r}")
    if picture.mode in _SIXTEEN_BIT_MODES:
        wide = np.asarray(picture).astype(np.float64)
        grey = np.rint(np.clip(wide, 0, 65535) * (255 / 65535)).astype(np.uint8)
        return grey if mode == "L" else np.repeat(grey[..., None], 3, axis=2)
    if mode == "L" and picture.mode not in GRAYSCALE_MODES:
        warnings.warn(f"{source}: colour image ({picture.mode}) converted to grayscale "
                      "(mode='L')", UserWarning, stacklevel=2)
    return np.asarray(picture.convert(mode), dtype=np.uint8)


def read_image(path: str | os.PathLike, mode: str = "RGB", size: tuple[int, int] | None = None,
               max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Read one image file as uint8 (C, H, W), checked before decoding (see :func:`open_image`).

    Parameters
    ----------
    path : str or os.PathLike
    mode : {"L", "RGB"}
        One channel or three; see :func:`image_to_array` for the conversions.
    size : (height, width), optional
        Resize (bilinear) to this size.
    max_pixels : int
        The most pixels the file may declare.

    Examples
    --------
    >>> import os, tempfile; folder = tempfile.mkdtemp(); from PIL import Image
    >>> path = os.path.join(folder, 'a.png')
    >>> Image.new('RGB', (5, 4), (255, 0, 0)).save(path)
    >>> read_image(path).shape, read_image(path, size=(2, 2)).shape
    ((3, 4, 5), (3, 2, 2))
    >>> read_image(path)[:, 0, 0]
    array([255,   0,   0], dtype=uint8)
    """
    size = check_image_size(size)
    array = image_to_array(open_image(path, max_pixels), mode, path)
    if size is not None:
        picture = Image.fromarray(array)
        array = np.asarray(picture.resize(size[::-1], Image.Resampling.BILINEAR))
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def check_image_size(size) -> tuple[int, int] | None:
    """``size`` as (height, width) of positive ints, or None; ValueError naming it."""
    if size is None:
        return None
    try:
        height, width = size
    except (TypeError, ValueError):
        raise ValueError(f"size must be a (height, width) pair, got {size!r}") from None
    if not all(isinstance(value, (int, np.integer)) and not isinstance(value, bool)
               and value >= 1 for value in (height, width)):
        raise ValueError(f"size must be a (height, width) pair of positive ints, got {size!r}")
    return int(height), int(width)
