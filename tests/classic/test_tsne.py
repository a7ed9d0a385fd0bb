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


# ----- Barnes-Hut ---------------------------------------------------------------------------
from visiongrad.classic import barnes_hut  # noqa: E402
from visiongrad.classic.tsne import (  # noqa: E402
    barnes_hut_gradient,
    sparse_affinities,
    sparse_kl_divergence,
)


def _dense(rows, cols, values, n):
    P = np.zeros((n, n))
    P[rows, cols] = values
    return P


def _exact_repulsion(Y):
    diff = Y[:, None] - Y[None]
    w = 1 / (1 + (diff ** 2).sum(-1))
    np.fill_diagonal(w, 0)
    return ((w ** 2)[..., None] * diff).sum(1), w.sum()


@pytest.fixture(params=["compiled", "numpy"])
def path(request, monkeypatch):
    """Run a test on the compiled kernels (skipped where not built) and on NumPy."""
    if request.param == "numpy":
        monkeypatch.setattr(barnes_hut, "tsne_repulsion", lambda Y, theta: None)
        monkeypatch.setattr(barnes_hut, "tsne_attraction", lambda *args: None)
    elif barnes_hut.tsne_repulsion(np.zeros((2, 2)), 0.5) is None:
        pytest.skip("the compiled t-SNE kernels are not built")
    return request.param


def test_neighbours_match_brute_force():
    X = np.random.default_rng(0).normal(size=(50, 3))
    distances, indices = barnes_hut.nearest_neighbours(X, 7, block=16)
    full = ((X[:, None] - X[None]) ** 2).sum(-1)
    np.fill_diagonal(full, np.inf)
    np.testing.assert_array_equal(indices, np.argsort(full, axis=1)[:, :7])
    np.testing.assert_allclose(distances, np.sort(full, axis=1)[:, :7], atol=1e-10)


def test_sparse_affinities_on_all_neighbours_are_the_exact_joint_p():
    X = np.random.default_rng(1).normal(size=(40, 4))
    dense = _dense(*sparse_affinities(X, perplexity=15), 40)  # 3 * 15 >= N - 1: all pairs
    P = conditional_affinities(X, perplexity=15)
    np.testing.assert_allclose(dense, (P + P.T) / 80, atol=1e-15)
    rows, cols, values = sparse_affinities(X, perplexity=3)  # 9 neighbours each
    assert values.sum() == pytest.approx(1) and np.all(np.diff(rows) >= 0)
    np.testing.assert_allclose(_dense(rows, cols, values, 40), _dense(rows, cols, values, 40).T)


def test_repulsion_is_exact_at_angle_zero_and_close_at_one_half(path):
    Y = np.random.default_rng(2).normal(size=(300, 2)) * 5
    Y[7] = Y[8] = Y[9]  # coincident points share a leaf
    exact_force, exact_z = _exact_repulsion(Y)
    force, z = barnes_hut.repulsive_forces(Y, 0.0)
    np.testing.assert_allclose(force, exact_force, atol=1e-12)
    assert z == pytest.approx(exact_z, rel=1e-12)
    force, z = barnes_hut.repulsive_forces(Y, 0.5)
    assert np.abs(force - exact_force).max() < 0.02 * np.abs(exact_force).max()
    assert z == pytest.approx(exact_z, rel=0.01)


def test_compiled_and_numpy_walks_agree():
    Y = np.random.default_rng(3).normal(size=(5000, 2))  # large enough for one part per core
    compiled = barnes_hut.tsne_repulsion(Y, 0.5)
    if compiled is None:
        pytest.skip("the compiled t-SNE kernels are not built")
    force, z = barnes_hut.QuadTree(Y).repulsion(Y, 0.5)
    np.testing.assert_allclose(compiled[0], force, rtol=1e-9, atol=1e-12)
    assert compiled[1] == pytest.approx(z, rel=1e-12)


def test_barnes_hut_gradient_at_angle_zero_is_the_exact_gradient(path):
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(60, 5)), rng.normal(size=(60, 2))
    rows, cols, values = sparse_affinities(X, perplexity=25)  # all pairs
    P = _dense(rows, cols, values, 60)
    np.testing.assert_allclose(barnes_hut_gradient(rows, cols, values, Y, 0.0),
                               _kl_gradient(P, Y), atol=1e-12)
    assert sparse_kl_divergence(rows, cols, values, Y, 0.0) == pytest.approx(
        kl_divergence(P, Y), rel=1e-6)


def test_barnes_hut_embedding_is_as_good_as_the_exact_one():
    rng = np.random.default_rng(5)
    centres = rng.normal(scale=6.0, size=(4, 20))
    y = np.repeat(np.arange(4), 60)
    X = centres[y] + rng.normal(size=(240, 20))
    exact = TSNE(perplexity=20, n_iter=400, method="exact", seed=0).fit(X)
    fast = TSNE(perplexity=20, n_iter=400, seed=0).fit(X)
    P = conditional_affinities(X, 20)
    P = np.maximum((P + P.T) / 480, 1e-12)
    np.fill_diagonal(P, 0)
    assert kl_divergence(P, fast.embedding_) < 1.1 * kl_divergence(P, exact.embedding_)
    assert fast.kl_divergence_ == pytest.approx(exact.kl_divergence_, rel=0.15)
    even = np.arange(240) % 2 == 0
    Y = fast.embedding_
    assert KNearestNeighbor(k=1).fit(Y[even], y[even]).score(Y[~even], y[~even]) > 0.95


def test_barnes_hut_checks_its_options():
    X = np.random.default_rng(6).normal(size=(30, 4))
    with pytest.raises(ValueError, match="n_components=3"):
        TSNE(n_components=3, perplexity=5).fit(X)
    with pytest.raises(ValueError, match="method must be"):
        TSNE(method="fft", perplexity=5).fit(X)
    with pytest.raises(ValueError, match=r"angle must be a finite number in \[0, 1\]"):
        TSNE(angle=2.0, perplexity=5).fit(X)
    assert TSNE(n_components=3, method="exact", perplexity=5, n_iter=5).fit_transform(
        X).shape == (30, 3)
