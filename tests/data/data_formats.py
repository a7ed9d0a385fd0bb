"""Writers of tiny files in the exact on-disk formats the readers take (test helpers)."""

from __future__ import annotations

import gzip
import io
import pickle
import struct
from pathlib import Path

import numpy as np
from PIL import Image

IDX_TYPE_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
                  np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D,
                  np.dtype(np.float64): 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX: magic 0x00 0x00 <type> <ndim>, big-endian uint32 sizes, big-endian data."""
    array = np.asarray(array)
    header = bytes([0, 0, IDX_TYPE_CODES[array.dtype], array.ndim])
    sizes = struct.pack(f">{array.ndim}I", *array.shape)
    return header + sizes + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_bytes(path: Path, content: bytes, compress: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(content) if compress else content)
    return path


def write_mnist_folder(folder: Path, n_train: int = 12, n_test: int = 5, compress: bool = True,
                       seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The four MNIST-layout files with random 6x5 images and labels 0..9."""
    rng = np.random.default_rng(seed)
    suffix = ".gz" if compress else ""
    written = {}
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        images = rng.integers(0, 256, (n, 6, 5), dtype=np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        write_bytes(folder / f"{prefix}-images-idx3-ubyte{suffix}", idx_bytes(images), compress)
        write_bytes(folder / f"{prefix}-labels-idx1-ubyte{suffix}", idx_bytes(labels), compress)
        written[split] = images, labels
    return written


class Py2Pickler(pickle._Pickler):
    """Protocol 2 as Python 2 wrote the CIFAR batches: byte strings as STRING opcodes,
    NumPy globals under ``numpy.core``."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_bytes(self, obj):
        size = len(obj)
        if size < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([size]) + obj)
        else:
            self.write(pickle.BINSTRING + size.to_bytes(4, "little") + obj)
        self.memoize(obj)

    def save_global(self, obj, name=None):
        module = obj.__module__.replace("numpy._core", "numpy.core")
        self.write(pickle.GLOBAL + f"{module}\n{name or obj.__qualname__}\n".encode())
        self.memoize(obj)

    dispatch[bytes] = save_bytes
    dispatch[type] = save_global


def py2_pickle(obj) -> bytes:
    buffer = io.BytesIO()
    Py2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def cifar_batch(n: int, label_key: bytes, num_classes: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {b"batch_label": b"training batch", label_key: rng.integers(0, num_classes, n).tolist(),
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"filenames": [f"image_{i}.png".encode() for i in range(n)]}


def write_cifar10_folder(folder: Path, per_batch: int = 4) -> Path:
    """``data_batch_1..5``, ``test_batch`` and ``batches.meta`` in CIFAR-10's format."""
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for seed, name in enumerate(names):
        (folder / name).write_bytes(py2_pickle(cifar_batch(per_batch, b"labels", 10, seed)))
    meta = {b"label_names": [name.encode() for name in CIFAR10_CLASSES], b"num_vis": 3072,
            b"num_cases_per_batch": per_batch}
    (folder / "batches.meta").write_bytes(py2_pickle(meta))
    return folder


def write_cifar100_folder(folder: Path, n: int = 6) -> Path:
    """``train``, ``test`` and ``meta`` in CIFAR-100's format (fine and coarse labels)."""
    folder.mkdir(parents=True, exist_ok=True)
    for seed, name in enumerate(("train", "test")):
        batch = cifar_batch(n, b"fine_labels", 100, seed)
        batch[b"coarse_labels"] = [label // 5 for label in batch[b"fine_labels"]]
        (folder / name).write_bytes(py2_pickle(batch))
    meta = {b"fine_label_names": [f"fine{i}".encode() for i in range(100)],
            b"coarse_label_names": [f"coarse{i}".encode() for i in range(20)]}
    (folder / "meta").write_bytes(py2_pickle(meta))
    return folder


CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]


def write_image(path: Path, array: np.ndarray, format: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format=format)
    return path
