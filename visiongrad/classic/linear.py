"""Linear classifiers: the multiclass SVM and softmax, with hand-derived gradients.

Score function, for a sample x (D,) and weights W (C, D), b (C,):  s = W x + b,
so each row of W is a template the size of the input (an image, for image input).

Losses over a batch X (N, D), labels y (N,), scores S = X W^T + b (N, C):

    SVM (margin delta):  L = 1/N sum_i sum_{j != y_i} max(0, S_ij - S_iy_i + delta)
    softmax:             L = 1/N sum_i -log(exp(S_iy_i) / sum_j exp(S_ij))

Their gradients with respect to the scores, G = dL/dS (N, C):

    SVM:      G_ij = 1[S_ij - S_iy_i + delta > 0] / N for j != y_i,
              G_iy_i = -sum_{j != y_i} G_ij
    softmax:  G_ij = (P_ij - 1[j = y_i]) / N,  P = softmax(S) row by row

and then dW = G^T X, db = sum_i G_i. Regularisation (the bias is not regularised), with
strength ``reg`` and mixing ``l1_ratio`` = rho:

    R(W) = reg * (rho * sum |W| + (1 - rho) * sum W^2)
    dR/dW = reg * (rho * sign(W) + 2 (1 - rho) W)

``penalty="l2"`` is rho = 0, ``"l1"`` is rho = 1, ``"elasticnet"`` uses ``l1_ratio``.
At initialisation with small weights every score is about 0, so the softmax loss is about
log(C) and the SVM loss about (C - 1) delta.

Each loss has a loop version (one sample, one class at a time, as derived on paper; the
reference in tests) and a vectorised version (what training uses).
"""

from __future__ import annotations

import numpy as np

from ..random import as_generator
from .base import (
    BaseEstimator,
    ClassifierMixin,
    as_2d,
    check_labels,
    check_param,
)

PENALTIES = ("l2", "l1", "elasticnet")


def regularization(W: np.ndarray, reg: float, penalty: str = "l2",
                   l1_ratio: float = 0.5) -> tuple[float, np.ndarray]:
    """R(W) and dR/dW for the penalty (formulas in the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import classic
    >>> R, dW = classic.regularization(np.array([[1.0, -2.0]]), reg=0.5)
    >>> R, dW
    (2.5, array([[ 1., -2.]]))
    """
    if penalty not in PENALTIES:
        raise ValueError(f"penalty must be one of {PENALTIES}, got {penalty!r}")
    rho = {"l2": 0.0, "l1": 1.0, "elasticnet": l1_ratio}[penalty]
    if not 0 <= rho <= 1:
        raise ValueError(f"l1_ratio must lie in [0, 1], got {l1_ratio}")
    value = reg * (rho * np.abs(W).sum() + (1 - rho) * (W * W).sum())
    grad = reg * (rho * np.sign(W) + 2 * (1 - rho) * W)
    return float(value), grad


def svm_loss_naive(W, b, X, y, delta: float = 1.0):
    """Multiclass SVM data loss and gradients with loops over samples and classes.

    Returns ``(loss, dW, db)``; shapes W (C, D), b (C,), X (N, D), y (N,).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import classic
    >>> rng = np.random.default_rng(0)
    >>> W, b, X = rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=(5, 4))
    >>> y = np.array([0, 1, 2, 0, 1])
    >>> naive = classic.svm_loss_naive(W, b, X, y)
    >>> fast = classic.svm_loss_vectorized(W, b, X, y)
    >>> bool(np.isclose(naive[0], fast[0]) and np.allclose(naive[1], fast[1]))
    True
    """
    N = len(X)
    loss, dW, db = 0.0, np.zeros_like(W), np.zeros_like(b)
    for i in range(N):
        scores = W @ X[i] + b
        for j in range(len(b)):
            if j == y[i]:
                continue
            margin = scores[j] - scores[y[i]] + delta
            if margin > 0:
                loss += margin
                dW[j] += X[i]
                db[j] += 1
                dW[y[i]] -= X[i]
                db[y[i]] -= 1
    return loss / N, dW / N, db / N


def svm_loss_vectorized(W, b, X, y, delta: float = 1.0):
    """Multiclass SVM data loss and gradients without loops (see the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import classic
    >>> W, b = np.zeros((3, 2)), np.zeros(3)
    >>> X, y = np.ones((4, 2)), np.array([0, 1, 2, 0])
    >>> loss, dW, db = classic.svm_loss_vectorized(W, b, X, y)
    >>> loss   # all scores 0: each of the 2 wrong classes costs the margin 1
    2.0
    """
    N = len(X)
    rows = np.arange(N)
    scores = X @ W.T + b
    margins = np.maximum(0, scores - scores[rows, y][:, None] + delta)
    margins[rows, y] = 0
    G = (margins > 0).astype(X.dtype)
    G[rows, y] = -G.sum(axis=1)
    G /= N
    return float(margins.sum() / N), G.T @ X, G.sum(axis=0)


