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
    """Fraction of ``predictions`` equal to ``labels`` (``nan`` for empty input).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import train
    >>> train.accuracy(np.array([0, 1, 2, 2]), np.array([0, 1, 1, 2]))
    0.75
    """
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

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import train
    >>> train.confusion_matrix(np.array([0, 1, 1]), np.array([0, 1, 0]), num_classes=2)
    array([[1, 0],
           [1, 1]])
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

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import train
    >>> train.per_class_accuracy(np.array([[3, 1], [0, 2]]))
    array([0.75, 1.  ])
    """
    confusion = np.asarray(confusion)
    totals = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(confusion) / totals, np.nan)


def classification_scores(labels: np.ndarray, *, predictions: np.ndarray | None = None,
                          probabilities: np.ndarray | None = None,
                          num_classes: int | None = None) -> dict:
    """Accuracy, confusion matrix, per-class accuracy and, from probabilities, the loss.

    The one scoring function of the library: the Trainer, the ensembles and every command
    of the CLI report these keys.

    Parameters
    ----------
    labels : ndarray of int, shape (N,)
    predictions : ndarray of int, shape (N,), optional
        Predicted classes; by default ``probabilities.argmax(axis=1)``.
    probabilities : ndarray, shape (N, C), optional
        Predicted class probabilities (rows sum to 1); give this or ``predictions``.
    num_classes : int, optional
        Defaults to ``probabilities.shape[1]``, else one more than the largest class seen.

    Returns
    -------
    dict
        ``"accuracy"`` (float), ``"confusion"`` (int array (C, C), rows are true classes),
        ``"per_class_accuracy"`` (float array (C,)) and, with ``probabilities``, ``"loss"``
        (float, the mean cross-entropy ``mean(-log p[label])``).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import train
    >>> scores = train.classification_scores(np.array([0, 1, 1]), predictions=np.array([0, 1, 0]))
    >>> round(scores['accuracy'], 4), scores['confusion'].shape
    (0.6667, (2, 2))
    """
    labels = np.asarray(labels)
    if (predictions is None) == (probabilities is None):
        raise ValueError("give predictions or probabilities (exactly one)")
    if probabilities is not None:
        probabilities = np.asarray(probabilities)
        if probabilities.ndim != 2 or len(probabilities) != len(labels):
            raise ValueError(f"probabilities of shape {probabilities.shape} do not match "
                             f"labels of shape {labels.shape}")
        predictions = probabilities.argmax(axis=1)
        num_classes = probabilities.shape[1] if num_classes is None else num_classes
    confusion = confusion_matrix(labels, predictions, num_classes)
    scores = {"accuracy": accuracy(labels, predictions), "confusion": confusion,
              "per_class_accuracy": per_class_accuracy(confusion)}
    if probabilities is not None:
        picked = probabilities[np.arange(len(labels)), labels].astype(np.float64)
        scores["loss"] = float(np.mean(-np.log(np.maximum(picked, np.finfo(np.float64).tiny))))
    return scores
