"""t-SNE (van der Maaten & Hinton, 2008): Barnes-Hut (van der Maaten, 2014; O(N log N),
the default, see :mod:`.barnes_hut`) or exact, vectorised over all pairs (O(N^2), the
reference Barnes-Hut is tested against).

Input affinities: for each point i a Gaussian precision beta_i is found by bisection so
that the conditional distribution

    p_{j|i} = exp(-beta_i |x_i - x_j|^2) / sum_{l != i} exp(-beta_i |x_i - x_l|^2)

has perplexity 2^{H(P_i)} equal to ``perplexity`` (all rows are bisected at once). Then
P = (P_cond + P_cond^T) / (2N).

Embedding affinities use a Student-t kernel with one degree of freedom:

    q_ij = (1 + |y_i - y_j|^2)^-1 / sum_{k != l} (1 + |y_k - y_l|^2)^-1

and gradient descent minimises KL(P || Q) = sum p_ij log(p_ij / q_ij), whose gradient is

    dC/dy_i = 4 sum_j (p_ij - q_ij) (1 + |y_i - y_j|^2)^-1 (y_i - y_j).

Optimisation as in the paper and scikit-learn: P is multiplied by ``early_exaggeration``
for the first ``exaggeration_iters`` steps with momentum 0.5 (then 0.8), and each
coordinate has an adaptive gain (+0.2 when the gradient changes sign against the
update, x0.8 otherwise, at least 0.01):

    update <- momentum * update - learning_rate * gains * grad;   Y <- Y + update
"""

from __future__ import annotations

import numpy as np

from ..random import as_generator
from .barnes_hut import attractive_forces, nearest_neighbours, repulsive_forces, symmetric_sparse
from .base import BaseEstimator, as_2d, check_param
from .pca import PCA


def _squared_distances(X: np.ndarray) -> np.ndarray:
    squares = (X * X).sum(axis=1)
    return np.maximum(squares[:, None] + squares[None, :] - 2 * X @ X.T, 0)


def conditional_affinities(X, perplexity: float = 30.0, tol: float = 1e-5,
                           max_iter: int = 100) -> np.ndarray:
    """Row-stochastic p_{j|i} (N, N) with each row's perplexity matched by bisection."""
    distances = _squared_distances(as_2d(X).astype(np.float64))
    _check_perplexity(perplexity, len(distances))
    np.fill_diagonal(distances, np.inf)  # p_{i|i} = 0
    return match_perplexity(distances, perplexity, tol, max_iter)


def _check_perplexity(perplexity: float, n: int) -> None:
    if not 1 <= perplexity < n:
        raise ValueError(f"perplexity must lie in [1, N) = [1, {n}), got {perplexity}")


def match_perplexity(distances: np.ndarray, perplexity: float, tol: float = 1e-5,
                     max_iter: int = 100) -> np.ndarray:
    """Rows exp(-beta_i d_ij) / sum_l exp(-beta_i d_il) of squared ``distances`` (N, M)
    (inf for excluded pairs), each beta_i bisected to entropy log(perplexity)."""
    distances = distances - distances.min(axis=1, keepdims=True)  # a row shift cancels out
    N = len(distances)
    target = np.log(perplexity)  # entropy in nats
    beta = np.ones(N)
    low, high = np.zeros(N), np.full(N, np.inf)
    for _ in range(max_iter):
        P = np.exp(-distances * beta[:, None])
        total = P.sum(axis=1)
        entropy = np.log(total) + beta * (np.where(P > 0, distances, 0) * P).sum(1) / total
        too_flat = entropy > target  # entropy falls as beta (the precision) grows
        if np.all(np.abs(entropy - target) < tol):
            break
        low = np.where(too_flat, beta, low)
        high = np.where(too_flat, high, beta)
        beta = np.where(np.isinf(high), beta * 2, (low + high) / 2)
    return P / total[:, None]


def sparse_affinities(X, perplexity: float = 30.0):
    """Barnes-Hut's joint P on the k = min(N - 1, floor(3 perplexity)) nearest neighbours:
    (rows, cols, values), rows sorted, values summing to 1."""
    X = as_2d(X).astype(np.float64)
    _check_perplexity(perplexity, len(X))
    k = min(len(X) - 1, int(3 * perplexity))
    distances, indices = nearest_neighbours(X, k)
    return symmetric_sparse(match_perplexity(distances, perplexity), indices)


def barnes_hut_gradient(rows, cols, values, Y: np.ndarray, angle: float) -> np.ndarray:
    """dKL/dY = 4 (F_attr - F_rep / Z) with P sparse and Barnes-Hut repulsion."""
    repulsion, z = repulsive_forces(Y, angle)
    return 4 * (attractive_forces(rows, cols, values, Y) - repulsion / z)


def sparse_kl_divergence(rows, cols, values, Y: np.ndarray, angle: float) -> float:
    """KL(P || Q) over P's edges, q_ij = w_ij / Z with Z from the Barnes-Hut sum."""
    _, z = repulsive_forces(Y, angle)
    diff = Y[rows] - Y[cols]
    q = np.maximum(1 / (1 + (diff * diff).sum(axis=1)) / z, 1e-12)
    return float(np.sum(values * np.log(np.maximum(values, 1e-12) / q)))


def _student_kernel(Y: np.ndarray) -> np.ndarray:
    """(1 + |y_i - y_j|^2)^-1 with a zero diagonal."""
    kernel = 1 / (1 + _squared_distances(Y))
    np.fill_diagonal(kernel, 0)
    return kernel


