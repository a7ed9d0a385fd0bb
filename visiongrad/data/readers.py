"""Readers for image datasets in their standard on-disk formats.

Every reader returns an :class:`~visiongrad.data.dataset.ImageDataset`: ``images`` uint8 of
shape (N, C, H, W), ``labels`` int64 of shape (N,), ``classes`` (a list of names). A file
that is not what it claims to be (wrong magic number, truncated, counts that disagree,
labels outside the class list) raises :class:`DataFormatError` naming the file, so a
model never trains on garbage.

Formats
-------
- IDX (MNIST, Fashion-MNIST, EMNIST), gzip-compressed or raw: :func:`read_idx`,
  :func:`read_idx_dataset`.
- CIFAR-10 / CIFAR-100 python pickle batches: :func:`read_cifar10`, :func:`read_cifar100`
  (in ``data/cifar.py``), read with :func:`load_restricted_pickle`, which builds only plain
  containers, strings, bytes, numbers and NumPy arrays, so a crafted file cannot run code.
- A folder with one sub-folder of PNG/JPEG images per class: :func:`read_image_folder`.
- ``.npz`` archives holding ``x`` (images) and ``y`` (labels): :func:`read_npz`.
"""

from __future__ import annotations

import gzip
import math
import os
import warnings
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from .dataset import ImageDataset
from .errors import DataFormatError, UnsafePickleError
from .images import (
    GRAYSCALE_MODES,
    MAX_IMAGE_PIXELS,
    check_image_size,
    image_to_array,
    open_image,
)
from .names import MAX_CLASSES, checked_names
from .npz import MAX_EXPANSION_RATIO, expansion_limit, load_npz_arrays, read_at_most
from .safe_pickle import load_restricted_pickle

__all__ = [
    "DataFormatError",
    "UnsafePickleError",
    "IMAGE_EXTENSIONS",
    "read_idx",
    "read_idx_dataset",
    "load_restricted_pickle",
    "read_image_folder",
    "read_npz",
]

PathLike = str | os.PathLike

#: Most bytes of data an IDX header may declare (16 GiB); a raw file must also hold them.
MAX_IDX_BYTES = 2**34


# ----------------------------------------------------------------------------- IDX

#: IDX type codes (third byte of the magic number) and the big-endian dtypes they mean.
IDX_DTYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}

_GZIP_MAGIC = b"\x1f\x8b"


def _open_maybe_gzip(path: Path):
    """``(handle, compressed)``: ``path`` opened for binary reading, gzip detected by content."""
    with open(path, "rb") as handle:
        compressed = handle.read(2) == _GZIP_MAGIC
    return (gzip.open(path, "rb") if compressed else open(path, "rb")), compressed


