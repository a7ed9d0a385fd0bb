"""Every numeric hyperparameter of the classical estimators is checked at ``fit`` as
scikit-learn's ``Interval`` does (issue 28, item 3): NaN, infinity, bools, strings and
out-of-range values are one ValueError naming the parameter, never a silently NaN model."""

import math

import numpy as np
import pytest

from visiongrad.classic import TSNE, KNearestNeighbor, LinearSVM, Softmax

BAD = [math.nan, math.inf, -math.inf, "0.1", True, None]
PARAMS = [(LinearSVM, name) for name in ("learning_rate", "reg", "l1_ratio", "delta",
                                         "n_epochs", "batch_size", "lr_decay", "init_scale")]
PARAMS += [(Softmax, name) for name in ("learning_rate", "reg", "lr_decay", "init_scale")]
PARAMS += [(KNearestNeighbor, "working_memory"), (KNearestNeighbor, "n_threads")]
PARAMS += [(TSNE, name) for name in ("perplexity", "early_exaggeration", "learning_rate",
                                     "n_iter", "exaggeration_iters", "angle")]


def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((12, 3)), np.arange(12) % 3


# None is n_threads' documented default (all cores)
CASES = [(estimator, name, value) for estimator, name in PARAMS for value in BAD
         if not (value is None and name == "n_threads")]


@pytest.mark.parametrize("estimator, name, value", CASES, ids=repr)
def test_non_finite_or_wrongly_typed_hyperparameters_are_one_clear_error(estimator, name, value):
    X, y = data()
    model = estimator(**{name: value})
    with pytest.raises(ValueError, match=rf"{estimator.__name__}: {name} must be a finite "):
        model.fit(X, y) if estimator is not TSNE else model.fit(X)


def test_linear_svm_with_a_nan_learning_rate_is_refused_not_trained():
    X, y = data()
    with pytest.raises(ValueError, match="LinearSVM: learning_rate must be a finite number in "
                                         r"\(0, inf\], got nan"):
        LinearSVM(learning_rate=float("nan")).fit(X, y)
    assert LinearSVM(n_epochs=2, batch_size=4, seed=0).fit(X, y).W_.shape == (3, 3)
