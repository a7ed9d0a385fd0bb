"""``load_dataset``: the named datasets, where they are looked for, and the embedded default.

Nothing is ever downloaded. For a name and split, :func:`load_dataset` looks in

1. ``data_dir`` (the argument, e.g. the command line's ``--data-dir``),
2. ``$VISIONGRAD_DATA``,
3. the system location, for Fashion-MNIST ``/usr/share/datasets/fashion-mnist`` (the
   Debian package ``dataset-fashion-mnist``),

trying in each root first the dataset's usual sub-folders (``fashion-mnist``,
``cifar-10-batches-py`` ...) and then the root itself. The first folder holding the
dataset's files is read; if none does, the error lists every folder tried and how to get
the data. ``"fashion-mnist-mini"`` is embedded in the package and needs no files.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from . import cifar, readers
from .dataset import ImageDataset
from .digits import load_digits

__all__ = ["load_dataset", "available_datasets", "search_folders", "FASHION_MNIST_CLASSES",
           "MNIST_CLASSES", "EMBEDDED_FILES", "DATA_ENV"]

#: The environment variable naming a folder of datasets.
DATA_ENV = "VISIONGRAD_DATA"

FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot"]
"""Fashion-MNIST's ten class names, in label order (label 9 is an ankle boot).

Examples
--------
>>> FASHION_MNIST_CLASSES[9]
'Ankle boot'
"""
MNIST_CLASSES = [str(digit) for digit in range(10)]
"""MNIST's class names, the digits ``"0"`` to ``"9"`` in label order.

Examples
--------
>>> MNIST_CLASSES[:3]
['0', '1', '2']
"""

#: The embedded Fashion-MNIST subset, one .npz per split, inside ``visiongrad/data/embedded``.
EMBEDDED_FILES = {"train": "fashion_mnist_mini_train.npz", "test": "fashion_mnist_mini_test.npz"}

_IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
              "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


@dataclass(frozen=True)
class _Source:
    """A dataset on disk: folder names to try, the file that marks it, how to read it."""

    folders: tuple[str, ...]
    marker: Callable[[str], Sequence[str]]
    read: Callable[[Path, str], ImageDataset]
    how_to_get: str
    system_folder: str | None = None


def _idx_candidates(split: str) -> list[str]:
    return [name + suffix for name in _IDX_FILES[split][:1] for suffix in (".gz", "")]


def _read_idx_folder(classes: Sequence[str], name: str) -> Callable[[Path, str], ImageDataset]:
    def read(folder: Path, split: str) -> ImageDataset:
        paths = [_existing(folder, stem) for stem in _IDX_FILES[split]]
        return readers.read_idx_dataset(*paths, classes=classes, name=f"{name}/{split}")
    return read


def _existing(folder: Path, stem: str) -> Path:
    """``folder/stem.gz`` or ``folder/stem``, whichever exists (error naming both)."""
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{folder} holds part of the dataset but neither {stem}.gz nor "
                            f"{stem}")


_PASS_FOLDER = (f"pass that folder as data_dir (--data-dir on the command line) or set {DATA_ENV} "
                "to it")
"""How a found folder reaches :func:`load_dataset`, said for the library and the command."""

_IDX_HINT = ("put the four IDX files ({files}) from {url} into a folder and "
             + _PASS_FOLDER)

_SOURCES = {
    "fashion-mnist": _Source(
        folders=("fashion-mnist", "fashion_mnist", "FashionMNIST/raw"),
        marker=_idx_candidates, read=_read_idx_folder(FASHION_MNIST_CLASSES, "fashion-mnist"),
        how_to_get="install the Debian package: apt-get install dataset-fashion-mnist; or "
        + _IDX_HINT.format(files="train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                           "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz",
                           url="https://github.com/zalandoresearch/fashion-mnist"),
        system_folder="/usr/share/datasets/fashion-mnist"),
    "mnist": _Source(
        folders=("mnist", "MNIST/raw"), marker=_idx_candidates,
        read=_read_idx_folder(MNIST_CLASSES, "mnist"),
        how_to_get=_IDX_HINT.format(files="train-images-idx3-ubyte.gz ... "
                                    "t10k-labels-idx1-ubyte.gz",
                                    url="http://yann.lecun.com/exdb/mnist/")),
    "cifar10": _Source(
        folders=("cifar-10-batches-py", "cifar10", "cifar-10"),
        marker=lambda split: ["data_batch_1" if split == "train" else "test_batch"],
        read=lambda folder, split: cifar.read_cifar10(folder, split),
        how_to_get="extract cifar-10-python.tar.gz (https://www.cs.toronto.edu/~kriz/cifar.html) "
                   f"into a folder and {_PASS_FOLDER}"),
    "cifar100": _Source(
        folders=("cifar-100-python", "cifar100", "cifar-100"),
        marker=lambda split: [split],
        read=lambda folder, split: cifar.read_cifar100(folder, split, "fine"),
        how_to_get="extract cifar-100-python.tar.gz (https://www.cs.toronto.edu/~kriz/cifar.html)"
                   f" into a folder and {_PASS_FOLDER}"),
}
_SOURCES["cifar100-coarse"] = _Source(
    folders=_SOURCES["cifar100"].folders, marker=_SOURCES["cifar100"].marker,
    read=lambda folder, split: cifar.read_cifar100(folder, split, "coarse"),
    how_to_get=_SOURCES["cifar100"].how_to_get)

_EMBEDDED = "fashion-mnist-mini"


def available_datasets() -> list[str]:
    """The names :func:`load_dataset` accepts.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import data
    >>> 'fashion-mnist-mini' in data.available_datasets()
    True
    """
    return [_EMBEDDED, "digits", *_SOURCES]


def search_folders(name: str, data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Every folder :func:`load_dataset` tries for ``name``, in order (see module docstring).

    Examples
    --------
    >>> [str(p) for p in search_folders('mnist', data_dir='/data')][:3]
    ['/data/mnist', '/data/MNIST/raw', '/data']
    """
    source = _source(name)
    roots = [Path(root) for root in (data_dir, os.environ.get(DATA_ENV)) if root]
    folders = [root / sub for root in roots for sub in (*source.folders, ".")]
    if source.system_folder is not None:
        folders.append(Path(source.system_folder))
    return [Path(os.path.normpath(folder)) for folder in folders]