def read_idx(path: PathLike, expected_ndim: int | None = None) -> np.ndarray:
    """Read one IDX file (gzip-compressed or raw) into an array.

    The IDX format is a 4-byte magic number ``0x00 0x00 <type> <ndim>``, then ``ndim``
    big-endian uint32 sizes, then ``prod(sizes)`` values of ``<type>`` in C order
    (MNIST images: magic 2051 = 0x00000803, sizes (N, 28, 28); labels: 2049, sizes (N,)).

    Parameters
    ----------
    path : str or os.PathLike
        The file; compression is detected from its first bytes, not its name.
    expected_ndim : int, optional
        Refuse a file whose magic number declares another number of dimensions
        (3 for images, 1 for labels).

    Returns
    -------
    numpy.ndarray
        Shape ``sizes``, in native byte order (uint8 for MNIST-style data).

    Raises
    ------
    DataFormatError
        Wrong magic number, unknown type code, truncated data or trailing bytes, a header
        declaring more than :data:`MAX_IDX_BYTES` (checked before any allocation, and for
        a raw file against its length, for a gzip file against what it may expand to:
        ``MAX_EXPANSION_RATIO`` times its size, at least 16 MiB), or a damaged gzip
        stream; the message names ``path``.

    Examples
    --------
    >>> import os, struct, tempfile; path = os.path.join(tempfile.mkdtemp(), 'x-idx2-ubyte')
    >>> header = bytes([0, 0, 8, 2]) + struct.pack('>2I', 2, 3)   # uint8, 2 dims: 2 x 3
    >>> _ = open(path, 'wb').write(header + bytes(range(6)))
    >>> read_idx(path, expected_ndim=2)
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
    """
    path = Path(path)
    handle, compressed = _open_maybe_gzip(path)
    try:
        with handle:
            magic = handle.read(4)
            if len(magic) < 4:
                raise DataFormatError(f"{path}: truncated IDX file ({len(magic)} bytes, "
                                      "shorter than the 4-byte magic number)")
            zero, type_code, ndim = magic[:2], magic[2], magic[3]
            if zero != b"\x00\x00" or type_code not in IDX_DTYPES:
                raise DataFormatError(f"{path}: not an IDX file (magic number 0x{magic.hex()}; "
                                      "expected 0x0000 followed by a type code such as 08 "
                                      "and the number of dimensions)")
            if expected_ndim is not None and ndim != expected_ndim:
                raise DataFormatError(f"{path}: IDX magic number 0x{magic.hex()} declares "
                                      f"{ndim} dimension(s), expected {expected_ndim}")
            header = handle.read(4 * ndim)
            if len(header) < 4 * ndim:
                raise DataFormatError(f"{path}: truncated IDX header (expected {ndim} sizes)")
            shape = tuple(int(size) for size in np.frombuffer(header, dtype=">u4"))
            dtype = IDX_DTYPES[type_code]
            expected = math.prod(shape) * dtype.itemsize
            if expected > MAX_IDX_BYTES:
                raise DataFormatError(f"{path}: IDX header declares shape {shape} ({expected} "
                                      f"bytes of data), more than the limit of "
                                      f"{MAX_IDX_BYTES} bytes")
            file_size = os.path.getsize(path)
            if compressed and expected > expansion_limit(file_size):
                raise DataFormatError(f"{path}: IDX header declares shape {shape} ({expected} "
                                      f"bytes of data), more than {file_size} bytes of gzip "
                                      f"may expand to ({expansion_limit(file_size)} bytes, "
                                      f"{MAX_EXPANSION_RATIO} times; a likely gzip bomb)")
            available = None if compressed else file_size - 4 - 4 * ndim
            data = read_at_most(handle, expected + 1 if available is None
                                 else min(expected, available) + 1)
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise DataFormatError(f"{path}: damaged or truncated gzip stream ({error})") from None
    if len(data) < expected:
        raise DataFormatError(f"{path}: truncated IDX file: header declares shape "
                              f"{shape} ({expected} bytes of data) but only {len(data)} "
                              "bytes follow")
    if len(data) > expected:
        raise DataFormatError(f"{path}: IDX file has data after the {expected} bytes "
                              f"its header declares for shape {shape}")
    array = np.frombuffer(data, dtype=dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def _check_labels(labels: np.ndarray, num_classes: int, source: PathLike) -> np.ndarray:
    """Labels as int64, refusing any outside ``0 .. num_classes - 1`` (naming ``source``)."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataFormatError(f"{source}: labels must be a 1-D integer array, got shape "
                              f"{labels.shape} and dtype {labels.dtype}")
    labels = labels.astype(np.int64, copy=False)
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise DataFormatError(f"{source}: {int(bad.sum())} label(s) outside 0..{num_classes - 1} "
                              f"(there are {num_classes} classes); the first is "
                              f"{labels[index]} at index {index}")
    return labels


def _check_counts(images: np.ndarray, labels: np.ndarray, image_source: PathLike,
                  label_source: PathLike) -> None:
    if len(images) != len(labels):
        raise DataFormatError(f"{image_source} holds {len(images)} images (shape "
                              f"{images.shape}) but {label_source} holds {len(labels)} labels "
                              f"(shape {labels.shape})")


def read_idx_dataset(images_path: PathLike, labels_path: PathLike, classes: Sequence[str],
                     transpose: bool = False, name: str | None = None) -> ImageDataset:
    """Read an IDX image file and its IDX label file (MNIST layout) as one dataset.

    Parameters
    ----------
    images_path, labels_path : str or os.PathLike
        IDX files of shape (N, H, W) uint8 and (N,) uint8, gzip-compressed or raw.
    classes : sequence of str
        Class names; every label must index into it.
    transpose : bool
        Swap H and W of every image: EMNIST stores its images transposed.
    name : str, optional
        Stored on the dataset for its ``repr``.

    Returns
    -------
    ImageDataset
        ``images`` (N, 1, H, W) uint8, ``labels`` (N,) int64.

    Examples
    --------
    Two 28x28 images and their labels, written in IDX: a 4-byte magic number (0, 0, the
    type code 0x08 for unsigned bytes, the number of dimensions), then each dimension as a
    big-endian uint32, then the data.

    >>> import pathlib, struct, tempfile
    >>> from visiongrad.data import MNIST_CLASSES, read_idx_dataset
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> pixels = np.arange(2 * 28 * 28, dtype=np.uint8).tobytes()
    >>> _ = (folder / "images").write_bytes(struct.pack(">4B3I", 0, 0, 8, 3, 2, 28, 28) + pixels)
    >>> _ = (folder / "labels").write_bytes(struct.pack(">4BI", 0, 0, 8, 1, 2) + bytes([3, 7]))
    >>> digits = read_idx_dataset(folder / "images", folder / "labels", MNIST_CLASSES)
    >>> digits.images.shape, digits.labels.tolist()
    ((2, 1, 28, 28), [3, 7])
    """
    images = read_idx(images_path, expected_ndim=3)
    labels = read_idx(labels_path, expected_ndim=1)
    if images.dtype != np.uint8:
        raise DataFormatError(f"{images_path}: images must be unsigned bytes (type 0x08), "
                              f"got {images.dtype}")
    _check_counts(images, labels, images_path, labels_path)
    labels = _check_labels(labels, len(classes), labels_path)
    if transpose:
        images = np.ascontiguousarray(images.transpose(0, 2, 1))
    return ImageDataset(images[:, None], labels, classes, name=name)


# ----------------------------------------------------------------------------- image folder

#: File extensions :func:`read_image_folder` reads (case-insensitive).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


def read_image_folder(root: PathLike, size: tuple[int, int] | None = None,
                      mode: str | None = None, max_pixels: int = MAX_IMAGE_PIXELS
                      ) -> ImageDataset:
    """Read ``root/<class name>/<image file>`` into one dataset.

    Classes are the sub-folder names in sorted order (label ``i`` is ``classes[i]``);
    images are the files in them with an extension in :data:`IMAGE_EXTENSIONS`, in sorted
    order, each opened with :func:`~visiongrad.data.images.open_image` (its pixel count
    checked before decoding) and converted by
    :func:`~visiongrad.data.images.image_to_array` (16-bit grayscale scaled to 8 bits).

    Parameters
    ----------
    root : str or os.PathLike
    size : (height, width), optional
        Resize every image to this size (bilinear). Without it all images must already
        have the same size.
    mode : {"L", "RGB"}, optional
        Convert every image to grayscale (C=1) or colour (C=3). By default "L" when every
        image is grayscale, else "RGB", so colour is never lost unless asked for; with
        ``mode="L"`` a ``UserWarning`` says how many colour images were made grey.
    max_pixels : int
        Refuse any image declaring more pixels (see :data:`MAX_IMAGE_PIXELS`).

    Returns
    -------
    ImageDataset
        ``images`` (N, C, H, W) uint8, ``labels`` (N,) int64.

    Raises
    ------
    DataFormatError
        A file that is not a readable image or is too large, or images of different
        sizes without ``size``; the message names the file.
    FileNotFoundError
        ``root`` is missing or holds no class folders with images.
    ValueError
        ``size`` is not a (height, width) pair of positive ints, or ``mode`` is unknown.

    Examples
    --------
    >>> import os, tempfile; folder = tempfile.mkdtemp(); from PIL import Image
    >>> for name in ('cat', 'dog'):
    ...     os.makedirs(os.path.join(folder, name))
    ...     Image.new('RGB', (5, 4)).save(os.path.join(folder, name, 'a.png'))
    >>> data = read_image_folder(folder)
    >>> data.images.shape, data.labels, data.classes
    ((2, 3, 4, 5), array([0, 1]), ['cat', 'dog'])
    """
    root = Path(root)
    size = check_image_size(size)
    if mode not in (None, "L", "RGB"):
        raise ValueError(f"mode must be 'L', 'RGB' or None, got {mode!r}")
    if not root.is_dir():
        raise FileNotFoundError(f"image folder not found: {root}")
    classes = sorted(entry.name for entry in root.iterdir() if entry.is_dir())
    files, labels = [], []
    for label, name in enumerate(classes):
        found = sorted(path for path in (root / name).iterdir()
                       if path.suffix.lower() in IMAGE_EXTENSIONS)
        if not found:
            raise FileNotFoundError(f"class folder {root / name} holds no images "
                                    f"({', '.join(IMAGE_EXTENSIONS)})")
        files += found
        labels += [label] * len(found)
    if not files:
        raise FileNotFoundError(f"{root} holds no class sub-folders with images")
    pictures = [open_image(path, max_pixels) for path in files]
    coloured = sum(picture.mode not in GRAYSCALE_MODES for picture in pictures)
    if mode is None:
        mode = "RGB" if coloured else "L"
    elif mode == "L" and coloured:
        warnings.warn(f"{root}: {coloured} colour image(s) converted to grayscale "
                      "(mode='L')", UserWarning, stacklevel=2)
    arrays = [_image_array(picture, path, mode, size, files[0], pictures[0].size)
              for picture, path in zip(pictures, files, strict=True)]
    images = np.stack(arrays)
    images = images[:, None] if mode == "L" else images.transpose(0, 3, 1, 2)
    return ImageDataset(np.ascontiguousarray(images), np.array(labels, dtype=np.int64), classes,
                        name=str(root))


def _image_array(picture: Image.Image, path: Path, mode: str, size: tuple[int, int] | None,
                 first_path: Path, first_size: tuple[int, int]) -> np.ndarray:
    """``picture`` in ``mode`` (and ``size``) as uint8 (H, W) or (H, W, 3)."""
    if size is None and picture.size != first_size:
        raise DataFormatError(f"{path}: image is {picture.size[0]}x{picture.size[1]} (WxH) but "
                              f"{first_path} is {first_size[0]}x{first_size[1]}; pass size= to "
                              "resize them all")
    with warnings.catch_warnings():  # read_image_folder has said it once for all images
        warnings.simplefilter("ignore", UserWarning)
        array = image_to_array(picture, mode, path)
    if size is not None:
        height, width = size
        array = np.asarray(Image.fromarray(array).resize((width, height),
                                                         Image.Resampling.BILINEAR))
    return array


# ----------------------------------------------------------------------------- npz

def read_npz(path: PathLike, classes: Sequence[str] | None = None) -> ImageDataset:
    """Read a ``.npz`` archive holding ``x`` (images) and ``y`` (labels).

    ``x`` is uint8 of shape (N, C, H, W), or (N, H, W) for one channel; ``y`` is an integer
    array of shape (N,). Class names come from ``classes``, else from an optional string
    array ``classes`` in the archive (text, or bytes decoded as UTF-8; at most
    :data:`MAX_CLASSES` names), else ``"0" .. str(max(y))``. Arrays are loaded
    without pickle (``allow_pickle=False``).

    Returns
    -------
    ImageDataset
        ``images`` (N, C, H, W) uint8, ``labels`` (N,) int64.

    Examples
    --------
    >>> import os, tempfile; path = os.path.join(tempfile.mkdtemp(), 'digits.npz')
    >>> np.savez(path, x=np.zeros((3, 28, 28), np.uint8), y=np.array([0, 2, 1]))
    >>> data = read_npz(path)
    >>> data.images.shape, data.labels, data.classes
    ((3, 1, 28, 28), array([0, 2, 1]), ['0', '1', '2'])
    """
    path = Path(path)
    arrays = load_npz_arrays(path, ["x", "y"], optional_text=["classes"])
    images, labels, stored = arrays["x"], arrays["y"], arrays.get("classes")
    if images.dtype != np.uint8:
        raise DataFormatError(f"{path}: x must be uint8 images (0..255), got {images.dtype}; "
                              "build ImageDataset(x, y) directly for other dtypes")
    if images.ndim == 3:
        images = images[:, None]
    if images.ndim != 4:
        raise DataFormatError(f"{path}: x must have shape (N, C, H, W) or (N, H, W), got "
                              f"{images.shape}")
    if labels.ndim != 1:
        raise DataFormatError(f"{path} (y): labels must be a 1-D integer array, got shape "
                              f"{labels.shape} and dtype {labels.dtype}")
    _check_counts(images, labels, f"{path} (x)", f"{path} (y)")
    if classes is None and stored is not None:
        if stored.ndim != 1 or stored.dtype.kind not in "SU":
            raise DataFormatError(f"{path} (classes): class names must be a 1-D array of "
                                  f"strings, got shape {stored.shape} and dtype {stored.dtype}")
        classes = checked_names(stored.tolist(), f"{path} (classes)", "class name")
    if classes is None:
        labels = _check_labels(labels, np.iinfo(np.int64).max, f"{path} (y)")
        largest = int(labels.max(initial=-1))
        if largest >= MAX_CLASSES:
            raise DataFormatError(f"{path} (y): the largest label is {largest}; inferring "
                                  f"{largest + 1} class names is refused (the limit is "
                                  f"{MAX_CLASSES}); pass classes= to name them")
        classes = [str(index) for index in range(largest + 1)]
    labels = _check_labels(labels, len(classes), f"{path} (y)")
    return ImageDataset(images, labels, classes, name=str(path))
