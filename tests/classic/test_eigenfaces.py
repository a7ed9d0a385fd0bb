import numpy as np
import pytest

from visiongrad.classic import Eigenfaces, NotFittedError, normalize_contrast


def _roc_auc(negatives, positives):
    """Probability that a positive scores above a negative (ties count half)."""
    difference = positives[:, None] - negatives[None, :]
    return float(np.mean(difference > 0) + 0.5 * np.mean(difference == 0))


def test_distance_from_face_space_separates_held_out_faces_from_non_faces(lfw):
    images = normalize_contrast(lfw)
    faces, non_faces = images[:100], images[100:]
    model = Eigenfaces(n_components=5).fit(faces[:60])
    held_out = model.distance_from_face_space(faces[60:])
    others = model.distance_from_face_space(non_faces)
    assert _roc_auc(held_out, others) > 0.9


def test_occluded_face_reconstruction_is_closer_to_the_face(lfw):
    faces = lfw[:100]
    model = Eigenfaces(n_components=20).fit(faces[:70])
    test = faces[70:]
    mask = np.ones(test.shape[1:], bool)
    mask[6:14, 3:22] = False  # a bar across the eyes
    occluded = np.where(mask, test, 0.0)
    restored = model.reconstruct(occluded, mask=mask)
    assert restored.shape == test.shape
    np.testing.assert_array_equal(restored[:, mask], test[:, mask])  # seen pixels kept
    error_restored = np.linalg.norm(restored - test, axis=(1, 2))
    error_occluded = np.linalg.norm(occluded - test, axis=(1, 2))
    assert np.all(error_restored < error_occluded)
    assert error_restored.mean() < 0.5 * error_occluded.mean()


def test_projection_reconstruction_and_distance_follow_the_formulas():
    rng = np.random.default_rng(0)
    faces = rng.random((40, 6, 5))
    model = Eigenfaces(n_components=4).fit(faces)
    X = faces.reshape(40, -1)
    w = model.project(faces)
    np.testing.assert_allclose(w, (X - X.mean(0)) @ model.components_.T)
    restored = model.reconstruct(faces)
    np.testing.assert_allclose(restored.reshape(40, -1), X.mean(0) + w @ model.components_)
    np.testing.assert_allclose(model.distance_from_face_space(faces),
                               np.linalg.norm(X - restored.reshape(40, -1), axis=1))
    assert model.eigenfaces().shape == (4, 6, 5)
    # with every pixel visible the masked reconstruction is the image itself
    np.testing.assert_allclose(model.reconstruct(faces, mask=np.ones((6, 5))), faces)


def test_recognition_by_nearest_neighbour_in_face_space(lfw):
    faces = lfw[:100]
    identities = np.arange(100)
    model = Eigenfaces(n_components=30).fit(faces, identities)
    noisy = faces + np.random.default_rng(0).normal(scale=0.05, size=faces.shape)
    assert model.score(noisy, identities) > 0.95
    with pytest.raises(ValueError, match="recognition needs labels"):
        Eigenfaces(5).fit(faces).predict(faces)
    with pytest.raises(NotFittedError):
        Eigenfaces(5).project(faces)


def test_normalize_contrast_removes_brightness_and_contrast():
    rng = np.random.default_rng(0)
    image = rng.random((1, 4, 4))
    np.testing.assert_allclose(normalize_contrast(3 * image + 2), normalize_contrast(image))
    out = normalize_contrast(image).ravel()
    assert out.mean() == pytest.approx(0, abs=1e-15) and np.linalg.norm(out) == pytest.approx(1)