def _kl_gradient(P: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """dKL(P || Q)/dY = 4 sum_j (p_ij - q_ij) kernel_ij (y_i - y_j), shape (N, d)."""
    kernel = _student_kernel(Y)
    W = (P - kernel / kernel.sum()) * kernel
    return 4 * (W.sum(axis=1)[:, None] * Y - W @ Y)


def kl_divergence(P: np.ndarray, Y: np.ndarray) -> float:
    """KL(P || Q) = sum_ij p_ij log(p_ij / q_ij) of joint affinities P and embedding Y."""
    kernel = _student_kernel(Y)
    Q = np.maximum(kernel / kernel.sum(), 1e-12)
    return float(np.sum(P * np.log(np.maximum(P, 1e-12) / Q)))


class TSNE(BaseEstimator):
    """t-SNE embedding (formulas in the module docstring), as scikit-learn's ``TSNE``.

    Parameters
    ----------
    n_components : int   embedding dimension (2 for Barnes-Hut)
    perplexity : float   effective number of neighbours
    early_exaggeration : float ; exaggeration_iters : int
    learning_rate : float or "auto"   "auto" = max(N / early_exaggeration / 4, 50)
    n_iter : int   total gradient steps
    init : {"pca", "random"}   "pca": the top principal directions, scaled to std 1e-4
    method : {"barnes_hut", "exact"}
        "barnes_hut" (default): P on 3 perplexity nearest neighbours and a quadtree for
        the repulsion, O(N log N); "exact": all pairs, O(N^2) time and memory.
    angle : float   Barnes-Hut's opening angle theta (0 is exact repulsion)
    seed : None, int or Generator

    Attributes
    ----------
    embedding_ (N, n_components), kl_divergence_ (final KL(P || Q); Barnes-Hut: over P's
    neighbour pairs with Z from the tree), n_iter_

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import classic
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, 1, (20, 4)), rng.normal(4, 1, (20, 4))])
    >>> y = np.repeat([0, 1], 20)
    >>> embedding = classic.TSNE(perplexity=5, n_iter=250, seed=0).fit_transform(X)
    >>> embedding.shape
    (40, 2)
    """

    def __init__(self, n_components: int = 2, perplexity: float = 30.0,
                 early_exaggeration: float = 12.0, learning_rate="auto", n_iter: int = 1000,
                 exaggeration_iters: int = 250, init: str = "pca", method: str = "barnes_hut",
                 angle: float = 0.5, seed=None):
        self.n_components = n_components
        self.perplexity = perplexity
        self.early_exaggeration = early_exaggeration
        self.learning_rate = learning_rate
        self.n_iter = n_iter
        self.exaggeration_iters = exaggeration_iters
        self.init = init
        self.method = method
        self.angle = angle
        self.seed = seed

    def _initial_embedding(self, X: np.ndarray) -> np.ndarray:
        if self.init == "pca":
            Y = PCA(self.n_components).fit_transform(X)
            return Y / Y[:, 0].std() * 1e-4
        if self.init == "random":
            return 1e-4 * as_generator(self.seed).standard_normal((len(X), self.n_components))
        raise ValueError(f"init must be 'pca' or 'random', got {self.init!r}")

    def _objective(self, X: np.ndarray):
        """(gradient(Y, exaggeration), kl(Y)) for the chosen method."""
        if self.method == "exact":
            N = len(X)
            P = conditional_affinities(X, self.perplexity)
            P = np.maximum((P + P.T) / (2 * N), 1e-12)
            np.fill_diagonal(P, 0)
            return (lambda Y, factor: _kl_gradient(P * factor, Y)), (lambda Y: kl_divergence(P, Y))
        if self.method != "barnes_hut":
            raise ValueError(f"method must be 'barnes_hut' or 'exact', got {self.method!r}")
        if self.n_components != 2:
            raise ValueError(f"method='barnes_hut' embeds in 2-D; got n_components="
                             f"{self.n_components} (use method='exact')")
        check_param(self, "angle", 0, 1)
        rows, cols, values = sparse_affinities(X, self.perplexity)
        return ((lambda Y, factor: barnes_hut_gradient(rows, cols, values * factor, Y,
                                                       self.angle)),
                (lambda Y: sparse_kl_divergence(rows, cols, values, Y, self.angle)))

    def fit(self, X, y=None) -> TSNE:
        """Compute the embedding of ``X``; return ``self``."""
        X = as_2d(X).astype(np.float64)
        N = len(X)
        check_param(self, "perplexity", 1)
        check_param(self, "early_exaggeration", 0, low_open=True)
        check_param(self, "n_iter", 0, integer=True)
        check_param(self, "exaggeration_iters", 0, integer=True)
        check_param(self, "n_components", 1, integer=True)
        if self.learning_rate != "auto":
            check_param(self, "learning_rate", 0, low_open=True)
        gradient, kl = self._objective(X)
        rate = (max(N / self.early_exaggeration / 4, 50) if self.learning_rate == "auto"
                else float(self.learning_rate))
        Y = self._initial_embedding(X)
        update, gains = np.zeros_like(Y), np.ones_like(Y)
        for step in range(self.n_iter):
            exaggerating = step < self.exaggeration_iters
            grad = gradient(Y, self.early_exaggeration if exaggerating else 1.0)
            momentum = 0.5 if exaggerating else 0.8
            same_sign = np.sign(grad) == np.sign(update)
            gains = np.maximum(np.where(same_sign, gains * 0.8, gains + 0.2), 0.01)
            update = momentum * update - rate * gains * grad
            Y = Y + update
        self.embedding_ = Y
        self.kl_divergence_ = kl(Y)
        self.n_iter_ = self.n_iter
        return self

    def fit_transform(self, X, y=None) -> np.ndarray:
        """``fit(X).embedding_``."""
        return self.fit(X).embedding_
