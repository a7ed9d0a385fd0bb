"""The base of the batch transforms: the random-transform class, ``Compose``, ``ToFloat``
and the argument helpers shared by :mod:`~visiongrad.data.transforms` and
:mod:`~visiongrad.data.affine` (the contract is in ``transforms``' docstring)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

from ..random import GeneratorLike, as_generator, optional_generator


def _check_batch(images) -> np.ndarray:
    if not isinstance(images, np.ndarray) or images.ndim != 4:
        shape = getattr(images, "shape", None)
        raise ValueError(f"transforms take a batch of images of shape (N, C, H, W), got "
                         f"{type(images).__name__} of shape {shape}")
    return images


def _pair(value, name: str) -> tuple:
    """``value`` as a pair: a number ``v`` means ``(v, v)``."""
    pair = (value, value) if np.isscalar(value) else tuple(value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be a number or a pair, got {value!r}")
    return pair


def _interval(value, name: str, centre: float = 0.0, lowest: float = -np.inf) -> tuple:
    """A sampling range: a number ``v`` means ``(centre - v, centre + v)`` (floored at
    ``lowest``), a pair is taken as is; ``lo <= hi`` is checked."""
    if np.isscalar(value):
        if value < 0:
            raise ValueError(f"{name} must be non-negative, got {value}")
        low, high = max(centre - value, lowest), centre + value
    else:
        low, high = _pair(value, name)
    if not low <= high:
        raise ValueError(f"{name} range must have low <= high, got ({low}, {high})")
    return float(low), float(high)


def _cast_like(values: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``values`` in ``like``'s dtype: integers rounded and clipped into the dtype's range."""
    if np.issubdtype(like.dtype, np.integer):
        info = np.iinfo(like.dtype)
        values = np.clip(np.rint(values), info.min, info.max)
    return values.astype(like.dtype, copy=False)


def _float_dtype(images: np.ndarray) -> np.dtype:
    """float64 for float64 images, else float32: the precision transforms compute in."""
    return np.dtype(np.float64 if images.dtype == np.float64 else np.float32)


class RandomTransform:
    """Base of the random transforms: resolves the generator, checks the batch.

    Subclasses implement ``apply(images, rng) -> images`` for a checked (N, C, H, W) batch.
    """

    def __init__(self, rng: GeneratorLike = None):
        self.rng = optional_generator(rng)

    def __call__(self, images: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        generator = self.rng if self.rng is not None else as_generator(rng)
        return self.apply(_check_batch(images), generator)

    def apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        shown = {key: value for key, value in vars(self).items() if key != "rng"}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


class Compose:
    """Apply ``transforms`` in order: ``Compose([a, b])(x) == b(a(x))``.

    Random transforms (and nested ``Compose``) receive the call's ``rng``; any other step
    is called as ``step(images)``.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import data
    >>> pipeline = data.Compose([lambda x: x + 1, lambda x: x * 10])
    >>> pipeline(np.array([1, 2]))
    array([20, 30])
    """

    def __init__(self, transforms: Sequence[Callable]):
        self.transforms = list(transforms)
        for step in self.transforms:
            if not callable(step):
                raise TypeError(f"every step of Compose must be callable, got {step!r}")

    def __call__(self, images: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        for step in self.transforms:
            images = apply_transform(step, images, rng)
        return images

    def __repr__(self) -> str:
        return "Compose([" + ", ".join(map(repr, self.transforms)) + "])"


def apply_transform(transform: Callable, images: np.ndarray,
                    rng: np.random.Generator | None = None) -> np.ndarray:
    """``transform(images, rng)`` for random transforms and ``Compose``, else
    ``transform(images)`` (any plain callable, e.g. a fitted preprocessing object)."""
    if isinstance(transform, (RandomTransform, Compose)):
        return transform(images, rng)
    return transform(images)



def random_transforms(transform: Callable | None) -> Iterator[RandomTransform]:
    """Every :class:`RandomTransform` in ``transform``, nested ``Compose`` included, in order."""
    if isinstance(transform, RandomTransform):
        yield transform
    elif isinstance(transform, Compose):
        for step in transform.transforms:
            yield from random_transforms(step)


class ToFloat:
    """Integer images to float32 in [0, 1]: ``out = x / max(dtype)`` (255 for uint8).

    What torchvision's ``ToTensor`` does to pixel values (the layout is already NCHW
    here); float images pass through as float32 unchanged. The ``DataLoader`` applies it
    to integer batches by default (its ``to_float``).
    """

    def __call__(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        if np.issubdtype(images.dtype, np.integer):
            return (images / np.float32(np.iinfo(images.dtype).max)).astype(np.float32)
        if not np.issubdtype(images.dtype, np.floating):
            raise TypeError(f"ToFloat takes integer or float images, got dtype {images.dtype}")
        return images.astype(np.float32, copy=False)

    def __repr__(self) -> str:
        return "ToFloat()"
