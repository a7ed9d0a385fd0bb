"""Train/validation splits and k-fold cross-validation, stratified and seeded.

All functions return (or yield) sorted index arrays into the data, or the arrays those
indices select, so a memory-mapped dataset is read only where it is used. Randomness
comes from ``rng`` (a Generator or an int seed) or else ``visiongrad.random.get_generator()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from ..random import GeneratorLike, as_generator

__all__ = ["train_val_indices", "train_val_split", "KFold", "cross_validate"]


def _labels(labels) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
    return labels


def _class_sorted_order(labels: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    """A permutation listing the examples class by class (shuffled within each class when
    ``rng`` is given, else in their original order)."""
    order = np.arange(len(labels)) if rng is None else rng.permutation(len(labels))
    return order[np.argsort(labels[order], kind="stable")]


def train_val_indices(labels, val_fraction: float = 0.1, stratify: bool = True,
                      rng: GeneratorLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Random indices ``(train, val)`` holding out ``val_fraction`` of the examples.

    Stratified (the default), every class ``c`` with ``n_c`` examples sends
    ``round(n_c * val_fraction)`` of them, drawn at random, to validation, so both parts
    keep the class proportions; otherwise ``round(N * val_fraction)`` random examples go.

    Parameters
    ----------
    labels : array_like, shape (N,)
    val_fraction : float
        In (0, 1).
    stratify : bool
    rng : numpy.random.Generator or int, optional

    Returns
    -------
    train, val : numpy.ndarray of intp
        Sorted, disjoint, together ``0 .. N - 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import data
    >>> train, val = data.train_val_indices(np.repeat([0, 1], 10), val_fraction=0.2, rng=0)
    >>> len(train), len(val), sorted(np.repeat([0, 1], 10)[val])
    (16, 4, [np.int64(0), np.int64(0), np.int64(1), np.int64(1)])
    """
    labels = _labels(labels)
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie in (0, 1), got {val_fraction}")
    rng = as_generator(rng)
    n = len(labels)
    if stratify:
        order = _class_sorted_order(labels, rng)
        classes, starts, counts = np.unique(labels[order], return_index=True, return_counts=True)
        class_of = np.searchsorted(classes, labels[order])
        rank_in_class = np.arange(n) - starts[class_of]
        is_val = rank_in_class < np.rint(counts * val_fraction)[class_of]
        val = order[is_val]
    else:
        val = rng.permutation(n)[:int(np.rint(n * val_fraction))]
    if len(val) == 0 or len(val) == n:
        raise ValueError(f"val_fraction={val_fraction} of {n} examples leaves "
                         f"{'no validation' if len(val) == 0 else 'no training'} examples")
    is_val_example = np.zeros(n, dtype=bool)
    is_val_example[val] = True
    return np.flatnonzero(~is_val_example), np.flatnonzero(is_val_example)


def train_val_split(images, labels, val_fraction: float = 0.1, stratify: bool = True,
                    rng: GeneratorLike = None):
    """Split arrays into training and validation parts (see :func:`train_val_indices`).

    Parameters
    ----------
    images : array_like, shape (N, ...)
    labels : array_like, shape (N,)

    Returns
    -------
    x_train, y_train, x_val, y_val : numpy.ndarray
        In the original order within each part.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import data
    >>> images, labels = np.arange(20).reshape(20, 1), np.repeat([0, 1], 10)
    >>> parts = data.train_val_split(images, labels, val_fraction=0.2, rng=0)
    >>> x_train, y_train, x_val, y_val = parts
    >>> x_train.shape, x_val.shape, np.bincount(y_val)
    ((16, 1), (4, 1), array([2, 2]))
    """
    labels = _labels(labels)
    if len(images) != len(labels):
        raise ValueError(f"images of shape {np.shape(images)} and labels of shape "
                         f"{labels.shape} disagree on the number of examples")
    train, val = train_val_indices(labels, val_fraction, stratify, rng)
    return images[train], labels[train], images[val], labels[val]


