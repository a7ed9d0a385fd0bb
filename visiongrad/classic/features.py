"""Image features for the linear classifiers: hue histogram, HOG, and a pipeline.

Images are NCHW: (N, C, H, W), or (N, H, W) for grayscale. Every function works on the
whole batch at once (histograms by one ``np.bincount`` over a combined index).

Hue (HSV), from r, g, b with M = max, m = min, delta = M - m:

    h = ((g - b) / delta mod 6) / 6   if M = r
        ((b - r) / delta + 2) / 6     if M = g
        ((r - g) / delta + 4) / 6     if M = b       (h = 0 when delta = 0)

HOG (Dalal & Triggs, scikit-image's layout): on the grayscale image, centred differences
g_r = I[r+1] - I[r-1], g_c = I[:, c+1] - I[:, c-1] (zero on the border); magnitude
sqrt(g_r^2 + g_c^2) and unsigned orientation atan2(g_r, g_c) mod 180 degrees. Each cell
of p x p pixels gets a histogram of ``orientations`` equal bins over [0, 180), every
pixel adding its magnitude to its bin, divided by p^2. Blocks of b x b neighbouring cells
(stride one cell) are normalised, e.g. L2-Hys: v <- v / sqrt(|v|^2 + eps^2), clip at 0.2,
renormalise. With the same settings the result equals ``skimage.feature.hog``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .base import BaseEstimator, as_2d

BLOCK_NORMS = ("L1", "L1-sqrt", "L2", "L2-Hys")
_LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R 601 grayscale weights, as the course uses


def _as_images(images, name: str = "images") -> np.ndarray:
    """(N, C, H, W) float64 from (N, C, H, W) or grayscale (N, H, W)."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[:, None]
    if images.ndim != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W) or (N, H, W), "
                         f"got {images.shape}")
    images = images.astype(np.float64)
    if not np.isfinite(images).all():
        raise ValueError(f"{name} contain NaN or infinity")
    return images


def rgb_to_hue(images) -> np.ndarray:
    """Hue in [0, 1) of RGB images (N, 3, H, W) -> (N, H, W) (formula in the module).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import classic
    >>> red_green = np.zeros((1, 3, 1, 2)); red_green[0, 0, 0, 0] = 1; red_green[0, 1, 0, 1] = 1
    >>> np.round(classic.rgb_to_hue(red_green), 4)
    array([[[0.    , 0.3333]]])
    """
    images = _as_images(images)
    if images.shape[1] != 3:
        raise ValueError(f"hue needs RGB images (N, 3, H, W), got {images.shape}")
    r, g, b = images[:, 0], images[:, 1], images[:, 2]
    high, low = images.max(axis=1), images.min(axis=1)
    delta = high - low
    safe = np.where(delta == 0, 1, delta)
    hue = np.where(high == r, ((g - b) / safe) % 6,
                   np.where(high == g, (b - r) / safe + 2, (r - g) / safe + 4))
    return np.where(delta == 0, 0.0, hue / 6) % 1.0


def color_histogram(images, n_bins: int = 10) -> np.ndarray:
    """Hue histogram of each RGB image: the fraction of pixels in each of ``n_bins``
    equal bins over [0, 1). Shape (N, n_bins); each row sums to 1.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import classic
    >>> images = np.zeros((2, 3, 4, 4)); images[:, 0] = 1.0   # all red
    >>> hist = classic.color_histogram(images, n_bins=4)
    >>> hist.shape, np.round(hist.sum(axis=1), 4)
    ((2, 4), array([1., 1.]))
    """
    hue = rgb_to_hue(images)
    N = len(hue)
    bins = np.minimum((hue * n_bins).astype(np.intp), n_bins - 1)
    index = (np.arange(N)[:, None, None] * n_bins + bins).ravel()
    counts = np.bincount(index, minlength=N * n_bins).reshape(N, n_bins)
    return counts / hue[0].size


def _grayscale(images: np.ndarray) -> np.ndarray:
    if images.shape[1] == 1:
        return images[:, 0]
    if images.shape[1] == 3:
        return np.einsum("nchw,c->nhw", images, _LUMA)
    raise ValueError(f"HOG needs grayscale or RGB images, got {images.shape[1]} channels")


def _normalize_blocks(blocks: np.ndarray, method: str, eps: float = 1e-5) -> np.ndarray:
    """Normalise each block over its last three axes (scikit-image's definitions)."""
    axes = (-3, -2, -1)
    if method in ("L1", "L1-sqrt"):
        out = blocks / (np.abs(blocks).sum(axis=axes, keepdims=True) + eps)
        return np.sqrt(out) if method == "L1-sqrt" else out
    out = blocks / np.sqrt((blocks**2).sum(axis=axes, keepdims=True) + eps**2)
    if method == "L2-Hys":
        out = np.minimum(out, 0.2)
        out = out / np.sqrt((out**2).sum(axis=axes, keepdims=True) + eps**2)
    return out


