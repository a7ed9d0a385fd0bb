"""Preprocessing: each docstring formula computed independently, fit on train only, inverses."""

import numpy as np
import pytest

from visiongrad.classic import NotFittedError
from visiongrad.data import (
    ChannelNormalizer,
    MeanImageSubtraction,
    PCAWhitening,
    ScaleToUnit,
    ZCAWhitening,
)


@pytest.fixture
def train_test():
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(12, 12))
    def make(n):
        return np.clip(rng.normal(size=(n, 12)) @ mixing * 20 + 128, 0, 255).astype(np.uint8)
    return make(400).reshape(400, 3, 2, 2), make(50).reshape(50, 3, 2, 2)


def test_scale_to_unit(train_test):
    train, _ = train_test
    scaled = ScaleToUnit().fit(train).transform(train)
    assert scaled.dtype == np.float32 and scaled.min() >= 0 and scaled.max() <= 1
    np.testing.assert_allclose(scaled, train / 255.0, rtol=1e-6)
    np.testing.assert_allclose(ScaleToUnit().inverse_transform(scaled), train, atol=1e-4)


def test_mean_image_uses_training_data_only(train_test):
    train, test = train_test
    pre = MeanImageSubtraction().fit(train)
    by_hand = sum(image.astype(float) for image in train) / len(train)
    np.testing.assert_allclose(pre.mean_, by_hand)
    np.testing.assert_allclose(pre(test), test - by_hand, atol=1e-4)
    np.testing.assert_allclose(pre.inverse_transform(pre(test)), test, atol=1e-4)


def test_channel_normalizer_formula(train_test):
    train, test = train_test
    pre = ChannelNormalizer(scale=255.0).fit(train)
    for c in range(3):
        values = train[:, c].ravel() / 255.0
        mean, std = values.mean(), np.sqrt(((values - values.mean()) ** 2).mean())
        np.testing.assert_allclose(pre(test)[:, c], (test[:, c] / 255.0 - mean) / std, rtol=1e-4,
                                   atol=1e-5)
    z = pre(train)
    np.testing.assert_allclose(z.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=(0, 2, 3)), 1, atol=1e-5)
    np.testing.assert_allclose(pre.inverse_transform(pre(test)), test, atol=1e-3)


def _covariance(z):
    flat = z.reshape(len(z), -1).astype(np.float64)
    centred = flat - flat.mean(axis=0)
    return centred.T @ centred / len(flat)


def test_pca_whitening_gives_identity_covariance_and_matches_sklearn(train_test):
    train, test = train_test
    pre = PCAWhitening(eps=0.0).fit(train)
    z = pre(train)
    assert z.shape == (400, 12)
    np.testing.assert_allclose(_covariance(z), np.eye(12), atol=1e-4)
    np.testing.assert_allclose(pre.inverse_transform(pre(test)), test, atol=1e-3)
    decomposition = pytest.importorskip("sklearn.decomposition")
    reference = decomposition.PCA(whiten=True).fit(train.reshape(400, -1).astype(float))
    # sklearn divides by the n-1 variance; ours by the n variance (the docstring's Sigma).
    theirs = reference.transform(test.reshape(50, -1).astype(float)) * np.sqrt(400 / 399)
    np.testing.assert_allclose(np.abs(pre(test)), np.abs(theirs), rtol=1e-3, atol=1e-3)


def test_pca_fewer_components_reconstructs_the_projection(train_test):
    train, _ = train_test
    pre = PCAWhitening(n_components=3).fit(train)
    z = pre(train)
    assert z.shape == (400, 3)
    back = pre.inverse_transform(z).reshape(400, -1)
    residual = back - train.reshape(400, -1)
    np.testing.assert_allclose(residual @ pre.components_.T, 0, atol=1e-2)
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        pre.inverse_transform(np.zeros((2, 4)))


def test_zca_whitening_is_symmetric_and_stays_an_image(train_test):
    train, test = train_test
    pre = ZCAWhitening(eps=0.0).fit(train)
    z = pre(train)
    assert z.shape == train.shape and z.dtype == np.float32
    np.testing.assert_allclose(_covariance(z), np.eye(12), atol=1e-4)
    # ZCA is x -> W (x - mean) with W = U diag(1/sqrt(lambda)) U^T symmetric.
    u, lam = pre.components_.T, pre.explained_variance_
    w = u @ np.diag(1 / np.sqrt(lam)) @ u.T
    expected = (test.reshape(50, -1) - pre.mean_) @ w.T
    np.testing.assert_allclose(pre(test).reshape(50, -1), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(pre.inverse_transform(pre(test)), test, atol=1e-3)


@pytest.mark.parametrize("cls", [MeanImageSubtraction, ChannelNormalizer, PCAWhitening,
                                 ZCAWhitening])
def test_use_before_fit_and_shape_checks(cls, train_test):
    train, _ = train_test
    with pytest.raises(NotFittedError, match="not fitted"):
        cls().transform(train)
    fitted = cls().fit(train)
    with pytest.raises(ValueError, match=r"fitted on images of shape \(3, 2, 2\), got \(1, 2, 2\)"):
        fitted.transform(train[:, :1])
    with pytest.raises(ValueError, match=r"shape \(N, C, H, W\)"):
        fitted.transform(train[0])


def test_bad_options():
    with pytest.raises(ValueError, match="max_value must be positive"):
        ScaleToUnit(0)
    with pytest.raises(ValueError, match="n_components"):
        PCAWhitening(n_components=0)
    with pytest.raises(ValueError, match="exceeds the 12 pixels"):
        PCAWhitening(n_components=13).fit(np.zeros((5, 3, 2, 2)))
    with pytest.raises(ValueError, match="empty"):
        MeanImageSubtraction().fit(np.zeros((0, 1, 2, 2)))
