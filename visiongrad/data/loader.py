"""``DataLoader``: minibatches of (images, labels), shuffled, transformed, optionally
prefetched by a background thread (the course's "use CPU threads to prefetch data")."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

import numpy as np

from ..accel.prefetch import prefetched
from ..random import GeneratorLike, as_generator, optional_generator
from .transforms import ToFloat, apply_transform, random_transforms

__all__ = ["DataLoader"]


class DataLoader:
    """Iterate over a dataset in minibatches ``(x_batch, y_batch)`` of NumPy arrays.

    Parameters
    ----------
    data : ImageDataset or (images, labels)
        Anything with ``.images`` and ``.labels``, or a pair of arrays with the same first
        axis. Images are only indexed one batch at a time, so a memory-mapped ``.npy``
        (``np.load(path, mmap_mode="r")``) is never read or copied whole.
    batch_size : int
    shuffle : bool
        A new random order every epoch (every ``iter``); otherwise the data order.
    drop_last : bool
        Leave out the last batch when it is smaller than ``batch_size``.
    transform : callable, optional
        ``images (B, C, H, W) -> array``, applied to each batch, e.g. a
        ``transforms.Compose`` of augmentations ending in a fitted preprocessing object.
    prefetch : bool or int
        Build the next batch(es) in a background thread while the caller works on the
        current one; an int sets how many batches may wait (``True`` means 1).
    rng : numpy.random.Generator or int, optional
        Source of each epoch's randomness; default ``visiongrad.random.get_generator()``.
    to_float : bool
        Batches that are still integers after ``transform`` (the uint8 images every reader
        gives) are yielded as float32 in [0, 1] (:class:`~.transforms.ToFloat`), ready
        for a model; ``False`` yields them as stored.

    Yields
    ------
    x_batch : numpy.ndarray, shape (B, ...)
        float32 in [0, 1] for integer images (with ``to_float``), else whatever
        ``transform`` returns (float32 for the preprocessing objects).
    y_batch : numpy.ndarray of int64, shape (B,)

    Notes
    -----
    Reproducibility: at the start of each epoch one child generator is drawn from ``rng``
    (or the library's generator); the shuffle order and every random transform without
    its own ``rng`` draw from it. A given seed therefore gives the same batches with or
    without ``prefetch``, whatever the training loop draws meanwhile.

    Exact resume: :meth:`state_dict` holds the state of ``rng`` and of every random
    transform built with its own ``rng``; the :class:`~visiongrad.train.Trainer` stores it
    in its checkpoints (a loader drawing from the library's generator needs nothing more,
    since checkpoints hold that generator).

    ``len(loader)`` is ``ceil(N / batch_size)``, or ``floor(N / batch_size)`` with
    ``drop_last``.

    Data-parallel training reads through :meth:`sharded`: every rank draws the same
    global batches (same generators) and reads only its contiguous part of each.

    NOTE: unlike PyTorch's ``DataLoader``, which yields what the dataset returns, integer
    images are converted to float as torchvision's ``ToTensor`` would (``to_float``).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import data
    >>> ds = data.ImageDataset(np.zeros((10, 1, 2, 2), np.uint8), np.arange(10))
    >>> loader = data.DataLoader(ds, batch_size=4)
    >>> [labels.tolist() for images, labels in loader]
    [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    """

    def __init__(self, data, batch_size: int = 64, shuffle: bool = False,
                 drop_last: bool = False, transform: Callable | None = None,
                 prefetch: bool | int = False, rng: GeneratorLike = None,
                 to_float: bool = True):
        images, labels = (data.images, data.labels) if hasattr(data, "images") else data
        self.images = images if isinstance(images, np.ndarray) else np.asarray(images)
        self.labels = np.asarray(labels)
        if self.labels.ndim != 1 or len(self.labels) != len(self.images):
            raise ValueError(f"images of shape {self.images.shape} and labels of shape "
                             f"{self.labels.shape} do not pair up (labels must be (N,))")
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable, got {transform!r}")
        depth = int(prefetch)
        if depth < 0:
            raise ValueError(f"prefetch must be a bool or a non-negative int, got {prefetch!r}")
        self.batch_size, self.shuffle, self.drop_last = int(batch_size), shuffle, drop_last
        self.transform, self.prefetch, self.rng = transform, depth, optional_generator(rng)
        self.to_float = bool(to_float)
        self.shard_of: tuple[int, int] | None = None  # (rank, world size), see sharded

    def sharded(self, rank: int, world_size: int) -> DataLoader:
        """This loader as rank ``rank`` of ``world_size`` data-parallel ranks reads it.

        ``batch_size`` stays the global batch: the shard yields examples
        ``[B r // K, B (r + 1) // K)`` of each global batch of B examples (K ranks), so the
        K shards together are exactly the unsharded loader's batches, in its order (its
        shuffle depends only on the generators, never on K). The shard shares this
        loader's generators and transforms (its ``state_dict`` is this loader's); a random
        transform draws for the shard's examples only, so augmentation (not the order)
        depends on K. A last global batch with fewer examples than ranks is left out.
        """
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, world_size={world_size}), got {rank}")
        if self.batch_size < world_size:
            raise ValueError(f"batch_size {self.batch_size} is smaller than the {world_size} "
                             f"ranks; each rank needs at least one example per batch")
        shard = copy.copy(self)
        shard.shard_of = (int(rank), int(world_size))
        return shard

    def __len__(self) -> int:
        full, rest = divmod(len(self.labels), self.batch_size)
        ranks = self.shard_of[1] if self.shard_of is not None else 1
        return full if self.drop_last or rest < ranks else full + 1

    def _epoch_generator(self) -> np.random.Generator:
        parent = self.rng if self.rng is not None else as_generator(None)
        return np.random.default_rng(parent.integers(0, 2**63))

    def _batches(self, order: np.ndarray | None, rng: np.random.Generator
                 ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for number in range(len(self)):
            start = number * self.batch_size
            stop = min(start + self.batch_size, len(self.labels))
            if self.shard_of is not None:
                rank, ranks = self.shard_of
                start, stop = (start + (stop - start) * rank // ranks,
                               start + (stop - start) * (rank + 1) // ranks)
            if order is None:
                window = slice(start, stop)
                images, labels = np.array(self.images[window]), self.labels[window]
            else:
                index = order[start:stop]
                images, labels = np.asarray(self.images[index]), self.labels[index]
            if self.transform is not None:
                images = apply_transform(self.transform, images, rng)
            if self.to_float and np.issubdtype(np.asarray(images).dtype, np.integer):
                images = ToFloat()(images)
            yield images, labels

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        rng = self._epoch_generator() if self.shuffle or self.transform is not None else None
        order = rng.permutation(len(self.labels)) if self.shuffle else None
        batches = self._batches(order, rng)
        return prefetched(batches, self.prefetch) if self.prefetch else batches

    def _generators(self) -> list[np.random.Generator]:
        """Every generator of its own: ``rng`` (if given), then the transforms' in order."""
        own = [] if self.rng is None else [self.rng]
        return own + [step.rng for step in random_transforms(self.transform)
                      if step.rng is not None]

    def state_dict(self) -> dict:
        """The state of the loader's own generators (``rng`` and the transforms' ``rng``).

        Together with ``visiongrad.random.get_state()`` this fixes every later epoch's
        order and augmentation; empty lists when all randomness is the library's.
        """
        return {"generators": [g.bit_generator.state for g in self._generators()]}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned (from a loader built the same way)."""
        generators, saved = self._generators(), list(state.get("generators", []))
        if len(saved) != len(generators):
            raise ValueError(f"the loader state holds {len(saved)} generator state(s) but "
                             f"this loader has {len(generators)} generator(s) of its own; "
                             f"build it as the one that was saved")
        for generator, generator_state in zip(generators, saved, strict=True):
            generator.bit_generator.state = generator_state

    def __repr__(self) -> str:
        return (f"DataLoader({len(self.labels)} examples, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, "
                f"transform={self.transform!r}, prefetch={self.prefetch})")