def hog(images, orientations: int = 9, pixels_per_cell: int = 8,
        cells_per_block: int | None = 2, block_norm: str = "L2-Hys") -> np.ndarray:
    """Histogram of oriented gradients of each image, flattened: (N, n_features).

    RGB images are converted to grayscale (0.299 r + 0.587 g + 0.114 b). With
    ``cells_per_block=None`` the raw cell histograms are returned,
    (N, n_cells_r * n_cells_c * orientations); otherwise the normalised blocks,
    (N, n_blocks_r * n_blocks_c * b * b * orientations), n_blocks = n_cells - b + 1,
    in ``skimage.feature.hog``'s order. Pixels beyond the last whole cell are ignored.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import classic
    >>> features = classic.hog(np.random.default_rng(0).random((2, 16, 16)))
    >>> features.shape
    (2, 36)
    """
    if block_norm not in BLOCK_NORMS:
        raise ValueError(f"block_norm must be one of {BLOCK_NORMS}, got {block_norm!r}")
    gray = _grayscale(_as_images(images))
    N, H, W = gray.shape
    p = pixels_per_cell
    n_rows, n_cols = H // p, W // p
    if n_rows == 0 or n_cols == 0:
        raise ValueError(f"images of {H}x{W} pixels hold no {p}x{p} cell")
    g_row, g_col = np.zeros_like(gray), np.zeros_like(gray)
    g_row[:, 1:-1] = gray[:, 2:] - gray[:, :-2]
    g_col[:, :, 1:-1] = gray[:, :, 2:] - gray[:, :, :-2]
    magnitude = np.hypot(g_row, g_col)[:, :n_rows * p, :n_cols * p]
    angle = np.rad2deg(np.arctan2(g_row, g_col))[:, :n_rows * p, :n_cols * p] % 180
    bins = np.minimum((angle / (180 / orientations)).astype(np.intp), orientations - 1)
    cell_r = np.arange(n_rows * p) // p
    cell_c = np.arange(n_cols * p) // p
    cell = (np.arange(N)[:, None, None] * n_rows + cell_r[:, None]) * n_cols + cell_c
    index = (cell * orientations + bins).ravel()
    histogram = np.bincount(index, weights=magnitude.ravel(),
                            minlength=N * n_rows * n_cols * orientations)
    histogram = histogram.reshape(N, n_rows, n_cols, orientations) / p**2
    if cells_per_block is None:
        return histogram.reshape(N, -1)
    b = cells_per_block
    if b > min(n_rows, n_cols):
        raise ValueError(f"cells_per_block={b} exceeds the {n_rows}x{n_cols} cell grid")
    windows = np.lib.stride_tricks.sliding_window_view(histogram, (b, b), axis=(1, 2))
    blocks = windows.transpose(0, 1, 2, 4, 5, 3)  # (N, blocks_r, blocks_c, b, b, orient)
    return _normalize_blocks(blocks, block_norm).reshape(N, -1)


class FeaturePipeline(BaseEstimator):
    """Concatenate feature extractors and standardise the result.

    Parameters
    ----------
    extractors : sequence of callables
        Each maps images (N, C, H, W) to features (N, F_i); e.g. ``hog`` and
        ``color_histogram`` (use ``functools.partial`` to set their arguments).
    normalize : bool
        Standardise each feature with the training mean and standard deviation:
        f <- (f - mean_) / std_ (a constant feature keeps std 1).

    Attributes
    ----------
    mean_, std_ : (F,) arrays    n_features_out_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import classic
    >>> images = np.random.default_rng(0).random((4, 3, 16, 16))
    >>> features = classic.FeaturePipeline().fit_transform(images)
    >>> features.shape[0]
    4
    """

    def __init__(self, extractors: Sequence[Callable] = (hog, color_histogram),
                 normalize: bool = True):
        self.extractors = extractors
        self.normalize = normalize

    def _extract(self, images) -> np.ndarray:
        if not self.extractors:
            raise ValueError("FeaturePipeline needs at least one extractor")
        return np.hstack([as_2d(extract(images), "features") for extract in self.extractors])

    def fit(self, images, y=None) -> FeaturePipeline:
        """Learn the standardisation from training images; return ``self``."""
        self._fit_features(self._extract(images))
        return self

    def _fit_features(self, features: np.ndarray) -> None:
        self.mean_ = features.mean(axis=0) if self.normalize else np.zeros(features.shape[1])
        std = features.std(axis=0) if self.normalize else np.ones(features.shape[1])
        self.std_ = np.where(std == 0, 1.0, std)
        self.n_features_out_ = features.shape[1]

    def transform(self, images) -> np.ndarray:
        """The concatenated, standardised features (N, F)."""
        self._check_fitted("mean_")
        features = self._extract(images)
        if features.shape[1] != self.n_features_out_:
            raise ValueError(f"these images give {features.shape[1]} features, but the "
                             f"pipeline was fitted on images giving {self.n_features_out_}")
        return (features - self.mean_) / self.std_

    def fit_transform(self, images, y=None) -> np.ndarray:
        """``fit(images).transform(images)``, extracting the features once."""
        features = self._extract(images)
        self._fit_features(features)
        return (features - self.mean_) / self.std_
