"""Preprocessing fitted on training images, then applied to every split.

Each class follows scikit-learn's convention: ``__init__`` stores options, ``fit(x)`` learns
statistics from the *training* images only (attributes ending in ``_``) and returns
``self``, ``transform(x)`` applies them, ``inverse_transform(z)`` undoes them (so a
visualisation can show images as they were). Objects are callable (``obj(x) ==
obj.transform(x)``), so a fitted one can be a step of ``transforms.Compose`` or a
``DataLoader``'s ``transform``.

Images are (N, C, H, W) of any real dtype; statistics are computed in float64 and results
returned as float32 (``dtype=``). Pass integer images straight in: they are converted.

Examples
--------
>>> from visiongrad.data.preprocessing import ChannelNormalizer
>>> train = np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2)
>>> normalize = ChannelNormalizer().fit(train)      # per-channel mean and std of train
>>> z = normalize(train)
>>> z.mean(axis=(0, 2, 3)).round(6), z.std(axis=(0, 2, 3)).round(3)
(array([0., 0., 0.], dtype=float32), array([1., 1., 1.], dtype=float32))
>>> np.allclose(normalize.inverse_transform(z), train, atol=1e-4)
True
"""

from __future__ import annotations

import numpy as np

from .errors import NotFittedError

__all__ = ["Preprocessor", "ScaleToUnit", "MeanImageSubtraction", "ChannelNormalizer",
           "PCAWhitening", "ZCAWhitening", "NotFittedError"]


class Preprocessor:
    """Base: argument checks, the fitted check and ``__call__``. Subclasses implement
    ``_fit(x64)``, ``_transform(x64)`` and ``_inverse(z64)`` on float64 arrays."""

    #: Attribute set by ``fit``; None for stateless preprocessors.
    fitted_attribute: str | None = None

    def __init__(self, dtype=np.float32):
        self.dtype = np.dtype(dtype)

    @staticmethod
    def _images(x) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 4 or not np.issubdtype(x.dtype, np.number):
            raise ValueError(f"expected numeric images of shape (N, C, H, W), got shape "
                             f"{x.shape} and dtype {x.dtype}")
        return x

    def _check_fitted(self) -> None:
        if self.fitted_attribute and not hasattr(self, self.fitted_attribute):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(train_images) "
                                 "first")

    def fit(self, x) -> Preprocessor:
        """Learn the statistics from training images ``x`` (N, C, H, W); return ``self``."""
        x = self._images(x)
        if len(x) == 0:
            raise ValueError("cannot fit on an empty set of images")
        self._fit(x.astype(np.float64))
        self.image_shape_ = x.shape[1:]
        return self

    def _check_shape(self, shape: tuple) -> None:
        if hasattr(self, "image_shape_") and tuple(shape) != tuple(self.image_shape_):
            raise ValueError(f"{type(self).__name__} was fitted on images of shape "
                             f"{tuple(self.image_shape_)}, got {tuple(shape)}")

    def transform(self, x) -> np.ndarray:
        """Apply the fitted preprocessing to ``x`` (N, C, H, W)."""
        self._check_fitted()
        x = self._images(x)
        self._check_shape(x.shape[1:])
        return self._transform(x.astype(np.float64)).astype(self.dtype)

    def inverse_transform(self, z) -> np.ndarray:
        """Map preprocessed data back to the original image scale, (N, C, H, W)."""
        self._check_fitted()
        return self._inverse(np.asarray(z, dtype=np.float64)).astype(self.dtype)

    def fit_transform(self, x) -> np.ndarray:
        return self.fit(x).transform(x)

    def __call__(self, x) -> np.ndarray:
        return self.transform(x)

    def _fit(self, x: np.ndarray) -> None:
        """Stateless by default."""

    def __repr__(self) -> str:
        options = {k: v for k, v in vars(self).items() if not k.endswith("_") and k != "dtype"}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in options.items())})"


class ScaleToUnit(Preprocessor):
    """Scale pixel values to [0, 1]: ``z = x / max_value`` (255 for 8-bit images).

    Stateless: ``fit`` only records the image shape.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import data
    >>> data.ScaleToUnit()(np.array([0, 51, 255], np.uint8).reshape(1, 1, 1, 3))
    array([[[[0. , 0.2, 1. ]]]], dtype=float32)
    """

    def __init__(self, max_value: float = 255.0, dtype=np.float32):
        super().__init__(dtype)
        if max_value <= 0:
            raise ValueError(f"max_value must be positive, got {max_value}")
        self.max_value = float(max_value)

    def _transform(self, x):
        return x / self.max_value

    def _inverse(self, z):
        return z * self.max_value


class MeanImageSubtraction(Preprocessor):
    """Subtract the mean training image (the course's preprocessing for CIFAR-10).

    ``mean_[c, h, w] = (1/N) sum_n x[n, c, h, w]``;  ``z = x - mean_``.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import data
    >>> x = np.array([1.0, 2.0, 3.0, 4.0]).reshape(2, 1, 1, 2)
    >>> data.MeanImageSubtraction().fit(x).transform(x).reshape(2, 2)
    array([[-1., -1.],
           [ 1.,  1.]], dtype=float32)
    """

    fitted_attribute = "mean_"

    def _fit(self, x):
        self.mean_ = x.mean(axis=0)

    def _transform(self, x):
        return x - self.mean_

    def _inverse(self, z):
        return z + self.mean_