def softmax_loss_naive(W, b, X, y):
    """Softmax cross-entropy data loss and gradients with a loop over samples.

    Returns ``(loss, dW, db)``; shapes W (C, D), b (C,), X (N, D), y (N,).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import classic
    >>> rng = np.random.default_rng(0)
    >>> W, b, X = rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=(5, 4))
    >>> y = np.array([0, 1, 2, 0, 1])
    >>> naive = classic.softmax_loss_naive(W, b, X, y)
    >>> fast = classic.softmax_loss_vectorized(W, b, X, y)
    >>> bool(np.isclose(naive[0], fast[0]) and np.allclose(naive[1], fast[1]))
    True
    """
    N = len(X)
    loss, dW, db = 0.0, np.zeros_like(W), np.zeros_like(b)
    for i in range(N):
        scores = W @ X[i] + b
        scores = scores - scores.max()  # softmax is unchanged by a shift; avoids overflow
        probs = np.exp(scores) / np.exp(scores).sum()
        loss -= np.log(probs[y[i]])
        probs[y[i]] -= 1
        dW += np.outer(probs, X[i])
        db += probs
    return loss / N, dW / N, db / N


def softmax_loss_vectorized(W, b, X, y):
    """Softmax cross-entropy data loss and gradients without loops.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import classic
    >>> W, b = np.zeros((3, 2)), np.zeros(3)
    >>> X, y = np.ones((4, 2)), np.array([0, 1, 2, 0])
    >>> loss, dW, db = classic.softmax_loss_vectorized(W, b, X, y)
    >>> round(float(loss), 4), round(float(np.log(3)), 4)   # uniform scores: log C
    (1.0986, 1.0986)
    """
    N = len(X)
    rows = np.arange(N)
    scores = X @ W.T + b
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    G = np.exp(log_probs)
    G[rows, y] -= 1
    G /= N
    return float(-log_probs[rows, y].sum() / N), G.T @ X, G.sum(axis=0)


class LinearClassifier(ClassifierMixin, BaseEstimator):
    """Shared training and prediction of :class:`LinearSVM` and :class:`Softmax`.

    Training is minibatch SGD on the regularised loss L(W, b) + R(W): every epoch visits
    the samples in a fresh random order in batches of ``batch_size`` and steps

        W <- W - lr_t dW,   b <- b - lr_t db,   lr_t = learning_rate * lr_decay^epoch

    recording each batch's loss in ``loss_history_``.
    """

    def _data_loss(self, W, b, X, y):
        raise NotImplementedError

    def loss(self, W, b, X, y) -> tuple[float, np.ndarray, np.ndarray]:
        """Regularised loss and gradients ``(L + R, dW, db)`` at ``W``, ``b`` (vectorised)."""
        data_loss, dW, db = self._data_loss(W, b, X, y)
        reg_loss, dR = regularization(W, self.reg, self.penalty, self.l1_ratio)
        return data_loss + reg_loss, dW + dR, db

    def fit(self, X, y) -> LinearClassifier:
        """Train by minibatch SGD from small random weights; return ``self``."""
        check_param(self, "learning_rate", 0, low_open=True)
        check_param(self, "lr_decay", 0, low_open=True)
        check_param(self, "reg", 0)
        check_param(self, "init_scale", 0)
        check_param(self, "l1_ratio", 0, 1)
        check_param(self, "batch_size", 1, integer=True)
        check_param(self, "n_epochs", 1, integer=True)
        if hasattr(self, "delta"):
            check_param(self, "delta", 0)
        regularization(np.zeros(1), self.reg, self.penalty, self.l1_ratio)  # checks args
        input_shape = np.shape(X)[1:]
        X = as_2d(X)
        y = check_labels(y, len(X))
        self.input_shape_ = input_shape
        self.classes_, labels = np.unique(y, return_inverse=True)
        self.n_features_in_ = X.shape[1]
        rng = as_generator(self.seed)
        W = self.init_scale * rng.standard_normal((len(self.classes_), X.shape[1]))
        W, b = W.astype(X.dtype), np.zeros(len(self.classes_), X.dtype)
        history = []
        for epoch in range(self.n_epochs):
            lr = self.learning_rate * self.lr_decay ** epoch
            order = rng.permutation(len(X))
            for start in range(0, len(X), self.batch_size):
                batch = order[start:start + self.batch_size]
                value, dW, db = self.loss(W, b, X[batch], labels[batch])
                W -= lr * dW
                b -= lr * db
                history.append(value)
        self.W_, self.b_ = W, b
        self.loss_history_ = np.array(history)
        return self

    def decision_function(self, X) -> np.ndarray:
        """Class scores ``X W^T + b``, shape (N, C)."""
        self._check_fitted("W_")
        X = as_2d(X)
        self._check_n_features(X)
        return X @ self.W_.T + self.b_

    def predict(self, X) -> np.ndarray:
        """The label with the highest score."""
        scores = self.decision_function(X)
        return self.classes_[np.argmax(scores, axis=1)]

    def templates(self) -> np.ndarray:
        """The rows of ``W_`` in the training input's shape: (C, *input_shape).

        Fitted on images (N, channels, H, W), the result is one image per class, the
        class template. To display one, rescale it: 255 (w - min w) / (max w - min w).
        """
        self._check_fitted("W_")
        return self.W_.reshape(len(self.W_), *self.input_shape_)


