import numpy as np
import pytest

from visiongrad.train import accuracy, classification_scores, confusion_matrix, per_class_accuracy


def test_confusion_matrix_counts_true_rows_predicted_columns():
    labels = np.array([0, 0, 1, 2, 2, 2])
    predictions = np.array([0, 1, 1, 2, 0, 2])
    expected = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    np.testing.assert_array_equal(confusion_matrix(labels, predictions, 3), expected)
    np.testing.assert_allclose(per_class_accuracy(expected), [0.5, 1.0, 2 / 3])
    assert accuracy(labels, predictions) == pytest.approx(4 / 6)


def test_class_without_examples_has_nan_accuracy():
    confusion = confusion_matrix(np.array([0, 0]), np.array([0, 1]), num_classes=3)
    result = per_class_accuracy(confusion)
    assert result[0] == 0.5 and np.isnan(result[1]) and np.isnan(result[2])


def test_classification_scores_loss_is_mean_negative_log_probability():
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.6, 0.1]])
    labels = np.array([0, 2, 0])
    scores = classification_scores(labels, probabilities=probabilities)
    assert scores["loss"] == pytest.approx(-np.mean(np.log([0.7, 0.8, 0.3])))
    assert scores["accuracy"] == pytest.approx(2 / 3)
    assert scores["confusion"].sum() == 3
    from_predictions = classification_scores(labels, predictions=np.array([0, 2, 1]),
                                             num_classes=3)
    assert "loss" not in from_predictions
    for key in ("accuracy", "confusion", "per_class_accuracy"):
        np.testing.assert_array_equal(from_predictions[key], scores[key])
    with pytest.raises(ValueError, match="exactly one"):
        classification_scores(labels)


def test_bad_metric_input():
    with pytest.raises(ValueError, match="same length"):
        accuracy(np.array([0, 1]), np.array([0]))
    with pytest.raises(TypeError, match="integers"):
        accuracy(np.array([0.0, 1.0]), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        confusion_matrix(np.array([0, 2]), np.array([0, 1]), num_classes=2)