class ChannelNormalizer(Preprocessor):
    """Per-channel standardisation: ``z[:, c] = (x[:, c] / scale - mean_[c]) / std_[c]``.

    ``mean_[c]`` and ``std_[c]`` are the mean and standard deviation of channel ``c`` of the
    training images (over N, H, W) after division by ``scale`` (1 by default; 255 gives
    the usual "scale to [0, 1] then normalise"). ``eps`` keeps a constant channel finite.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import data
    >>> x = np.random.default_rng(0).normal(3.0, 2.0, (100, 3, 4, 4))
    >>> out = data.ChannelNormalizer().fit(x).transform(x)
    >>> np.round(out.mean(axis=(0, 2, 3)), 3), np.round(out.std(axis=(0, 2, 3)), 2)
    (array([-0.,  0.,  0.], dtype=float32), array([1., 1., 1.], dtype=float32))
    """

    fitted_attribute = "mean_"

    def __init__(self, scale: float = 1.0, eps: float = 1e-8, dtype=np.float32):
        super().__init__(dtype)
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        self.scale, self.eps = float(scale), float(eps)

    def _fit(self, x):
        x = x / self.scale
        self.mean_ = x.mean(axis=(0, 2, 3))
        self.std_ = x.std(axis=(0, 2, 3)) + self.eps

    def _transform(self, x):
        return (x / self.scale - self.mean_[:, None, None]) / self.std_[:, None, None]

    def _inverse(self, z):
        return (z * self.std_[:, None, None] + self.mean_[:, None, None]) * self.scale


class _EigenBasis(Preprocessor):
    """Shared fit of PCA and ZCA whitening: the eigendecomposition of the pixel covariance.

    Images are flattened to D = C H W features; ``mean_`` (D,), ``components_`` (K, D) the
    top eigenvectors of ``Sigma = (1/N) (X - mean)^T (X - mean)`` (rows, by decreasing
    eigenvalue) and ``explained_variance_`` (K,) their eigenvalues.
    """

    fitted_attribute = "components_"

    def __init__(self, n_components: int | None = None, eps: float = 1e-5, dtype=np.float32):
        super().__init__(dtype)
        if n_components is not None and n_components < 1:
            raise ValueError(f"n_components must be at least 1, got {n_components}")
        if eps < 0:
            raise ValueError(f"eps must be non-negative, got {eps}")
        self.n_components, self.eps = n_components, float(eps)

    def _fit(self, x):
        flat = x.reshape(len(x), -1)
        if self.n_components is not None and self.n_components > flat.shape[1]:
            raise ValueError(f"n_components={self.n_components} exceeds the {flat.shape[1]} "
                             "pixels of an image")
        self.mean_ = flat.mean(axis=0)
        centred = flat - self.mean_
        eigenvalues, eigenvectors = np.linalg.eigh(centred.T @ centred / len(flat))
        order = np.argsort(eigenvalues)[::-1][:self.n_components]
        self.explained_variance_ = np.clip(eigenvalues[order], 0, None)
        self.components_ = eigenvectors[:, order].T

    def _project(self, x):
        """Whitened coordinates ``(x - mean) U_K / sqrt(lambda + eps)``, (N, K)."""
        centred = x.reshape(len(x), -1) - self.mean_
        return centred @ self.components_.T / np.sqrt(self.explained_variance_ + self.eps)

    def _unproject(self, coordinates):
        """Inverse of :meth:`_project`, as images (N, C, H, W)."""
        flat = (coordinates * np.sqrt(self.explained_variance_ + self.eps)) @ self.components_
        return (flat + self.mean_).reshape(-1, *self.image_shape_)


class PCAWhitening(_EigenBasis):
    """PCA whitening: ``z = (x - mean_) U_K diag(1 / sqrt(lambda_K + eps))``, shape (N, K).

    ``U_K`` (D, K) holds the top ``n_components`` eigenvectors of the training covariance
    (all D by default) and ``lambda_K`` their eigenvalues; the whitened features have
    (almost) identity covariance. ``inverse_transform`` maps (N, K) back to images
    (N, C, H, W), exactly when K = D, else the projection onto the top K components.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import data
    >>> x = (np.random.default_rng(0).normal(size=(200, 3)) * [3.0, 1.0, 0.5]).reshape(200, 3, 1, 1)
    >>> out = data.PCAWhitening().fit(x).transform(x).reshape(200, -1)
    >>> np.round(np.cov(out, rowvar=False, bias=True), 2)
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 1.]])
    """

    def _transform(self, x):
        return self._project(x)

    def _inverse(self, z):
        components = len(self.explained_variance_)
        if z.ndim != 2 or z.shape[1] != components:
            raise ValueError(f"expected whitened data of shape (N, {components}), got {z.shape}")
        return self._unproject(z)


class ZCAWhitening(_EigenBasis):
    """ZCA whitening: ``z = (x - mean_) U diag(1 / sqrt(lambda + eps)) U^T``, as images.

    PCA whitening rotated back to pixel space, so the result still looks like an image
    (edges emphasised) with (almost) identity covariance; ``eps`` (typically 1e-2 on
    [0, 1] data, 1e-5 by default) damps the near-zero directions. Output (N, C, H, W).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import data
    >>> x = (np.random.default_rng(0).normal(size=(200, 3)) * [3.0, 1.0, 0.5]).reshape(200, 3, 1, 1)
    >>> out = data.ZCAWhitening().fit(x).transform(x).reshape(200, -1)
    >>> np.round(np.cov(out, rowvar=False, bias=True), 2)
    array([[ 1., -0., -0.],
           [-0.,  1., -0.],
           [-0., -0.,  1.]])
    """

    def _transform(self, x):
        flat = self._project(x) @ self.components_
        return flat.reshape(x.shape)

    def _inverse(self, z):
        self._check_shape(z.shape[1:])
        return self._unproject(z.reshape(len(z), -1) @ self.components_.T)
