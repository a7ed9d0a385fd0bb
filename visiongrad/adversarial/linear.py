"""The linear case of the lecture: adversarial examples reach linear models too.

For scores s = W x + b, a change d moves the margin of class y over class j by
(w_y - w_j)^T d, so d = -eps sign(w_y - w_j) lowers it by exactly eps |w_y - w_j|_1: in
D dimensions a change of eps per pixel moves a score by eps times a sum of D terms. The
gradient of the classifier's loss has a closed form too,

    softmax:  dL/dX = (P - Y) W / N                   P = softmax(X W^T + b), Y one-hot
    SVM:      dL/dX = G W / N,  G_ij = [s_j - s_y + delta > 0] (j != y), G_iy = -sum_j G_ij

and FGSM is x + eps sign(dL/dx). :class:`LinearScores` turns a fitted ``Softmax`` or
``LinearSVM`` into a module, so every attack of this package runs on it as well, with
:func:`linear_loss` as its loss.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from .. import functional as F
from .. import nn
from .arguments import check_box, check_images, check_positive


class LinearScores(nn.Module):
    """A fitted classic linear classifier as a module: images (N, ...) -> X W^T + b (N, C).

    Parameters
    ----------
    classifier : visiongrad.classic.Softmax or LinearSVM, fitted (``W_`` (C, D), ``b_``)

    Examples
    --------
    >>> from visiongrad.adversarial import LinearScores
    >>> from visiongrad.classic import Softmax
    >>> rng = np.random.default_rng(0)
    >>> images = rng.random((20, 1, 2, 2))
    >>> labels = (images.reshape(20, 4).sum(axis=1) > 2).astype(int)   # bright or dark
    >>> classifier = Softmax().fit(images.reshape(20, 4), labels)
    >>> LinearScores(classifier)(vg.tensor(images)).shape
    (20, 2)
    """

    def __init__(self, classifier):
        super().__init__()
        if not hasattr(classifier, "W_"):
            raise ValueError(f"{type(classifier).__name__} is not fitted: call fit first")
        self.weight = nn.Parameter(np.array(classifier.W_, dtype=np.float32))
        self.bias = nn.Parameter(np.array(classifier.b_, dtype=np.float32))

    def forward(self, x):
        return F.linear(x.reshape(len(x), -1), self.weight, self.bias)


def linear_loss(classifier):
    """The loss ``classifier`` was trained on, as ``loss_fn(scores, labels)`` for the
    attacks: cross-entropy for ``Softmax``, the multiclass hinge (margin ``delta``) for
    ``LinearSVM``.

    Examples
    --------
    >>> from visiongrad.adversarial import linear_loss
    >>> from visiongrad.classic import Softmax
    >>> rng = np.random.default_rng(0)
    >>> images = rng.random((20, 1, 2, 2))
    >>> labels = (images.reshape(20, 4).sum(axis=1) > 2).astype(int)   # bright or dark
    >>> classifier = Softmax().fit(images.reshape(20, 4), labels)
    >>> from visiongrad.adversarial import LinearScores
    >>> loss = linear_loss(classifier)
    >>> scores = LinearScores(classifier)(vg.tensor(images))
    >>> loss(scores, labels).shape
    ()
    """
    delta = getattr(classifier, "delta", None)
    return F.cross_entropy if delta is None else partial(F.multiclass_hinge, margin=delta)


def class_indices(classifier, labels) -> np.ndarray:
    """``labels`` (values of ``classifier.classes_``) as indices into its classes."""
    labels = np.asarray(labels)
    classes = classifier.classes_
    index = np.clip(np.searchsorted(classes, labels), 0, len(classes) - 1)
    if labels.ndim != 1 or not np.array_equal(classes[index], labels):
        unknown = sorted(set(labels.ravel().tolist()) - set(classes.tolist()))
        raise ValueError(f"labels must be among the classifier's classes "
                         f"{classes.tolist()}, got {unknown or labels.shape}")
    return index


def linear_loss_gradient(classifier, images, labels) -> np.ndarray:
    """dL/dX of the classifier's own mean loss, in closed form (module docstring), shaped
    like ``images``; float64.

    Examples
    --------
    >>> from visiongrad.adversarial import linear_loss_gradient
    >>> from visiongrad.classic import Softmax
    >>> rng = np.random.default_rng(0)
    >>> images = rng.random((20, 1, 2, 2))
    >>> labels = (images.reshape(20, 4).sum(axis=1) > 2).astype(int)   # bright or dark
    >>> classifier = Softmax().fit(images.reshape(20, 4), labels)
    >>> linear_loss_gradient(classifier, images, labels).shape
    (20, 1, 2, 2)
    """
    X = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    y = class_indices(classifier, labels)
    W, b = classifier.W_.astype(np.float64), classifier.b_.astype(np.float64)
    scores, rows = X @ W.T + b, np.arange(len(X))
    delta = getattr(classifier, "delta", None)
    if delta is None:
        G = np.exp(scores - scores.max(axis=1, keepdims=True))
        G /= G.sum(axis=1, keepdims=True)
        G[rows, y] -= 1
    else:
        G = (scores - scores[rows, y][:, None] + delta > 0).astype(np.float64)
        G[rows, y] = 0
        G[rows, y] = -G.sum(axis=1)
    return (G @ W / len(X)).reshape(np.shape(images))


def linear_fgsm(classifier, images, labels, eps, box=(0.0, 1.0)) -> np.ndarray:
    """FGSM on a linear classifier from the closed-form gradient (no autograd):
    clip(x + eps sign(dL/dx), lo, hi), the shape and dtype of ``images``.

    Examples
    --------
    >>> from visiongrad.adversarial import linear_fgsm
    >>> from visiongrad.classic import Softmax
    >>> rng = np.random.default_rng(0)
    >>> images = rng.random((20, 1, 2, 2))
    >>> labels = (images.reshape(20, 4).sum(axis=1) > 2).astype(int)   # bright or dark
    >>> classifier = Softmax().fit(images.reshape(20, 4), labels)
    >>> adversarial = linear_fgsm(classifier, images, labels, eps=0.1)
    >>> adversarial.shape, bool(np.abs(adversarial - images).max() <= 0.1 + 1e-9)
    ((20, 1, 2, 2), True)
    """
    lo, hi = check_box(box)
    x = check_images(images, (lo, hi))
    eps = check_positive("eps", eps)
    step = eps * np.sign(linear_loss_gradient(classifier, x, labels))
    return np.clip(x + step.astype(x.dtype), lo, hi).astype(x.dtype, copy=False)
