"""Eigenfaces (Turk & Pentland, 1991): faces as points in a low-dimensional face space.

With the mean face mu and the top-k principal components V_k (k, D) of training faces:

    weights (projection):       w = V_k (x - mu)                       (k,)
    reconstruction:             x_hat = mu + V_k^T w
    distance from face space:   e(x) = |x - x_hat| = |(I - V_k^T V_k)(x - mu)|

A face lies close to the face space (small e); a non-face image does not. Distances are
comparable across images only once brightness and contrast are removed, so
:func:`normalize_contrast` (x <- (x - mean x) / |x - mean x|, per image) should be applied
to faces before fitting and to every image tested. An occluded
face with visible-pixel mask m (1 = seen) is reconstructed from the seen pixels only
(least squares in face space, "gappy PCA"):

    w = argmin_w |m * (mu + V_k^T w - x)|^2 = (V_k diag(m) V_k^T)^+ V_k (m * (x - mu)),

and the hidden pixels are filled from mu + V_k^T w. Recognition is nearest neighbour
(L2) among the weights of the labelled training faces.
"""

from __future__ import annotations

import numpy as np

from .base import BaseEstimator, ClassifierMixin, as_2d, check_labels
from .knn import KNearestNeighbor
from .pca import PCA


def normalize_contrast(images) -> np.ndarray:
    """Each image with its own mean removed and scaled to unit L2 norm (same shape).

    x <- (x - mean(x)) / |x - mean(x)|; a constant image becomes all zeros.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import classic
    >>> out = classic.normalize_contrast(np.array([[1.0, 2.0, 3.0]]))
    >>> np.round(out, 4), np.round(np.linalg.norm(out), 4)
    (array([[-0.7071,  0.    ,  0.7071]]), np.float64(1.0))
    """
    images = np.asarray(images, dtype=np.float64)
    X = as_2d(images, "images")
    centred = X - X.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    return (centred / np.where(norms == 0, 1, norms)).reshape(images.shape)


class Eigenfaces(ClassifierMixin, BaseEstimator):
    """Face space of training faces: projection, distance from face space, recognition.

    Parameters
    ----------
    n_components : int
        Eigenfaces kept (k).
    solver : {"auto", "svd", "covariance"}
        PCA route (see :class:`PCA`).

    Attributes
    ----------
    mean_ (D,) the mean face; components_ (k, D) the eigenfaces; image_shape_;
    pca_ the fitted :class:`PCA`; with labels, ``knn_`` the 1-NN on training weights.
    Faces are (N, H, W), (N, C, H, W) or (N, D); images are flattened in C order.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import classic
    >>> rng = np.random.default_rng(0)
    >>> faces = rng.random((30, 8, 8))
    >>> model = classic.Eigenfaces(n_components=5).fit(faces)
    >>> model.components_.shape, model.project(faces[:2]).shape
    ((5, 64), (2, 5))
    """

    def __init__(self, n_components: int = 5, solver: str = "auto"):
        self.n_components = n_components
        self.solver = solver

    def fit(self, faces, y=None) -> Eigenfaces:
        """Fit the face space (and, given labels ``y``, the recogniser); return ``self``."""
        self.image_shape_ = np.shape(faces)[1:]
        X = as_2d(faces, "faces")
        self.pca_ = PCA(self.n_components, self.solver).fit(X)
        self.mean_, self.components_ = self.pca_.mean_, self.pca_.components_
        self.n_features_in_ = X.shape[1]
        if y is not None:
            y = check_labels(y, len(X))
            self.knn_ = KNearestNeighbor(k=1).fit(self.pca_.transform(X), y)
        return self

    def project(self, faces) -> np.ndarray:
        """Face-space weights w = V_k (x - mu), shape (N, k)."""
        self._check_fitted("pca_")
        return self.pca_.transform(as_2d(faces, "faces"))

    def eigenfaces(self) -> np.ndarray:
        """The components as images, shape (k, *image_shape_)."""
        self._check_fitted("pca_")
        return self.components_.reshape(len(self.components_), *self.image_shape_)

    def reconstruct(self, faces, mask=None) -> np.ndarray:
        """Reconstruction from face space, in the input's image shape.

        Without ``mask``: x_hat = mu + V_k^T V_k (x - mu). With a visible-pixel ``mask``
        (same shape as ``faces``, or as one face; true where the pixel is seen): the
        weights are fitted to the seen pixels only (module docstring); seen pixels are
        kept and hidden ones are filled from the reconstruction.
        """
        self._check_fitted("pca_")
        X = as_2d(faces, "faces")
        self._check_n_features(X)
        centred = X - self.mean_
        if mask is None:
            weights = centred @ self.components_.T
        else:
            seen = np.broadcast_to(np.asarray(mask, dtype=bool).reshape(-1, X.shape[1]),
                                   X.shape)
            V = self.components_
            gram = np.einsum("kd,nd,ld->nkl", V, seen, V)  # V diag(m) V^T per face
            rhs = (centred * seen) @ V.T
            weights = np.einsum("nkl,nl->nk", np.linalg.pinv(gram, hermitian=True), rhs)
        restored = self.mean_ + weights @ self.components_
        if mask is not None:
            restored = np.where(seen, X, restored)
        return restored.reshape(len(X), *self.image_shape_)

    def distance_from_face_space(self, faces) -> np.ndarray:
        """e(x) = |x - x_hat|, the residual of the face-space projection, shape (N,)."""
        X = as_2d(faces, "faces")
        return np.linalg.norm(X - self.reconstruct(X).reshape(len(X), -1), axis=1)

    def predict(self, faces) -> np.ndarray:
        """Label of the nearest training face in face space (needs labels at fit)."""
        self._check_fitted("pca_")
        if not hasattr(self, "knn_"):
            raise ValueError("recognition needs labels: call fit(faces, y)")
        return self.knn_.predict(self.project(faces))
