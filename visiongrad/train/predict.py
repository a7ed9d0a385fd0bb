"""Batched prediction and evaluation of a classifier (eval mode, no graph), as the
Trainer and the commands score models."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from ..autograd import no_grad, tensor
from ..data.transform_base import ToFloat
from ..ops.activation import array_log_softmax
from .metrics import classification_scores


@contextlib.contextmanager
def evaluation_mode(model) -> Iterator[None]:
    """``model.eval()`` and ``no_grad`` inside, the model's previous mode restored after."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            yield
    finally:
        model.train(was_training)


def _model_input(images) -> np.ndarray:
    """Images as the model takes them: integer images to float32 in [0, 1] (as the
    ``DataLoader`` yields them), float ones as float32."""
    return ToFloat()(images)


def predict_logits(model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Class scores of ``model`` on ``x`` (N, C, H, W), in batches, eval mode, no graph.

    Integer images are scaled to [0, 1] first, as the ``DataLoader`` does.

    Returns
    -------
    ndarray, shape (N, num_classes)

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import train
    >>> import visiongrad as vg
    >>> from visiongrad import nn, optim
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    >>> x = np.random.default_rng(0).random((6, 1, 2, 2)).astype(np.float32)
    >>> y = np.array([0, 1, 2, 0, 1, 2])
    >>> train.predict_logits(model, x).shape
    (6, 3)
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    with evaluation_mode(model):
        batches = [np.asarray(model(tensor(_model_input(x[start:start + batch_size]))).data)
                   for start in range(0, len(x), batch_size)]
    if not batches:
        raise ValueError("cannot predict on an empty array of images")
    return np.concatenate(batches)


def predict_proba(model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Softmax class probabilities of ``model`` on ``x``, shape (N, num_classes), float64.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import train
    >>> import visiongrad as vg
    >>> from visiongrad import nn, optim
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    >>> x = np.random.default_rng(0).random((6, 1, 2, 2)).astype(np.float32)
    >>> y = np.array([0, 1, 2, 0, 1, 2])
    >>> np.round(train.predict_proba(model, x).sum(axis=1), 4)
    array([1., 1., 1., 1., 1., 1.])
    """
    return np.exp(array_log_softmax(predict_logits(model, x, batch_size).astype(np.float64), 1))


def evaluate(model, x: np.ndarray, y: np.ndarray, num_classes: int | None = None,
             batch_size: int = 256) -> dict:
    """Score ``model`` on images ``x`` (N, C, H, W) with labels ``y`` (N,).

    Returns the dict of :func:`classification_scores`: accuracy, loss, confusion matrix
    and per-class accuracy.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import train
    >>> import visiongrad as vg
    >>> from visiongrad import nn, optim
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    >>> x = np.random.default_rng(0).random((6, 1, 2, 2)).astype(np.float32)
    >>> y = np.array([0, 1, 2, 0, 1, 2])
    >>> sorted(train.evaluate(model, x, y))[:3]
    ['accuracy', 'confusion', 'loss']
    """
    return classification_scores(y, probabilities=predict_proba(model, x, batch_size),
                                 num_classes=num_classes)
