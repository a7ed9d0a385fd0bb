"""Principal component analysis and least squares, from the SVD and the eigendecomposition.

PCA of data X (N, D) with mean mu and centred data Xc = X - mu has two equivalent routes:

    SVD:          Xc = U S V^T          components = rows of V^T,  variance_i = S_i^2 / (N-1)
    covariance:   Cov = Xc^T Xc / (N-1) = V diag(lambda) V^T   components = columns of V,
                  variance_i = lambda_i

Both give the same components up to the sign of each; the sign is fixed so that the
largest-magnitude entry of every component is positive (scikit-learn's convention). For
tall data (N >> D) the covariance route is faster: one D x D product and a D x D
eigendecomposition instead of the SVD of an N x D matrix.

    transform:          Z = (X - mu) V_k            (N, k)
    inverse_transform:  X_hat = Z V_k^T + mu
    explained_variance_ratio_i = variance_i / sum_j variance_j   (over all D directions)
"""

from __future__ import annotations

import warnings

import numpy as np

from .base import BaseEstimator, as_2d

SOLVERS = ("auto", "svd", "covariance")


def _flip_signs(components: np.ndarray) -> np.ndarray:
    """Make the largest-magnitude entry of each row positive."""
    rows = np.arange(len(components))
    signs = np.sign(components[rows, np.argmax(np.abs(components), axis=1)])
    return components * np.where(signs == 0, 1, signs)[:, None]


