"""The dataset object every reader returns: images, labels and class names together."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["ImageDataset"]


class ImageDataset:
    """Images with integer labels and class names, as arrays (no copy of ``images``).

    Parameters
    ----------
    images : array_like, shape (N, C, H, W) or (N, H, W)
        Every reader gives uint8 in 0..255; arrays built by hand may have any real dtype.
        A 3-D array gets a channel axis, (N, 1, H, W). A ``numpy.memmap`` (for example
        ``np.load(path, mmap_mode="r")``) stays memory-mapped: nothing is read until indexed.
    labels : array_like of int, shape (N,)
        Stored as int64; each must index into ``classes``.
    classes : sequence of str, optional
        Class names, ``classes[label]``. Default ``"0" .. str(max(labels))``.
    name : str, optional
        Shown by ``repr``.

    Attributes
    ----------
    images : numpy.ndarray, shape (N, C, H, W)
    labels : numpy.ndarray of int64, shape (N,)
    classes : list of str

    Notes
    -----
    ``dataset[i]`` is the pair ``(image (C, H, W), label)``; ``dataset[slice]`` or
    ``dataset[index_array]`` is a new ``ImageDataset`` holding those examples, in that order.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import data
    >>> images, labels = np.zeros((4, 1, 2, 2), np.uint8), np.array([0, 1, 0, 1])
    >>> ds = data.ImageDataset(images, labels, classes=['a', 'b'])
    >>> len(ds), ds.images.shape, ds.classes
    (4, (4, 1, 2, 2), ['a', 'b'])
    """

    def __init__(self, images, labels, classes: Sequence[str] | None = None,
                 name: str | None = None):
        images = images if isinstance(images, np.ndarray) else np.asarray(images)
        if images.ndim == 3:
            images = images[:, None]
        if images.ndim != 4:
            raise ValueError(f"images must have shape (N, C, H, W) or (N, H, W), got "
                             f"{images.shape}")
        labels = np.asarray(labels)
        if labels.ndim != 1 or not (np.issubdtype(labels.dtype, np.integer) or labels.size == 0):
            raise ValueError(f"labels must be a 1-D integer array, got shape {labels.shape} "
                             f"and dtype {labels.dtype}")
        if len(labels) != len(images):
            raise ValueError(f"images of shape {images.shape} and labels of shape "
                             f"{labels.shape} disagree on the number of examples")
        labels = labels.astype(np.int64, copy=False)
        if classes is None:
            classes = [str(index) for index in range(int(labels.max(initial=-1)) + 1)]
        classes = [str(name) for name in classes]
        if len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
            raise ValueError(f"labels must lie in 0..{len(classes) - 1} ({len(classes)} classes), "
                             f"got {labels.min()}..{labels.max()}")
        self.images, self.labels, self.classes, self.name = images, labels, classes, name

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            return self.images[index], int(self.labels[index])
        return ImageDataset(self.images[index], self.labels[index], self.classes, name=self.name)

    @property
    def shape(self) -> tuple[int, int, int]:
        """The shape (C, H, W) of one image."""
        return tuple(self.images.shape[1:])

    def __repr__(self) -> str:
        title = f"{self.name!r}, " if self.name else ""
        return (f"ImageDataset({title}{len(self)} images of {self.shape} {self.images.dtype}, "
                f"{len(self.classes)} classes)")