class LinearSVM(LinearClassifier):
    """Multiclass linear SVM (Weston-Watkins hinge with margin ``delta``), trained by SGD.

    Parameters
    ----------
    learning_rate, lr_decay, n_epochs, batch_size : SGD schedule (see LinearClassifier)
    reg, penalty, l1_ratio : regularisation R(W) (see the module docstring)
    delta : float   margin of the hinge
    init_scale : float   standard deviation of the initial weights
    seed : None, int or Generator   None draws from ``visiongrad.random.get_generator()``

    Attributes
    ----------
    W_ (C, D), b_ (C,), classes_, loss_history_ (one entry per minibatch), n_features_in_

    The defaults suit inputs of order one, such as pixels scaled to [0, 1] (they reach
    0.84 test accuracy on Fashion-MNIST).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import classic
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, 1, (20, 4)), rng.normal(4, 1, (20, 4))])
    >>> y = np.repeat([0, 1], 20)
    >>> svm = classic.LinearSVM(learning_rate=0.1, n_epochs=20, seed=0).fit(X, y)
    >>> svm.W_.shape, svm.score(X, y)
    ((2, 4), 0.925)
    """

    def __init__(self, learning_rate: float = 0.1, reg: float = 1e-4, penalty: str = "l2",
                 l1_ratio: float = 0.5, delta: float = 1.0, n_epochs: int = 20,
                 batch_size: int = 200, lr_decay: float = 0.85, init_scale: float = 1e-3,
                 seed=None):
        self.learning_rate = learning_rate
        self.reg = reg
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.delta = delta
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.lr_decay = lr_decay
        self.init_scale = init_scale
        self.seed = seed

    def _data_loss(self, W, b, X, y):
        return svm_loss_vectorized(W, b, X, y, self.delta)


class Softmax(LinearClassifier):
    """Softmax (multinomial logistic regression) classifier, trained by SGD.

    Parameters and attributes as for :class:`LinearSVM`, without ``delta``.
    ``predict_proba`` gives the softmax of the scores.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import classic
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, 1, (20, 4)), rng.normal(4, 1, (20, 4))])
    >>> y = np.repeat([0, 1], 20)
    >>> clf = classic.Softmax(n_epochs=20, seed=0).fit(X, y)
    >>> clf.predict_proba(X[:1]).shape, clf.score(X, y)
    ((1, 2), 0.975)
    """

    def __init__(self, learning_rate: float = 1.0, reg: float = 1e-5, penalty: str = "l2",
                 l1_ratio: float = 0.5, n_epochs: int = 20, batch_size: int = 200,
                 lr_decay: float = 0.85, init_scale: float = 1e-3, seed=None):
        self.learning_rate = learning_rate
        self.reg = reg
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.lr_decay = lr_decay
        self.init_scale = init_scale
        self.seed = seed

    def _data_loss(self, W, b, X, y):
        return softmax_loss_vectorized(W, b, X, y)

    def predict_proba(self, X) -> np.ndarray:
        """P(class | x) = softmax(W x + b), shape (N, C)."""
        scores = self.decision_function(X)
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        return scores / scores.sum(axis=1, keepdims=True)


def random_search(estimator: LinearClassifier, X, y, n_trials: int = 1000,
                  scale: float = 1e-4, seed=None) -> LinearClassifier:
    """The course's naive baseline: try random weights, keep the ones with the lowest loss.

    Draws ``W = scale * N(0, 1)`` (C, D) with ``b = 0`` ``n_trials`` times, evaluates the
    regularised loss of ``estimator`` on (X, y) for each, and stores the best as the
    estimator's ``W_``, ``b_``; ``loss_history_`` holds the loss of every trial. Returns
    the estimator, ready to ``predict``. (Far worse than SGD: the point of the exercise.)

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import classic
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, 1, (20, 4)), rng.normal(4, 1, (20, 4))])
    >>> y = np.repeat([0, 1], 20)
    >>> clf = classic.random_search(classic.Softmax(), X, y, n_trials=50, seed=0)
    >>> clf.W_.shape
    (2, 4)
    """
    if n_trials < 1:
        raise ValueError(f"n_trials must be positive, got {n_trials}")
    input_shape = np.shape(X)[1:]
    X = as_2d(X)
    y = check_labels(y, len(X))
    estimator.input_shape_ = input_shape
    estimator.classes_, labels = np.unique(y, return_inverse=True)
    estimator.n_features_in_ = X.shape[1]
    rng = as_generator(seed)
    n_classes = len(estimator.classes_)
    b = np.zeros(n_classes, X.dtype)
    best, history = None, []
    for _ in range(n_trials):
        W = (scale * rng.standard_normal((n_classes, X.shape[1]))).astype(X.dtype)
        history.append(estimator.loss(W, b, X, labels)[0])
        if best is None or history[-1] < best[0]:
            best = (history[-1], W)
    estimator.W_, estimator.b_ = best[1], b
    estimator.loss_history_ = np.array(history)
    return estimator