class KFold:
    """K-fold cross-validation: each of ``n_splits`` folds is the validation set once.

    Examples are assigned to folds once per :meth:`split` call. Unstratified, the (shuffled)
    examples are cut into ``n_splits`` contiguous folds of sizes differing by at most one,
    as in the course (``np.array_split``). Stratified, the examples are listed class by
    class and dealt to the folds in turn, so every fold holds ``n_c / n_splits`` (+- 1)
    examples of each class ``c``.

    Parameters
    ----------
    n_splits : int
        At least 2.
    shuffle : bool
        Shuffle before assigning folds (with ``rng``); otherwise folds follow the data order.
    stratify : bool
    rng : numpy.random.Generator or int, optional
        Default ``visiongrad.random.get_generator()``.

    Examples
    --------
    >>> for train, val in KFold(5, rng=0).split(labels):   # doctest: +SKIP
    ...     model.fit(x[train], labels[train]); scores.append(model.score(x[val], labels[val]))
    """

    def __init__(self, n_splits: int = 5, shuffle: bool = True, stratify: bool = False,
                 rng: GeneratorLike = None):
        if n_splits < 2:
            raise ValueError(f"n_splits must be at least 2, got {n_splits}")
        self.n_splits, self.shuffle, self.stratify, self.rng = n_splits, shuffle, stratify, rng

    def fold_of(self, labels) -> np.ndarray:
        """The fold number (0 .. n_splits - 1) of every example, shape (N,)."""
        labels = _labels(labels)
        n = len(labels)
        if n < self.n_splits:
            raise ValueError(f"cannot make {self.n_splits} folds of {n} examples")
        rng = as_generator(self.rng) if self.shuffle else None
        if self.stratify:
            order, fold_at = _class_sorted_order(labels, rng), np.arange(n) % self.n_splits
        else:
            order = np.arange(n) if rng is None else rng.permutation(n)
            fold_at = np.arange(n) * self.n_splits // n
        folds = np.empty(n, dtype=np.intp)
        folds[order] = fold_at
        return folds

    def split(self, labels) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train_indices, val_indices)`` for each fold, both sorted."""
        folds = self.fold_of(labels)
        for fold in range(self.n_splits):
            yield np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)

    def __repr__(self) -> str:
        return (f"KFold(n_splits={self.n_splits}, shuffle={self.shuffle}, "
                f"stratify={self.stratify})")


def cross_validate(score: Callable, images, labels, n_splits: int = 5, stratify: bool = True,
                   rng: GeneratorLike = None) -> np.ndarray:
    """The course's cross-validation: score each fold as validation after training on the rest.

    Parameters
    ----------
    score : callable
        ``score(x_train, y_train, x_val, y_val) -> float``, e.g. fit a classifier and return
        its validation accuracy.
    images : array_like, shape (N, ...)
    labels : array_like, shape (N,)
    n_splits, stratify, rng
        As for :class:`KFold` (shuffled).

    Returns
    -------
    numpy.ndarray, shape (n_splits,)
        One score per fold; their mean is the cross-validated estimate.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import data
    >>> images, labels = np.zeros((20, 1)), np.repeat([0, 1], 10)
    >>> majority = lambda x_train, y_train, x_val, y_val: float(np.mean(y_val == 0))
    >>> np.round(data.cross_validate(majority, images, labels, n_splits=5, rng=0), 2)
    array([0.5, 0.5, 0.5, 0.5, 0.5])
    """
    labels = _labels(labels)
    if len(images) != len(labels):
        raise ValueError(f"images of shape {np.shape(images)} and labels of shape "
                         f"{labels.shape} disagree on the number of examples")
    folds = KFold(n_splits, shuffle=True, stratify=stratify, rng=rng)
    return np.array([score(images[train], labels[train], images[val], labels[val])
                     for train, val in folds.split(labels)], dtype=np.float64)
