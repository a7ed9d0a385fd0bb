"""Classification metrics on integer labels: accuracy, confusion matrix, per-class accuracy.

All functions take NumPy arrays of integer class indices of shape (N,): ``labels`` (the
truth) and ``predictions`` (for example ``probabilities.argmax(axis=1)``).
"""

from __future__ import annotations

import numpy as np


def _check_pair(labels: np.ndarray, predictions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    if labels.shape != predictions.shape or labels.ndim != 1:
        raise ValueError(f"labels and predictions must be 1-D of the same length, got shapes "
                         f"{labels.shape} and {predictions.shape}")
    if labels.dtype.kind not in "iu" or predictions.dtype.kind not in "iu":
        raise TypeError(f"labels and predictions must be integers, got dtypes {labels.dtype} "
                        f"and {predictions.dtype}")
    return labels, predictions


def accuracy(labels: np.ndarray, predictions: np.ndarray) -> float:
    """Fraction of ``predictions`` equal to ``labels`` (``nan`` for empty input)."""
    labels, predictions = _check_pair(labels, predictions)
    return float(np.mean(labels == predictions)) if labels.size else float("nan")


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray,
                     num_classes: int | None = None) -> np.ndarray:
    """Counts of (true class, predicted class) pairs.

    Parameters
    ----------
    labels, predictions : ndarray of int, shape (N,)
    num_classes : int, optional
        Number of classes C; by default one more than the largest label or prediction.

    Returns
    -------
    ndarray of int64, shape (C, C)
        ``matrix[i, j]`` is the number of examples of true class ``i`` predicted as ``j``
        (rows are the truth, as ``plots.plot_confusion_matrix`` draws it).
    """
    labels, predictions = _check_pair(labels, predictions)
    largest = int(max(labels.max(initial=-1), predictions.max(initial=-1)))
    if num_classes is None:
        num_classes = largest + 1
    if largest >= num_classes or (labels.size and min(labels.min(), predictions.min()) < 0):
        raise ValueError(f"labels and predictions must lie in [0, {num_classes}), "
                         f"got values from {min(labels.min(), predictions.min())} to {largest}")
    flat = labels.astype(np.int64) * num_classes + predictions
    return np.bincount(flat, minlength=num_classes**2).reshape(num_classes, num_classes)


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    """Recall of each class from a confusion matrix: ``diag / row sums``.

    Classes with no example get ``nan``.
    """
    confusion = np.asarray(confusion)
    totals = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(confusion) / totals, np.nan)