def _source(name: str) -> _Source:
    if name not in _SOURCES:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(available_datasets())}")
    return _SOURCES[name]


def load_dataset(name: str, split: str = "train",
                 data_dir: str | os.PathLike | None = None) -> ImageDataset:
    """Load a named dataset split from disk, or the embedded default.

    Parameters
    ----------
    name : str
        ``"fashion-mnist-mini"`` (embedded: 10,000 train / 2,000 test images, stratified),
        ``"digits"`` (embedded: 1,297 / 500 handwritten digits, 28x28, see ``data.digits``),
        ``"fashion-mnist"``, ``"mnist"``, ``"cifar10"``, ``"cifar100"`` (fine labels) or
        ``"cifar100-coarse"``.
    split : {"train", "test"}
    data_dir : str or os.PathLike, optional
        Looked in first (then ``$VISIONGRAD_DATA``, then the system location). Ignored for
        the embedded dataset.

    Returns
    -------
    ImageDataset
        ``images`` uint8 (N, C, H, W): (N, 1, 28, 28) for the MNIST family, (N, 3, 32, 32)
        for CIFAR; ``labels`` int64 (N,); ``classes``.

    Raises
    ------
    ValueError
        Unknown ``name`` or ``split``.
    FileNotFoundError
        The files are in none of the folders tried; the message lists them all and says
        how to get the data.
    DataFormatError
        The files found are damaged (the message names the file).

    Examples
    --------
    >>> train = load_dataset("fashion-mnist-mini")
    >>> train.images.shape, train.classes[0]
    ((10000, 1, 28, 28), 'T-shirt/top')
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if name == _EMBEDDED:
        return _load_embedded(split)
    if name == "digits":  # embedded handwritten digits (data/digits.py)
        return load_digits(split)
    source = _source(name)
    folders = search_folders(name, data_dir)
    for folder in folders:
        if any((folder / marker).is_file() for marker in source.marker(split)):
            return source.read(folder, split)
    unset = [] if data_dir else ["no data_dir given"]
    unset += [] if os.environ.get(DATA_ENV) else [f"{DATA_ENV} unset"]
    unset += [] if source.system_folder else [f"{name} has no system location"]
    listed = "".join(f"\n  {folder}" for folder in folders)
    tried = f"; looked in:{listed}" if folders else ""
    raise FileNotFoundError(f"{name} ({split} split) not found ({', '.join(unset) or 'no match'})"
                            f"{tried}.\nTo get it: {source.how_to_get}")


def _load_embedded(split: str) -> ImageDataset:
    """The Fashion-MNIST subset shipped in ``visiongrad/data/embedded`` (MIT licence)."""
    resource = resources.files(__package__).joinpath("embedded", EMBEDDED_FILES[split])
    with resources.as_file(resource) as path:
        if not path.is_file():
            raise FileNotFoundError(f"the embedded dataset file {path} is missing from this "
                                    "installation; rebuild it with "
                                    "scripts/build_embedded_dataset.py")
        dataset = readers.read_npz(path, classes=FASHION_MNIST_CLASSES)
    dataset.name = f"{_EMBEDDED}/{split}"
    return dataset
