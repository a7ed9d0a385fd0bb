"""Sample-quality metrics for GANs, on an in-project Fashion-MNIST classifier.

NOTE: these are NOT FID and the Inception Score: both are defined on Google's Inception
network trained on ImageNet, which this project neither has nor could apply to 28 x 28 grey
images. Here the same formulas run on :class:`FeatureClassifier`, a small convnet trained
(:func:`visiongrad.recipes.generate.train_feature_classifier`) on Fashion-MNIST's training
set: its 128-unit hidden layer gives the features of
the Fréchet distance, its softmax the predictions of the confidence score. Numbers are
comparable only with numbers from the same classifier; the floor to compare against is the
same metric of real test images against real training images.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn
from ..autograd import no_grad


def sqrtm_psd(matrix: np.ndarray) -> np.ndarray:
    """The symmetric square root of a symmetric positive semi-definite matrix.

    With the eigendecomposition A = V diag(l) V^T (``numpy.linalg.eigh``), sqrt(A) =
    V diag(sqrt(max(l, 0))) V^T; eigenvalues below zero are rounding errors and become 0.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"sqrtm_psd needs a square matrix, got shape {matrix.shape}")
    symmetric = (matrix + matrix.T) / 2.0
    eigenvalues, vectors = np.linalg.eigh(symmetric)
    return (vectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ vectors.T


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two sets of features (N, D).

    d^2 = |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)), where the trace of the
    (non-symmetric) product's square root is computed symmetrically as
    tr((S_a^(1/2) S_b S_a^(1/2))^(1/2)): the two matrices are similar, and the second is
    symmetric PSD, so :func:`sqrtm_psd` applies.
    """
    a, b = (np.asarray(f, dtype=np.float64) for f in (features_a, features_b))
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError("frechet_distance needs two (N, D) feature arrays with the same D and "
                         f"N >= 2, got {a.shape} and {b.shape}")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = (np.atleast_2d(np.cov(f, rowvar=False)) for f in (a, b))
    root_a = sqrtm_psd(cov_a)
    cross = np.trace(sqrtm_psd(root_a @ cov_b @ root_a))
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * cross)


def confidence_score(probabilities: np.ndarray) -> float:
    """exp(E_x KL(p(y | x) || p(y))): the Inception Score's formula on our classifier's
    softmax (N, K). High when each image is classified confidently (low entropy) and the
    classes are diverse (high entropy of the marginal p(y)); at most K."""
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"confidence_score needs probabilities (N, K), got {p.shape}")
    marginal = p.mean(axis=0, keepdims=True)
    kl = np.sum(p * (np.log(p + 1e-12) - np.log(marginal + 1e-12)), axis=1)
    return float(np.exp(kl.mean()))


class FeatureClassifier(nn.Module):
    """conv 5x5 (32) - ReLU - pool - conv 5x5 (64) - ReLU - pool - fc 128 - ReLU - fc 10,
    on images in [0, 1]; ``features`` is the 128-unit layer."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(64 * 7 * 7, 128), nn.ReLU())
        self.classifier = nn.Linear(128, 10)

    def forward(self, x):
        return self.classifier(self.body(x))

    def features_and_probabilities(self, images: np.ndarray, batch_size: int = 500):
        """(features (N, 128), softmax (N, 10)) of images (N, 1, 28, 28) in [0, 1]."""
        feats, probs = [], []
        self.eval()
        with no_grad():
            for start in range(0, len(images), batch_size):
                h = self.body(np.asarray(images[start:start + batch_size], dtype=np.float32))
                feats.append(h.data)
                probs.append(F.softmax(self.classifier(h), dim=1).data)
        return np.concatenate(feats), np.concatenate(probs)


def gan_quality(classifier: FeatureClassifier, samples: np.ndarray, reference: np.ndarray,
                test: np.ndarray) -> dict:
    """Fréchet distance of ``samples`` to the ``reference`` (training) images, its floor
    (as many ``test`` images as samples against the same reference: the distance's bias
    grows as the number of images falls, so the floor uses the same number; also reported
    with all test images), both confidence scores, and the share of each predicted class
    among the samples; all images (N, 1, 28, 28) in [0, 1]."""
    f_ref, _ = classifier.features_and_probabilities(reference)
    f_test, p_test = classifier.features_and_probabilities(test)
    f_gen, p_gen = classifier.features_and_probabilities(samples)
    shares = np.bincount(p_gen.argmax(axis=1), minlength=10) / len(samples)
    return {"frechet_distance": frechet_distance(f_gen, f_ref),
            "frechet_floor_test_vs_train": frechet_distance(f_test[:len(samples)], f_ref),
            "frechet_floor_all_test_vs_train": frechet_distance(f_test, f_ref),
            "confidence_score": confidence_score(p_gen),
            "confidence_score_real_test": confidence_score(p_test),
            "predicted_class_shares": [float(s) for s in shares]}
