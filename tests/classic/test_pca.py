import warnings

import numpy as np
import pytest

from visiongrad.classic import PCA, IllConditionedWarning, least_squares, pinv


def _data(seed=0, N=300, D=20):
    rng = np.random.default_rng(seed)
    scales = np.linspace(5, 0.1, D)
    return rng.normal(size=(N, D)) * scales @ np.linalg.qr(rng.normal(size=(D, D)))[0] + 3


def test_svd_and_covariance_routes_agree():
    X = _data()
    a, b = PCA(8, solver="svd").fit(X), PCA(8, solver="covariance").fit(X)
    np.testing.assert_allclose(a.explained_variance_, b.explained_variance_, rtol=1e-10)
    np.testing.assert_allclose(a.components_, b.components_, atol=1e-8)  # signs fixed alike
    np.testing.assert_allclose(a.singular_values_, b.singular_values_, rtol=1e-10)


@pytest.mark.parametrize("solver", ["svd", "covariance"])
def test_components_are_orthonormal_eigenvectors_of_the_covariance(solver):
    X = _data()
    model = PCA(5, solver=solver).fit(X)
    V = model.components_
    np.testing.assert_allclose(V @ V.T, np.eye(5), atol=1e-12)
    covariance = np.cov(X, rowvar=False)
    np.testing.assert_allclose(covariance @ V.T, V.T * model.explained_variance_, atol=1e-9)
    assert np.all(np.diff(model.explained_variance_) <= 0)
    ratio = model.explained_variance_ / np.trace(covariance)
    np.testing.assert_allclose(model.explained_variance_ratio_, ratio)
    rows = np.arange(5)
    assert np.all(V[rows, np.abs(V).argmax(1)] > 0)


def test_transform_and_inverse_transform():
    X = _data()
    full = PCA(solver="svd").fit(X)
    np.testing.assert_allclose(full.inverse_transform(full.transform(X)), X, atol=1e-10)
    np.testing.assert_allclose(full.explained_variance_ratio_.sum(), 1.0)
    model = PCA(3).fit(X)
    Z = model.transform(X)
    np.testing.assert_allclose(Z, (X - X.mean(0)) @ model.components_.T)
    np.testing.assert_allclose(Z.var(axis=0, ddof=1), model.explained_variance_, rtol=1e-10)
    residual = X - model.inverse_transform(Z)
    expected = full.explained_variance_[3:].sum() * (len(X) - 1)
    assert (residual**2).sum() == pytest.approx(expected, rel=1e-9)


def test_matches_scikit_learn():
    decomposition = pytest.importorskip("sklearn.decomposition",
                                        reason="scikit-learn not installed")
    X = _data(N=500, D=30)
    ours = PCA(10).fit(X)
    theirs = decomposition.PCA(10, svd_solver="full").fit(X)
    np.testing.assert_allclose(ours.explained_variance_, theirs.explained_variance_, rtol=1e-10)
    np.testing.assert_allclose(ours.explained_variance_ratio_,
                               theirs.explained_variance_ratio_, rtol=1e-10)
    signs = np.sign(np.sum(ours.components_ * theirs.components_, axis=1))
    np.testing.assert_allclose(ours.components_, theirs.components_ * signs[:, None],
                               atol=1e-8)


def test_bad_input():
    X = _data()
    with pytest.raises(ValueError, match=r"n_components must be an integer in \[1, min"):
        PCA(21).fit(X)
    with pytest.raises(ValueError, match="solver must be one of"):
        PCA(2, solver="qr").fit(X)
    model = PCA(2).fit(X)
    with pytest.raises(ValueError, match="X has 19 features, but PCA was fitted with 20"):
        model.transform(X[:, :19])
    with pytest.raises(ValueError, match="Z has 3 columns, but PCA has 2 components"):
        model.inverse_transform(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="NaN"):
        PCA(2).fit(np.where(X > 4, np.nan, X))


def test_least_squares_by_normal_equations_matches_lstsq():
    rng = np.random.default_rng(0)
    A, b = rng.normal(size=(50, 6)), rng.normal(size=(50, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = least_squares(A, b)
    np.testing.assert_allclose(x, np.linalg.lstsq(A, b, rcond=None)[0], rtol=1e-10)
    np.testing.assert_allclose(A.T @ (A @ x - b), 0, atol=1e-10)  # the normal equations


def test_rank_deficient_least_squares_warns_and_gives_the_minimum_norm_solution():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(30, 4))
    A = np.hstack([A, A[:, :1] + A[:, 1:2]])  # column 5 = column 1 + column 2
    b = rng.normal(size=30)
    with pytest.warns(IllConditionedWarning, match="pseudoinverse"):
        x = least_squares(A, b)
    np.testing.assert_allclose(x, np.linalg.lstsq(A, b, rcond=None)[0], atol=1e-10)
    np.testing.assert_allclose(pinv(A), np.linalg.pinv(A), atol=1e-10)


def test_ill_conditioned_least_squares_warns_with_the_condition_number():
    rng = np.random.default_rng(1)
    U, _ = np.linalg.qr(rng.normal(size=(40, 3)))
    A = U * np.array([1.0, 1e-3, 1e-9])
    b = rng.normal(size=40)
    with pytest.warns(IllConditionedWarning, match=r"cond\(A\) ~ 1e\+09"):
        least_squares(A, b)
    with pytest.raises(ValueError, match="as many rows as b"):
        least_squares(A, b[:-1])
