import numpy as np
import pytest

from visiongrad.classic import TSNE, KNearestNeighbor
from visiongrad.classic.tsne import _kl_gradient, conditional_affinities, kl_divergence


def test_affinities_are_distributions_with_the_requested_perplexity():
    X = np.random.default_rng(0).normal(size=(60, 5))
    P = conditional_affinities(X, perplexity=10)
    np.testing.assert_allclose(P.sum(axis=1), 1)
    assert np.all(np.diag(P) == 0)
    entropy = -np.sum(np.where(P > 0, P * np.log(np.where(P > 0, P, 1)), 0), axis=1)
    np.testing.assert_allclose(np.exp(entropy), 10, rtol=1e-3)


def test_gradient_matches_centred_differences_of_the_kl_divergence():
    rng = np.random.default_rng(1)
    P = rng.random((12, 12))
    P = P + P.T
    np.fill_diagonal(P, 0)
    P /= P.sum()
    Y = rng.normal(size=(12, 2))
    analytic = _kl_gradient(P, Y)
    numerical = np.zeros_like(Y)
    h = 1e-6
    for index in np.ndindex(Y.shape):
        step = np.zeros_like(Y)
        step[index] = h
        numerical[index] = (kl_divergence(P, Y + step) - kl_divergence(P, Y - step)) / (2 * h)
    error = np.max(np.abs(analytic - numerical) / np.maximum(np.abs(analytic), np.abs(numerical)))
    assert error < 1e-6


def test_embedding_keeps_clusters_apart():
    rng = np.random.default_rng(2)
    centres = rng.normal(scale=6.0, size=(4, 30))
    y = np.repeat(np.arange(4), 50)
    X = centres[y] + rng.normal(size=(200, 30))
    model = TSNE(perplexity=20, n_iter=400, seed=0)
    Y = model.fit_transform(X)
    assert Y.shape == (200, 2) and np.isfinite(Y).all()
    assert model.kl_divergence_ < 1.0
    even = np.arange(200) % 2 == 0
    assert KNearestNeighbor(k=1).fit(Y[even], y[even]).score(Y[~even], y[~even]) > 0.95


def test_random_initialisation_is_reproducible_and_bad_perplexity_raises():
    X = np.random.default_rng(3).normal(size=(30, 4))
    a = TSNE(n_iter=50, init="random", perplexity=5, seed=1).fit_transform(X)
    b = TSNE(n_iter=50, init="random", perplexity=5, seed=1).fit_transform(X)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="perplexity must lie in"):
        TSNE(perplexity=40).fit(X)
