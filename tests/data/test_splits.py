"""Train/validation splits and k-fold: partitions, stratification, seeds, the course's CV."""

import numpy as np
import pytest

import visiongrad as vg
from visiongrad.data import KFold, cross_validate, train_val_indices, train_val_split


@pytest.fixture
def labels():
    return np.repeat(np.arange(4), [40, 30, 20, 10])[np.random.default_rng(3).permutation(100)]


def test_train_val_is_a_stratified_partition(labels):
    train, val = train_val_indices(labels, val_fraction=0.2, rng=0)
    assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(100))
    assert np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)
    np.testing.assert_array_equal(np.bincount(labels[val]), [8, 6, 4, 2])


def test_train_val_unstratified_size(labels):
    train, val = train_val_indices(labels, val_fraction=0.25, stratify=False, rng=0)
    assert len(val) == 25 and len(train) == 75 and not set(train) & set(val)


def test_train_val_split_arrays_keep_pairs(labels):
    images = np.arange(100)[:, None, None, None] * np.ones((1, 1, 2, 2), int)
    x_train, y_train, x_val, y_val = train_val_split(images, labels, 0.1, rng=1)
    np.testing.assert_array_equal(y_train, labels[x_train[:, 0, 0, 0]])
    np.testing.assert_array_equal(y_val, labels[x_val[:, 0, 0, 0]])
    assert len(x_train) + len(x_val) == 100


def test_seeds_and_library_generator(labels):
    first = train_val_indices(labels, 0.3, rng=5)[1]
    assert np.array_equal(first, train_val_indices(labels, 0.3, rng=5)[1])
    assert not np.array_equal(first, train_val_indices(labels, 0.3, rng=6)[1])
    global_state = np.random.get_state()[1].copy()
    vg.manual_seed(11)
    a = train_val_indices(labels, 0.3)[1]
    vg.manual_seed(11)
    assert np.array_equal(a, train_val_indices(labels, 0.3)[1])
    assert np.array_equal(global_state, np.random.get_state()[1])


@pytest.mark.parametrize("fraction", [0.0, 1.0, 0.001, -0.1])
def test_bad_val_fraction(labels, fraction):
    with pytest.raises(ValueError, match="val_fraction"):
        train_val_indices(labels, fraction)


def test_split_shape_mismatch():
    with pytest.raises(ValueError, match=r"shape \(3, 2\) and labels of shape \(4,\)"):
        train_val_split(np.zeros((3, 2)), np.zeros(4, int))


@pytest.mark.parametrize("stratify", [False, True])
def test_kfold_every_example_validated_once(labels, stratify):
    folds = list(KFold(5, stratify=stratify, rng=0).split(labels))
    assert len(folds) == 5
    validated = np.concatenate([val for _, val in folds])
    assert np.array_equal(np.sort(validated), np.arange(100))
    for train, val in folds:
        assert len(val) == 20 and not set(train) & set(val) and len(train) + len(val) == 100


def test_kfold_stratified_class_counts(labels):
    for _, val in KFold(5, stratify=True, rng=2).split(labels):
        np.testing.assert_array_equal(np.bincount(labels[val], minlength=4), [8, 6, 4, 2])


def test_kfold_unshuffled_matches_the_course_and_sklearn():
    sklearn = pytest.importorskip("sklearn.model_selection")
    labels = np.arange(23) % 3
    ours = list(KFold(4, shuffle=False).split(labels))
    course = np.array_split(np.arange(23), 4)
    theirs = list(sklearn.KFold(4).split(labels))
    for (train, val), expected, (their_train, their_val) in zip(ours, course, theirs, strict=True):
        np.testing.assert_array_equal(val, expected)
        np.testing.assert_array_equal(val, their_val)
        np.testing.assert_array_equal(train, their_train)


def test_kfold_too_few_examples():
    with pytest.raises(ValueError, match="n_splits must be at least 2"):
        KFold(1)
    with pytest.raises(ValueError, match="cannot make 5 folds of 3 examples"):
        list(KFold(5).split([0, 1, 0]))


def test_cross_validate_scores_each_fold(labels):
    images = labels[:, None].astype(float) + np.random.default_rng(0).normal(0, 0.1, (100, 1))
    seen = []

    def nearest_mean(x_train, y_train, x_val, y_val):
        seen.append(len(x_val))
        means = np.array([x_train[y_train == c].mean() for c in range(4)])
        return np.mean(np.abs(x_val - means).argmin(axis=1) == y_val)

    scores = cross_validate(nearest_mean, images, labels, n_splits=4, rng=0)
    assert scores.shape == (4,) and seen == [25] * 4
    assert scores.mean() == 1.0
    shuffled = cross_validate(nearest_mean, images, np.random.default_rng(1).permutation(labels),
                              n_splits=4, rng=0)
    assert shuffled.mean() < 0.6