class PCA(BaseEstimator):
    """Principal component analysis (formulas in the module docstring).

    Parameters
    ----------
    n_components : int or None
        Components kept (None: min(N, D)).
    solver : {"auto", "svd", "covariance"}
        "svd" factors the centred data; "covariance" eigendecomposes the covariance;
        "auto" takes "covariance" when D <= 1000 and N >= 10 D, else "svd".

    Attributes
    ----------
    mean_ (D,), components_ (k, D) orthonormal rows, explained_variance_ (k,),
    explained_variance_ratio_ (k,), singular_values_ (k,), n_components_, n_features_in_

    Computation is in float64 whatever the input dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import classic
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3)) * [5.0, 1.0, 0.1]
    >>> pca = classic.PCA(n_components=2).fit(X)
    >>> np.round(pca.explained_variance_ratio_, 2), pca.transform(X).shape
    (array([0.97, 0.03]), (100, 2))
    """

    def __init__(self, n_components: int | None = None, solver: str = "auto"):
        self.n_components = n_components
        self.solver = solver

    def fit(self, X, y=None) -> PCA:
        """Find the principal directions of ``X``; return ``self``."""
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {self.solver!r}")
        X = as_2d(X).astype(np.float64)
        N, D = X.shape
        if N < 2:
            raise ValueError(f"PCA needs at least 2 samples, got {N}")
        k = min(N, D) if self.n_components is None else self.n_components
        if not isinstance(k, (int, np.integer)) or not 1 <= k <= min(N, D):
            raise ValueError(f"n_components must be an integer in [1, min(N, D) = "
                             f"{min(N, D)}], got {self.n_components!r}")
        solver = self.solver
        if solver == "auto":
            solver = "covariance" if D <= 1000 and N >= 10 * D else "svd"
        self.mean_ = X.mean(axis=0)
        centred = X - self.mean_
        if solver == "svd":
            _, singular, Vt = np.linalg.svd(centred, full_matrices=False)
            variance = singular**2 / (N - 1)
        else:
            eigenvalues, V = np.linalg.eigh(centred.T @ centred / (N - 1))
            variance, Vt = np.maximum(eigenvalues[::-1], 0), V[:, ::-1].T
        self.components_ = _flip_signs(Vt[:k])
        self.explained_variance_ = variance[:k]
        self.explained_variance_ratio_ = variance[:k] / variance.sum()
        self.singular_values_ = np.sqrt(variance[:k] * (N - 1))
        self.n_components_ = int(k)
        self.n_features_in_ = D
        return self

    def transform(self, X) -> np.ndarray:
        """Coordinates in the component basis, Z = (X - mean) V_k, shape (N, k)."""
        self._check_fitted("components_")
        X = as_2d(X)
        self._check_n_features(X)
        return (X - self.mean_) @ self.components_.T

    def fit_transform(self, X, y=None) -> np.ndarray:
        """``fit(X).transform(X)``."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z) -> np.ndarray:
        """Back to input space: X_hat = Z V_k^T + mean, shape (N, D)."""
        self._check_fitted("components_")
        Z = as_2d(Z, "Z")
        if Z.shape[1] != self.n_components_:
            raise ValueError(f"Z has {Z.shape[1]} columns, but PCA has "
                             f"{self.n_components_} components")
        return Z @ self.components_ + self.mean_


class IllConditionedWarning(UserWarning):
    """The least-squares system is (nearly) rank deficient.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import classic
    >>> import warnings
    >>> A = np.array([[1.0, 1.0], [1.0, 1.0 + 1e-12], [1.0, 1.0]])
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter('always')
    ...     _ = classic.least_squares(A, np.ones(3))
    >>> any(issubclass(w.category, classic.IllConditionedWarning) for w in caught)
    True
    """


def pinv(A, rcond: float | None = None) -> np.ndarray:
    """Moore-Penrose pseudoinverse by the SVD: A^+ = V diag(1/s_i for s_i > cut) U^T.

    Singular values at or below ``cut = rcond * s_max`` are treated as zero
    (default rcond: max(M, N) * machine epsilon).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import classic
    >>> A = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    >>> classic.pinv(A)
    array([[1. , 0. , 0. ],
           [0. , 0.5, 0. ]])
    """
    A = np.asarray(A, dtype=np.float64)
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    rcond = max(A.shape) * np.finfo(np.float64).eps if rcond is None else rcond
    keep = s > rcond * s.max(initial=0)
    inverse = np.divide(1, s, out=np.zeros_like(s), where=keep)
    return (Vt.T * inverse) @ U.T


def least_squares(A, b, method: str = "auto", max_condition: float = 1e7) -> np.ndarray:
    """Minimise |A x - b|^2 for A (M, N) and b (M,) or (M, K).

    Normal equations (A has full column rank):  A^T A x = A^T b, solved by Cholesky.
    Otherwise the minimum-norm solution by the pseudoinverse: x = A^+ b.

    The normal equations square the condition number (cond(A^T A) = cond(A)^2), so with
    ``method="auto"`` they are used only when cond(A) <= ``max_condition``; above it (or
    when A is rank deficient) an :class:`IllConditionedWarning` says so and the
    pseudoinverse is used. ``method="normal"`` or ``"pinv"`` forces a route.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import classic
    >>> A = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
    >>> np.round(classic.least_squares(A, np.array([1.0, 3.0, 5.0])), 6)
    array([1., 2.])
    """
    if method not in ("auto", "normal", "pinv"):
        raise ValueError(f"method must be 'auto', 'normal' or 'pinv', got {method!r}")
    A, b = np.asarray(A, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if A.ndim != 2 or len(b) != len(A):
        raise ValueError(f"A must be 2-D with as many rows as b; got {A.shape} and {b.shape}")
    if not (np.isfinite(A).all() and np.isfinite(b).all()):
        raise ValueError("A or b contains NaN or infinity")
    if method == "pinv":
        return pinv(A) @ b
    gram = A.T @ A
    if method == "auto":
        eigenvalues = np.linalg.eigvalsh(gram)  # sigma_i^2 of A, ascending
        largest = eigenvalues[-1]
        if eigenvalues[0] <= largest * max_condition**-2:
            condition = np.sqrt(largest / eigenvalues[0]) if eigenvalues[0] > 0 else np.inf
            warnings.warn(f"A is ill-conditioned (cond(A) ~ {condition:.3g} > "
                          f"{max_condition:.3g}, or rank deficient); solving by the "
                          "pseudoinverse instead of the normal equations",
                          IllConditionedWarning, stacklevel=2)
            return pinv(A) @ b
    L = np.linalg.cholesky(gram)
    return np.linalg.solve(L.T, np.linalg.solve(L, A.T @ b))
