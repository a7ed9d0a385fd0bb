import numpy as np
import pytest

from visiongrad.classic import KNearestNeighbor, cross_validate_k, pairwise_distances
from visiongrad.classic.knn import pairwise_distances_naive


@pytest.mark.parametrize("metric", ["l1", "l2", "cosine"])
def test_vectorised_distances_match_the_two_loop_reference(metric):
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(7, 12)), rng.normal(size=(9, 12))
    B[3] = 0  # cosine distance to a zero vector is defined as 1
    np.testing.assert_allclose(pairwise_distances(A, B, metric),
                               pairwise_distances_naive(A, B, metric), atol=1e-12)


@pytest.mark.parametrize("metric", ["l1", "l2", "cosine"])
@pytest.mark.parametrize("working_memory", [0.001, 256])  # one query per chunk, or all
def test_kneighbors_are_the_k_smallest_exact_distances(metric, working_memory):
    rng = np.random.default_rng(1)
    X, Xt = rng.random((200, 30)), rng.random((37, 30))
    model = KNearestNeighbor(k=4, metric=metric, working_memory=working_memory, n_threads=2)
    distances, indices = model.fit(X, np.zeros(200, int)).kneighbors(Xt)
    reference = pairwise_distances_naive(Xt, X, metric)
    np.testing.assert_array_equal(indices, np.argsort(reference, axis=1, kind="stable")[:, :4])
    np.testing.assert_allclose(distances, np.sort(reference, axis=1)[:, :4], atol=1e-12)


def test_equal_distances_go_to_the_smaller_index_and_vote_ties_to_the_smaller_label():
    X = np.array([[1.0], [-1.0], [2.0], [-2.0]])
    y = np.array([7, 3, 7, 3])
    model = KNearestNeighbor(k=2).fit(X, y)
    np.testing.assert_array_equal(model.kneighbors([[0.0]])[1], [[0, 1]])
    assert model.predict([[0.0]])[0] == 3  # one vote each for 7 and 3: the smaller wins
    assert KNearestNeighbor(k=3).fit(X, y).predict([[0.1]])[0] == 7


def test_distance_weighting_lets_one_close_neighbour_outvote_two_far_ones():
    X = np.array([[0.0], [5.0], [5.1]])
    y = np.array([1, 0, 0])
    assert KNearestNeighbor(k=3).fit(X, y).predict([[0.5]])[0] == 0
    assert KNearestNeighbor(k=3, weights="distance").fit(X, y).predict([[0.5]])[0] == 1
    # an exact match votes alone
    assert KNearestNeighbor(k=3, weights="distance").fit(X, y).predict([[5.0]])[0] == 0


def test_predicts_string_free_arbitrary_integer_labels_and_scores(blobs):
    X, y, Xt, yt = blobs
    model = KNearestNeighbor(k=3).fit(X, y * 10 + 5)
    assert set(model.predict(Xt)) <= {5, 15, 25}
    assert model.score(Xt, yt * 10 + 5) > 0.95


def test_k_larger_than_training_set_and_bad_arguments_raise(blobs):
    X, y, Xt, _ = blobs
    with pytest.raises(ValueError, match=r"k=301 is larger than the training set \(300"):
        KNearestNeighbor(k=301).fit(X, y)
    with pytest.raises(ValueError, match="metric must be one of"):
        KNearestNeighbor(metric="l3").fit(X, y)
    with pytest.raises(ValueError, match="positive integer"):
        KNearestNeighbor(k=0).fit(X, y)
    with pytest.raises(ValueError, match="k=500 is larger"):
        KNearestNeighbor(k=1).fit(X, y).kneighbors(Xt, k=500)


def test_matches_scikit_learn_on_every_metric_and_weighting(blobs):
    neighbors = pytest.importorskip("sklearn.neighbors", reason="scikit-learn not installed")
    rng = np.random.default_rng(2)
    X, y, Xt = rng.random((400, 20)), rng.integers(0, 5, 400), rng.random((150, 20))
    for metric, name in [("l1", "manhattan"), ("l2", "euclidean"), ("cosine", "cosine")]:
        for weights in ("uniform", "distance"):
            ours = KNearestNeighbor(5, metric, weights).fit(X, y).predict(Xt)
            reference = neighbors.KNeighborsClassifier(
                5, weights=weights, algorithm="brute", metric=name).fit(X, y).predict(Xt)
            np.testing.assert_array_equal(ours, reference)


def test_cross_validate_k_reports_every_fold_and_picks_the_best(blobs):
    X, y, _, _ = blobs
    y = y.copy()
    y[::7] = (y[::7] + 1) % 3  # label noise: k=1 memorises it, larger k votes it away
    result = cross_validate_k(X, y, k_choices=[15, 1, 5], metrics=("l2", "l1"), n_folds=4,
                              seed=0)
    assert result.k_choices == [1, 5, 15]
    assert result.accuracies["l2"].shape == (3, 4)
    means = {m: a.mean(axis=1) for m, a in result.accuracies.items()}
    assert result.best_accuracy == max(m.max() for m in means.values())
    assert result.best_k in (5, 15)
    # each accuracy is that of a model trained on the other folds
    fold = np.array_split(np.random.default_rng(0).permutation(len(X)), 4)
    train = np.concatenate(fold[1:])
    expected = KNearestNeighbor(5).fit(X[train], y[train]).score(X[fold[0]], y[fold[0]])
    assert result.accuracies["l2"][1, 0] == pytest.approx(expected)


def test_agrees_with_scikit_learn_on_a_fashion_mnist_slice(fashion_mnist):
    neighbors = pytest.importorskip("sklearn.neighbors", reason="scikit-learn not installed")
    X, y = fashion_mnist("train", 2000)
    Xt, yt = fashion_mnist("test", 500)
    ours = KNearestNeighbor(k=5).fit(X, y).predict(Xt)
    reference = neighbors.KNeighborsClassifier(5, algorithm="brute").fit(X, y).predict(Xt)
    assert np.mean(ours == reference) >= 0.999
    assert abs(np.mean(ours == yt) - np.mean(reference == yt)) <= 0.002
