import numpy as np
import pytest

import visiongrad as vg
from visiongrad.classic import (
    LinearSVM,
    Softmax,
    random_search,
    regularization,
    softmax_loss_naive,
    softmax_loss_vectorized,
    svm_loss_naive,
    svm_loss_vectorized,
)

GRADCHECK_TOLERANCE = 1e-6
PENALTIES = [("l2", 0.5), ("l1", 0.5), ("elasticnet", 0.3)]


def _problem(seed=0, N=40, D=15, C=5, scale=0.5):
    rng = np.random.default_rng(seed)
    return (scale * rng.normal(size=(C, D)), 0.1 * rng.normal(size=C),
            rng.normal(size=(N, D)), rng.integers(0, C, N))


@pytest.mark.parametrize("naive, vectorized", [
    (svm_loss_naive, svm_loss_vectorized), (softmax_loss_naive, softmax_loss_vectorized)])
def test_loop_and_vectorised_losses_agree(naive, vectorized):
    W, b, X, y = _problem()
    for ours, reference in zip(vectorized(W, b, X, y), naive(W, b, X, y), strict=True):
        np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=1e-14)


def test_svm_margin_changes_the_loss_as_derived():
    W, b, X, y = _problem()
    assert svm_loss_vectorized(W, b, X, y, delta=2.0)[0] == pytest.approx(
        svm_loss_naive(W, b, X, y, delta=2.0)[0])
    assert svm_loss_vectorized(W, b, X, y, delta=2.0)[0] > svm_loss_vectorized(W, b, X, y)[0]


@pytest.mark.parametrize("model_class", [LinearSVM, Softmax])
@pytest.mark.parametrize("penalty, l1_ratio", PENALTIES)
def test_gradient_check_of_the_regularised_loss(model_class, penalty, l1_ratio):
    W, b, X, y = _problem(seed=3)
    model = model_class(reg=0.1, penalty=penalty, l1_ratio=l1_ratio)
    _, dW, db = model.loss(W, b, X, y)
    numerical_W = vg.numerical_gradient(lambda: model.loss(W, b, X, y)[0], W)
    numerical_b = vg.numerical_gradient(lambda: model.loss(W, b, X, y)[0], b)
    assert vg.relative_error(dW, numerical_W) < GRADCHECK_TOLERANCE
    assert vg.relative_error(db, numerical_b) < GRADCHECK_TOLERANCE


@pytest.mark.parametrize("penalty, l1_ratio", PENALTIES)
def test_regularisation_formula(penalty, l1_ratio):
    W = np.array([[1.0, -2.0], [0.5, 0.0]])
    rho = {"l2": 0.0, "l1": 1.0, "elasticnet": l1_ratio}[penalty]
    value, grad = regularization(W, 0.1, penalty, l1_ratio)
    assert value == pytest.approx(0.1 * (rho * 3.5 + (1 - rho) * 5.25))
    np.testing.assert_allclose(grad, 0.1 * (rho * np.sign(W) + 2 * (1 - rho) * W))
    with pytest.raises(ValueError, match="penalty must be one of"):
        regularization(W, 0.1, "l3")


@pytest.mark.parametrize("C", [3, 10])
def test_initial_losses_match_the_course_predictions(C):
    _, _, X, y = _problem(N=500, D=50, C=C)
    rng = np.random.default_rng(0)
    W, b = 1e-4 * rng.normal(size=(C, 50)), np.zeros(C)
    assert softmax_loss_vectorized(W, b, X, y)[0] == pytest.approx(np.log(C), rel=1e-2)
    assert svm_loss_vectorized(W, b, X, y, delta=1.0)[0] == pytest.approx(C - 1, rel=1e-2)
    assert svm_loss_vectorized(W, b, X, y, delta=2.0)[0] == pytest.approx(2 * (C - 1), rel=1e-2)


@pytest.mark.parametrize("model_class", [LinearSVM, Softmax])
def test_sgd_learns_separable_classes_and_records_the_loss(model_class, blobs):
    X, y, Xt, yt = blobs
    model = model_class(learning_rate=0.01, n_epochs=5, batch_size=50, seed=0).fit(X, y)
    assert model.score(Xt, yt) > 0.95
    assert model.loss_history_.shape == (5 * 6,)
    assert model.loss_history_[-6:].mean() < 0.5 * model.loss_history_[0]
    again = model_class(learning_rate=0.01, n_epochs=5, batch_size=50, seed=0).fit(X, y)
    np.testing.assert_array_equal(model.W_, again.W_)


def test_l1_penalty_drives_useless_weights_towards_zero(blobs):
    X, y, _, _ = blobs
    noise = np.random.default_rng(0).normal(size=(len(X), 40))
    X = np.hstack([X, noise])
    plain = Softmax(learning_rate=0.05, reg=0.0, n_epochs=20, seed=0).fit(X, y)
    sparse = Softmax(learning_rate=0.05, reg=0.02, penalty="l1", n_epochs=20, seed=0).fit(X, y)
    assert np.abs(sparse.W_[:, 10:]).mean() < 0.5 * np.abs(plain.W_[:, 10:]).mean()


def test_predict_proba_rows_are_the_softmax_of_the_scores(blobs):
    X, y, Xt, _ = blobs
    model = Softmax(n_epochs=2, learning_rate=0.01, seed=0).fit(X, y)
    probs = model.predict_proba(Xt)
    scores = Xt @ model.W_.T + model.b_
    np.testing.assert_allclose(probs, np.exp(scores) / np.exp(scores).sum(1, keepdims=True))
    np.testing.assert_array_equal(model.classes_[probs.argmax(1)], model.predict(Xt))


def test_templates_have_the_image_shape():
    rng = np.random.default_rng(0)
    images, y = rng.random((30, 1, 4, 5)), np.arange(30) % 3
    model = LinearSVM(n_epochs=1, seed=0).fit(images, y)
    templates = model.templates()
    assert templates.shape == (3, 1, 4, 5)
    np.testing.assert_array_equal(templates[2, 0, 1, 3], model.W_[2, 1 * 5 + 3])


def test_random_search_keeps_the_lowest_loss_of_its_trials(blobs):
    X, y, Xt, yt = blobs
    model = random_search(Softmax(reg=0.0), X, y, n_trials=50, scale=0.1, seed=0)
    assert model.loss_history_.shape == (50,)
    best = model.loss(model.W_, model.b_, X, np.unique(y, return_inverse=True)[1])[0]
    assert best == pytest.approx(model.loss_history_.min())
    assert model.score(Xt, yt) > 1 / 3  # better than chance, far below SGD


def test_bad_hyperparameters_raise(blobs):
    X, y, _, _ = blobs
    with pytest.raises(ValueError, match=r"learning_rate must be a finite number in \(0, inf\], "
                                         "got -1"):
        Softmax(learning_rate=-1).fit(X, y)
    with pytest.raises(ValueError, match=r"l1_ratio must be a finite number in \[0, 1\], got 2"):
        LinearSVM(penalty="elasticnet", l1_ratio=2).fit(X, y)


@pytest.mark.slow
@pytest.mark.parametrize("model_class, floor", [(Softmax, 0.81), (LinearSVM, 0.81)])
def test_fashion_mnist_slice_accuracy(model_class, floor, fashion_mnist):
    X, y = fashion_mnist("train", 10000)
    Xt, yt = fashion_mnist("test", 2000)
    assert model_class(n_epochs=10, seed=0).fit(X, y).score(Xt, yt) > floor
