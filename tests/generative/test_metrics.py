"""Fréchet distance, matrix square root and confidence score (generative/metrics.py)."""

import numpy as np
import pytest

from visiongrad.generative import confidence_score, frechet_distance, sqrtm_psd
from visiongrad.generative.metrics import FeatureClassifier


def test_sqrtm_psd_matches_scipy():
    linalg = pytest.importorskip("scipy.linalg", reason="scipy is a test-only reference")
    rng = np.random.default_rng(0)
    for size, rank in [(5, 5), (8, 3)]:
        a = rng.standard_normal((size, rank))
        psd = a @ a.T
        root = sqrtm_psd(psd)
        np.testing.assert_allclose(root @ root, psd, atol=1e-10)
        np.testing.assert_allclose(root, np.real(linalg.sqrtm(psd)), atol=1e-6)
    with pytest.raises(ValueError, match="square"):
        sqrtm_psd(np.ones((2, 3)))


def _frechet_scipy(a, b, linalg):
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    cross = np.real(linalg.sqrtm(cov_a @ cov_b))
    return np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2 * cross)


def test_frechet_distance_matches_scipy_formula_and_closed_form():
    linalg = pytest.importorskip("scipy.linalg", reason="scipy is a test-only reference")
    rng = np.random.default_rng(1)
    a = rng.standard_normal((400, 6)) @ rng.standard_normal((6, 6))
    b = 0.5 + rng.standard_normal((300, 6)) @ rng.standard_normal((6, 6))
    assert frechet_distance(a, b) == pytest.approx(_frechet_scipy(a, b, linalg), rel=1e-8)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    # 1-D: (mu_a - mu_b)^2 + (sigma_a - sigma_b)^2
    x, y = rng.standard_normal((500, 1)), 3 + 2 * rng.standard_normal((500, 1))
    expected = (x.mean() - y.mean()) ** 2 + (x.std(ddof=1) - y.std(ddof=1)) ** 2
    assert frechet_distance(x, y) == pytest.approx(expected, rel=1e-10)
    with pytest.raises(ValueError, match="same D"):
        frechet_distance(a, b[:, :3])


def test_confidence_score_extremes():
    assert confidence_score(np.eye(10)) == pytest.approx(10.0)
    assert confidence_score(np.full((7, 10), 0.1)) == pytest.approx(1.0)
    one_class = np.zeros((5, 10))
    one_class[:, 3] = 1.0
    assert confidence_score(one_class) == pytest.approx(1.0)


def test_feature_classifier_shapes():
    model = FeatureClassifier()
    features, probabilities = model.features_and_probabilities(np.zeros((3, 1, 28, 28)),
                                                                batch_size=2)
    assert features.shape == (3, 128) and probabilities.shape == (3, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
