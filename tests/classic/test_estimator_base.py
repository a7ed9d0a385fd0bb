import numpy as np
import pytest

from visiongrad.classic import PCA, KNearestNeighbor, LinearSVM, NotFittedError, Softmax
from visiongrad.classic.base import as_2d
from visiongrad.random import as_generator


def test_get_params_returns_constructor_arguments_and_set_params_changes_them():
    model = KNearestNeighbor(k=3, metric="l1")
    assert model.get_params() == {"k": 3, "metric": "l1", "weights": "uniform",
                                  "working_memory": 256, "n_threads": None}
    assert model.set_params(k=7) is model and model.k == 7
    assert repr(model).startswith("KNearestNeighbor(k=7, metric='l1'")
    with pytest.raises(ValueError, match="has no parameter 'K'"):
        model.set_params(K=1)


def test_init_only_stores_arguments_and_fit_returns_self(blobs):
    X, y, _, _ = blobs
    for model in (KNearestNeighbor(), LinearSVM(n_epochs=1), Softmax(n_epochs=1), PCA(2)):
        learned = [name for name in vars(model) if name.endswith("_")]
        assert learned == []
        assert model.fit(X, y) is model
        assert any(name.endswith("_") and not name.startswith("_") for name in vars(model))


def test_images_are_flattened_in_c_order():
    images = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)
    flat = as_2d(images)
    assert flat.shape == (2, 60) and flat.dtype == np.float64
    c, h, w = 2, 1, 3
    assert flat[1, (c * 4 + h) * 5 + w] == images[1, c, h, w]
    assert as_2d(np.ones((2, 3), np.float32)).dtype == np.float32


@pytest.mark.parametrize("bad, message", [
    (np.ones(5), "must have shape"),
    (np.array([[1.0, np.nan]]), "NaN"),
    (np.array([[1.0, np.inf]]), "NaN or infinity"),
    (np.array([["a", "b"]]), "numeric"),
    (np.ones((0, 3)), "no samples"),
])
def test_bad_arrays_raise_clear_errors(bad, message):
    with pytest.raises(ValueError, match=message):
        as_2d(bad)


@pytest.mark.parametrize("model", [KNearestNeighbor(k=1), LinearSVM(n_epochs=1),
                                   Softmax(n_epochs=1)])
def test_classifiers_reject_bad_input(model, blobs):
    X, y, Xt, _ = blobs
    with pytest.raises(NotFittedError, match="not fitted yet"):
        model.predict(Xt)
    with pytest.raises(ValueError, match="NaN"):
        model.fit(np.where(X == X[0, 0], np.nan, X), y)
    with pytest.raises(ValueError, match="one label per sample"):
        model.fit(X, y[:-1])
    model.fit(X, y)
    with pytest.raises(ValueError, match="X has 9 features, but .* fitted with 10 features"):
        model.predict(Xt[:, :9])
    with pytest.raises(ValueError, match="NaN"):
        model.predict(np.full_like(Xt, np.nan))


def test_randomness_comes_from_the_library_generator_or_the_seed():
    import visiongrad as vg
    vg.manual_seed(3)
    a = as_generator(None).random()
    vg.manual_seed(3)
    assert as_generator(None).random() == a
    state = np.random.get_state()[1].copy()
    assert as_generator(5).random() == np.random.default_rng(5).random()
    assert np.array_equal(np.random.get_state()[1], state)
