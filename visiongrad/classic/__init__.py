"""Classical image classification and linear algebra: the course's first half.

kNN, linear SVM and softmax with hand-derived gradients, image features (hue histogram,
HOG), PCA and least squares, eigenfaces and t-SNE, all in NumPy. Estimators follow
scikit-learn's conventions (see :mod:`visiongrad.classic.base`), without depending on it.
"""

from .base import BaseEstimator, NotFittedError
from .eigenfaces import Eigenfaces, normalize_contrast
from .features import FeaturePipeline, color_histogram, hog, rgb_to_hue
from .knn import CrossValidationResult, KNearestNeighbor, cross_validate_k, pairwise_distances
from .linear import (
    LinearSVM,
    Softmax,
    random_search,
    regularization,
    softmax_loss_naive,
    softmax_loss_vectorized,
    svm_loss_naive,
    svm_loss_vectorized,
)
from .pca import PCA, IllConditionedWarning, least_squares, pinv
from .tsne import TSNE

__all__ = [
    "BaseEstimator", "CrossValidationResult", "Eigenfaces", "FeaturePipeline",
    "IllConditionedWarning", "KNearestNeighbor", "LinearSVM", "NotFittedError", "PCA",
    "Softmax", "TSNE", "color_histogram", "cross_validate_k", "hog", "least_squares",
    "normalize_contrast",
    "pairwise_distances", "pinv", "random_search", "regularization", "rgb_to_hue",
    "softmax_loss_naive", "softmax_loss_vectorized", "svm_loss_naive",
    "svm_loss_vectorized",
]
