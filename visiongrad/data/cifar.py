"""CIFAR-10 and CIFAR-100 in their python pickle batches, read with
:func:`load_restricted_pickle` (plain containers, strings, bytes, numbers and NumPy arrays
only, so a crafted file cannot run code); the other readers are in ``data/readers.py``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .dataset import ImageDataset
from .errors import DataFormatError
from .names import checked_names
from .readers import PathLike, _check_counts, _check_labels
from .safe_pickle import load_restricted_pickle

__all__ = ["read_cifar10", "read_cifar100"]


def _pickle_dict(path: Path, required: Sequence[str]) -> dict[str, object]:
    """A restricted-unpickled dict with its keys as str, checked for ``required`` keys."""
    content = load_restricted_pickle(path)
    if not isinstance(content, dict):
        raise DataFormatError(f"{path}: expected a pickled dict, got {type(content).__name__}")
    content = dict(zip(checked_names(list(content), path, "key"), content.values(), strict=True))
    missing = [key for key in required if key not in content]
    if missing:
        raise DataFormatError(f"{path}: missing key(s) {missing}; found {sorted(content)[:20]}")
    return content


def _label_list(labels, source: str) -> np.ndarray:
    """``labels`` as an array after checking, before any conversion, that it is an array
    or a list of ints (``np.asarray`` of a list of shared lists would expand them all)."""
    if isinstance(labels, np.ndarray):
        return labels
    if not isinstance(labels, list) or not all(type(label) is int for label in labels):
        raise DataFormatError(f"{source}: labels must be a list of ints, got a "
                              f"{type(labels).__name__}"
                              + (" holding other values" if isinstance(labels, list) else ""))
    try:
        return np.array(labels, dtype=np.int64)
    except OverflowError:
        raise DataFormatError(f"{source}: a label does not fit in 64 bits") from None


def _cifar_batch(path: Path, label_key: str, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR batch: ``data`` (N, 3072) uint8 rows (R, G, B planes of 32x32) and labels."""
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR batch not found: {path}")
    batch = _pickle_dict(path, ["data", label_key])
    data = batch["data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3 * 32 * 32:
        described = (f"shape {data.shape} dtype {data.dtype}" if isinstance(data, np.ndarray)
                     else type(data).__name__)
        raise DataFormatError(f"{path}: 'data' must be a uint8 array of shape (N, 3072), "
                              f"got {described}")
    labels = _label_list(batch[label_key], f"{path} ('{label_key}')")
    _check_counts(data, labels, f"{path} ('data')", f"{path} ('{label_key}')")
    labels = _check_labels(labels, num_classes, f"{path} ('{label_key}')")
    return data.reshape(-1, 3, 32, 32), labels


def _cifar_classes(path: Path, key: str) -> list[str]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: a CIFAR folder needs {path.name} for its "
                                f"class names (folder {path.parent})")
    names = _pickle_dict(path, [key])[key]
    if not isinstance(names, list) or not names:
        raise DataFormatError(f"{path}: '{key}' must be a non-empty list of names")
    return checked_names(names, f"{path} ('{key}')", "class name")


def _read_cifar(folder: PathLike, batch_names: Sequence[str], meta_name: str, names_key: str,
                label_key: str, name: str) -> ImageDataset:
    folder = Path(folder)
    classes = _cifar_classes(folder / meta_name, names_key)
    parts = [_cifar_batch(folder / batch, label_key, len(classes)) for batch in batch_names]
    images = np.concatenate([images for images, _ in parts]) if len(parts) > 1 else parts[0][0]
    labels = np.concatenate([labels for _, labels in parts])
    return ImageDataset(images, labels, classes, name=name)


def read_cifar10(folder: PathLike, split: str = "train") -> ImageDataset:
    """Read CIFAR-10's python batches from ``folder`` (``cifar-10-batches-py``).

    ``train`` is ``data_batch_1`` .. ``data_batch_5`` (50,000 images), ``test`` is
    ``test_batch`` (10,000); class names come from ``batches.meta`` (``label_names``).
    Each batch is a pickled dict with ``data``, uint8 of shape (N, 3072) holding the red,
    green and blue 32x32 planes of each image, and ``labels``, a list of N ints.

    Returns
    -------
    ImageDataset
        ``images`` (N, 3, 32, 32) uint8, ``labels`` (N,) int64, 10 classes.

    Examples
    --------
    A test split of two images, written as CIFAR-10 writes it:

    >>> import pathlib, pickle, tempfile
    >>> from visiongrad.data import read_cifar10
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> batch = {"data": np.zeros((2, 3072), np.uint8), "labels": [3, 8]}
    >>> _ = (folder / "test_batch").write_bytes(pickle.dumps(batch))
    >>> names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
    ...          "ship", "truck"]
    >>> _ = (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": names}))
    >>> test = read_cifar10(folder, split="test")
    >>> test.images.shape, [test.classes[label] for label in test.labels]
    ((2, 3, 32, 32), ['cat', 'ship'])
    """
    batches = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
    return _read_cifar(folder, batches[_check_split(split)], "batches.meta", "label_names",
                       "labels", name=f"cifar10/{split}")


def read_cifar100(folder: PathLike, split: str = "train", label_mode: str = "fine"
                  ) -> ImageDataset:
    """Read CIFAR-100's python files ``train``/``test`` and ``meta`` from ``folder``.

    Parameters
    ----------
    folder : str or os.PathLike
        Usually ``cifar-100-python``.
    split : {"train", "test"}
    label_mode : {"fine", "coarse"}
        The 100 fine classes (``fine_labels``, ``fine_label_names``) or the 20 coarse
        superclasses (``coarse_labels``, ``coarse_label_names``).

    Returns
    -------
    ImageDataset
        ``images`` (N, 3, 32, 32) uint8 (50,000 train, 10,000 test), ``labels`` (N,) int64.

    Examples
    --------
    A test split of two images, written as CIFAR-100 writes it, read by superclass:

    >>> import pathlib, pickle, tempfile
    >>> from visiongrad.data import read_cifar100
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> batch = {"data": np.zeros((2, 3072), np.uint8), "fine_labels": [0, 99],
    ...          "coarse_labels": [4, 19]}
    >>> _ = (folder / "test").write_bytes(pickle.dumps(batch))
    >>> meta = {"fine_label_names": [f"fine{i}" for i in range(100)],
    ...         "coarse_label_names": [f"coarse{i}" for i in range(20)]}
    >>> _ = (folder / "meta").write_bytes(pickle.dumps(meta))
    >>> test = read_cifar100(folder, split="test", label_mode="coarse")
    >>> test.labels.tolist(), len(test.classes)
    ([4, 19], 20)
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f"label_mode must be 'fine' or 'coarse', got {label_mode!r}")
    return _read_cifar(folder, [_check_split(split)], "meta", f"{label_mode}_label_names",
                       f"{label_mode}_labels", name=f"cifar100-{label_mode}/{split}")


def _check_split(split: str) -> str:
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return split
