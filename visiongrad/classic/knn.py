"""k-nearest-neighbour classification with L1, L2 and cosine distances.

Distances between a query ``a`` and a training sample ``b`` (rows of length D):

    L1:      d(a, b) = sum_j |a_j - b_j|
    L2:      d(a, b) = sqrt(sum_j (a_j - b_j)^2) = sqrt(|a|^2 + |b|^2 - 2 a.b)
    cosine:  d(a, b) = 1 - a.b / (|a| |b|)         (a zero vector is at distance 1)

The expanded L2 form gives all M x N distances with one matrix product. Prediction works
on memory-bounded chunks of queries in two stages:

1. Screening, in float32: for L2 the ranking key ``|b|^2 - 2 a.b`` (``|a|^2`` is constant
   along a row, so it does not change the order) comes out of one product
   ``[a, 1] @ [-2 b, |b|^2]^T``; for cosine ``-a_hat . b_hat``; for L1 the distance itself.
   ``argpartition`` then keeps the ``k + extra`` smallest keys of each row. NumPy's
   partition releases the GIL, so visiongrad's helper threads run it on all cores at once
   (``accel.parallel_map``).
2. Re-ranking, in float64: the exact distances to those few candidates are computed from
   the differences ``a - b`` (no cancellation) and sorted, ties going to the smaller
   training index. The float32 screen therefore changes nothing unless its rounding
   error exceeds the gap between the k-th and the (k + extra)-th neighbour.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..accel import available_cores, parallel_map
from ..random import as_generator
from .base import BaseEstimator, ClassifierMixin, as_2d, check_labels, check_param

METRICS = ("l1", "l2", "cosine")
_SCREEN_EXTRA = 8  # candidates kept beyond k by the float32 screen, re-ranked exactly


def _check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    return metric


def _unit_rows(X: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms == 0, 1, norms)


def pairwise_distances_naive(A, B, metric: str = "l2") -> np.ndarray:
    """Reference (M, N) distance matrix computed with two Python loops (tests only)."""
    _check_metric(metric)
    A, B = as_2d(A, "A").astype(np.float64), as_2d(B, "B").astype(np.float64)
    out = np.empty((len(A), len(B)))
    for i, a in enumerate(A):
        for j, b in enumerate(B):
            if metric == "l1":
                out[i, j] = np.sum(np.abs(a - b))
            elif metric == "l2":
                out[i, j] = np.sqrt(np.sum((a - b) ** 2))
            else:
                na, nb = np.linalg.norm(a), np.linalg.norm(b)
                out[i, j] = 1.0 if na == 0 or nb == 0 else 1.0 - a @ b / (na * nb)
    return out


def pairwise_distances(A, B, metric: str = "l2") -> np.ndarray:
    """The (M, N) matrix of distances between the rows of ``A`` and of ``B``, vectorised.

    L2 uses ``sqrt(max(|a|^2 + |b|^2 - 2 A B^T, 0))`` (one matrix product), cosine
    ``1 - A_hat B_hat^T`` with rows scaled to unit length, L1 broadcasting over blocks.
    The result has the floating dtype of the inputs.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import classic
    >>> classic.pairwise_distances(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0], [1.0, 0.0]]))
    array([[5., 1.]])
    """
    _check_metric(metric)
    A, B = as_2d(A, "A"), as_2d(B, "B")
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"A has {A.shape[1]} features but B has {B.shape[1]}")
    if metric == "l2":
        squared = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2 * A @ B.T
        return np.sqrt(np.maximum(squared, 0))
    if metric == "cosine":
        return 1 - _unit_rows(A) @ _unit_rows(B).T
    return _l1_distances(A, B)


def _l1_distances(A: np.ndarray, B: np.ndarray, block_bytes: int = 64 << 20) -> np.ndarray:
    """L1 distances by broadcasting ``|A[:, None] - B[None]|`` over blocks of ``B``."""
    block = max(1, block_bytes // max(1, A.shape[0] * A.shape[1] * A.itemsize))
    return np.concatenate([np.abs(A[:, None, :] - B[None, start:start + block]).sum(-1)
                           for start in range(0, len(B), block)], axis=1)


def _exact_distances(queries: np.ndarray, candidates: np.ndarray, metric: str) -> np.ndarray:
    """Float64 distances from each query (M, D) to its own candidates (M, m, D)."""
    a = queries[:, None, :].astype(np.float64)
    b = candidates.astype(np.float64)
    if metric == "l1":
        return np.abs(b - a).sum(-1)
    if metric == "l2":
        return np.sqrt(((b - a) ** 2).sum(-1))
    norm_a, norm_b = np.linalg.norm(a, axis=-1), np.linalg.norm(b, axis=-1)
    dots = (b * a).sum(-1)
    zero = (norm_a == 0) | (norm_b == 0)
    return np.where(zero, 1.0, 1 - dots / np.where(zero, 1, norm_a * norm_b))


def _vote(neighbor_labels: np.ndarray, weights: np.ndarray, n_classes: int) -> np.ndarray:
    """Class index with the largest (weighted) vote per row; ties go to the smaller index.

    ``neighbor_labels`` (M, k) holds class indices, ``weights`` (M, k) their votes.
    """
    one_hot = neighbor_labels[..., None] == np.arange(n_classes)
    votes = (one_hot * weights[..., None]).sum(axis=1)
    return np.argmax(votes, axis=1)  # argmax returns the first maximum: the smaller class


def _neighbor_weights(distances: np.ndarray, weights: str) -> np.ndarray:
    """Uniform weights, or 1/d; a query with a zero distance votes only with those at d=0."""
    if weights == "uniform":
        return np.ones_like(distances)
    zero = distances == 0
    with np.errstate(divide="ignore"):
        inverse = 1.0 / distances
    return np.where(zero.any(axis=1, keepdims=True), zero.astype(float), inverse)


class KNearestNeighbor(ClassifierMixin, BaseEstimator):
    """k-nearest-neighbour classifier (brute force, chunked, multi-threaded).

    Parameters
    ----------
    k : int
        Number of neighbours that vote.
    metric : {"l2", "l1", "cosine"}
        Distance (formulas in the module docstring).
    weights : {"uniform", "distance"}
        ``"uniform"``: each of the k neighbours casts one vote. ``"distance"``: a vote
        weighs ``1 / d``; if some neighbours are at distance 0, only they vote.
        Ties between classes go to the smallest class label (as in the course and in
        scikit-learn).
    working_memory : float
        MiB for one chunk of the (queries x training samples) key matrix.
    n_threads : int or None
        Threads for the neighbour selection (None: every core this process may use).

    Attributes
    ----------
    X_ : ndarray (N, D)   training samples (images are flattened, see ``base``)
    y_ : ndarray (N,)     class index of each training sample into ``classes_``
    classes_ : ndarray    sorted distinct labels
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import classic
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, 1, (20, 4)), rng.normal(4, 1, (20, 4))])
    >>> y = np.repeat([0, 1], 20)
    >>> knn = classic.KNearestNeighbor(k=3).fit(X, y)
    >>> knn.predict(np.array([[0.0] * 4, [4.0] * 4])), knn.score(X, y)
    (array([0, 1]), 1.0)
    """

    def __init__(self, k: int = 5, metric: str = "l2", weights: str = "uniform",
                 working_memory: float = 256, n_threads: int | None = None):
        self.k = k
        self.metric = metric
        self.weights = weights
        self.working_memory = working_memory
        self.n_threads = n_threads

    def fit(self, X, y) -> KNearestNeighbor:
        """Memorise the training data (kNN's whole training); return ``self``."""
        _check_metric(self.metric)
        if self.weights not in ("uniform", "distance"):
            raise ValueError(f"weights must be 'uniform' or 'distance', got {self.weights!r}")
        check_param(self, "working_memory", 0, low_open=True)
        if self.n_threads is not None:
            check_param(self, "n_threads", 1, integer=True)
        X = as_2d(X)
        y = check_labels(y, len(X))
        self._check_k(self.k, len(X))
        self.classes_, self.y_ = np.unique(y, return_inverse=True)
        self.X_ = X
        self.n_features_in_ = X.shape[1]
        screen = X.astype(np.float32)
        if self.metric == "l2":
            screen = np.hstack([-2 * screen, (screen * screen).sum(1, keepdims=True)])
        elif self.metric == "cosine":
            screen = -_unit_rows(screen)
        self._screen = screen
        return self

    @staticmethod
    def _check_k(k, n_train: int) -> None:
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        if k > n_train:
            raise ValueError(f"k={k} is larger than the training set ({n_train} samples)")

    def _screen_keys(self, queries: np.ndarray) -> np.ndarray:
        """Float32 keys (M, N) that order the training samples like the distance."""
        q = queries.astype(np.float32)
        if self.metric == "l2":
            return np.hstack([q, np.ones((len(q), 1), np.float32)]) @ self._screen.T
        if self.metric == "cosine":
            return _unit_rows(q) @ self._screen.T
        return _l1_distances(q, self._screen)

    def kneighbors(self, X, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The k nearest training samples of each row of ``X``.

        Returns
        -------
        distances : ndarray (M, k) float64, ascending along each row
        indices : ndarray (M, k) int, rows of ``X_``; equal distances in index order
        """
        self._check_fitted("X_")
        k = self.k if k is None else k
        n_train = len(self.X_)
        self._check_k(k, n_train)
        X = as_2d(X)
        self._check_n_features(X)
        n_candidates = min(n_train, k + _SCREEN_EXTRA)
        n_threads = self.n_threads or available_cores()
        rows = max(1, int(self.working_memory * 2**20 // (4 * n_train)))
        distances = np.empty((len(X), k))
        indices = np.empty((len(X), k), dtype=np.intp)

        def select(keys: np.ndarray) -> np.ndarray:
            if n_candidates == n_train:
                return np.broadcast_to(np.arange(n_train), keys.shape).copy()
            return np.argpartition(keys, n_candidates - 1, axis=1)[:, :n_candidates]

        for start in range(0, len(X), rows):
            queries = X[start:start + rows]
            keys = self._screen_keys(queries)
            parts = np.array_split(keys, min(n_threads, len(keys)))
            candidates = np.concatenate(parallel_map(select, parts, n_threads))
            exact = _exact_distances(queries, self.X_[candidates], self.metric)
            order = np.lexsort((candidates, exact))[:, :k]
            distances[start:start + rows] = np.take_along_axis(exact, order, 1)
            indices[start:start + rows] = np.take_along_axis(candidates, order, 1)
        return distances, indices

    def predict(self, X) -> np.ndarray:
        """Majority (or distance-weighted) vote of the k nearest neighbours."""
        distances, indices = self.kneighbors(X)
        weights = _neighbor_weights(distances, self.weights)
        return self.classes_[_vote(self.y_[indices], weights, len(self.classes_))]


@dataclass
class CrossValidationResult:
    """What :func:`cross_validate_k` measured.

    ``accuracies[metric]`` has shape (len(k_choices), n_folds): the accuracy of each k
    on each held-out fold, ready for the course's scatter-and-error-bar plot.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import classic
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, 1, (20, 4)), rng.normal(4, 1, (20, 4))])
    >>> y = np.repeat([0, 1], 20)
    >>> result = classic.cross_validate_k(X, y, k_choices=(1, 3), n_folds=4, seed=0)
    >>> sorted(result.accuracies), result.accuracies['l2'].shape
    (['l2'], (2, 4))
    """

    k_choices: list[int]
    accuracies: dict[str, np.ndarray] = field(default_factory=dict)
    best_k: int = 0
    best_metric: str = ""
    best_accuracy: float = 0.0


def cross_validate_k(X, y, k_choices=(1, 3, 5, 8, 10, 12, 15, 20, 50, 100),
                     metrics=("l2",), n_folds: int = 5, weights: str = "uniform",
                     seed=None) -> CrossValidationResult:
    """Choose k (and the metric) by ``n_folds``-fold cross-validation.

    The samples are shuffled (``seed``: None for the library generator, an int or a
    Generator) and split into folds; each fold is held out once while the others train.
    One neighbour search with the largest k per fold and metric serves every k, since the
    k nearest are the first k of the largest-k list. The best pair maximises the mean
    accuracy over folds (ties: the smaller k, then the earlier metric).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import classic
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, 1, (20, 4)), rng.normal(4, 1, (20, 4))])
    >>> y = np.repeat([0, 1], 20)
    >>> result = classic.cross_validate_k(X, y, k_choices=(1, 3, 5), n_folds=4, seed=0)
    >>> result.best_k in (1, 3, 5), result.best_accuracy > 0.9
    (True, True)
    """
    X = as_2d(X)
    y = check_labels(y, len(X))
    k_choices = sorted(int(k) for k in k_choices)
    if n_folds < 2 or n_folds > len(X):
        raise ValueError(f"n_folds must be between 2 and the number of samples ({len(X)}), "
                         f"got {n_folds}")
    folds = np.array_split(as_generator(seed).permutation(len(X)), n_folds)
    result = CrossValidationResult(k_choices=k_choices)
    for metric in metrics:
        accuracy = np.empty((len(k_choices), n_folds))
        for f, held_out in enumerate(folds):
            train = np.concatenate([fold for g, fold in enumerate(folds) if g != f])
            model = KNearestNeighbor(k=k_choices[-1], metric=metric, weights=weights)
            model.fit(X[train], y[train])
            distances, indices = model.kneighbors(X[held_out])
            neighbor_labels = model.y_[indices]
            for i, k in enumerate(k_choices):
                weights_k = _neighbor_weights(distances[:, :k], weights)
                predicted = model.classes_[_vote(neighbor_labels[:, :k], weights_k,
                                                 len(model.classes_))]
                accuracy[i, f] = np.mean(predicted == y[held_out])
        result.accuracies[metric] = accuracy
        mean = accuracy.mean(axis=1)
        best = int(np.argmax(mean))
        if mean[best] > result.best_accuracy or not result.best_metric:
            result.best_k, result.best_metric = k_choices[best], metric
            result.best_accuracy = float(mean[best])
    return result
