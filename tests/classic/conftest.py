"""Fixtures for tests/classic: small synthetic problems and the real data, when present."""

import numpy as np
import pytest


@pytest.fixture
def blobs():
    """Three well-separated Gaussian classes in 10-D: (X_train, y_train, X_test, y_test)."""
    rng = np.random.default_rng(1)
    centres = rng.normal(scale=4.0, size=(3, 10))
    y = rng.integers(0, 3, 360)
    X = centres[y] + rng.normal(size=(360, 10))
    return X[:300], y[:300], X[300:], y[300:]


@pytest.fixture
def fashion_mnist():
    """A loader ``(split, n) -> (X, y)``: the first ``n`` images of a Fashion-MNIST split
    as (n, 784) floats in [0, 1]; the test skips when the data or the reader is absent."""
    return _fashion_mnist_or_skip


def _fashion_mnist_or_skip(split: str, n: int):
    try:
        from visiongrad.data import load_dataset
    except ImportError:
        pytest.skip("visiongrad.data.load_dataset is not available yet")
    try:
        ds = load_dataset("fashion-mnist", split=split)
    except (FileNotFoundError, OSError) as error:
        pytest.skip(f"full Fashion-MNIST is not installed: {error}")
    return ds.images[:n].reshape(n, -1) / 255.0, np.asarray(ds.labels[:n])


@pytest.fixture(scope="session")
def lfw():
    """scikit-image's lfw_subset: 100 faces then 100 non-faces, 25x25, in [0, 1]."""
    data = pytest.importorskip("skimage.data", reason="scikit-image is not installed")
    return data.lfw_subset()
