"""Maximally activating patches and nearest neighbours in feature space."""

import numpy as np
import pytest

from visiongrad import nn
from visiongrad.visualize import feature_neighbours, layer_features, max_activating_patches


def test_patches_are_the_top_activations_with_their_receptive_fields():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 2)).to(np.float64)
    images = rng.standard_normal((4, 1, 7, 7))
    indices, values, boxes = max_activating_patches(model, "2", images, k=3)
    features = layer_features(model, "2", images)  # (4, 2, 4, 4)
    for c in range(2):
        flat = features[:, c].reshape(4, -1)
        assert np.allclose(values[c], np.sort(flat.ravel())[::-1][:3])
        for i, value, (top, left, bottom, right) in zip(indices[c], values[c], boxes[c],
                                                         strict=True):
            row, col = np.argwhere(features[i, c] == value)[0]
            # a 2x2 conv on a 3x3 conv reads a 4x4 window (unless a ReLU cut a path)
            assert top >= row and left >= col and bottom <= row + 4 and right <= col + 4
            assert bottom > top and right > left


def test_patches_of_a_plain_conv_are_exactly_its_window():
    model = nn.Sequential(nn.Conv2d(1, 1, 3)).to(np.float64)
    model[0].weight.data[...] = 1.0
    images = np.zeros((1, 1, 6, 6))
    images[0, 0, 2, 3] = 5.0
    _, _, boxes = max_activating_patches(model, "0", images, k=1)
    assert tuple(boxes[0, 0]) in {(r, c, r + 3, c + 3) for r in (0, 1, 2) for c in (1, 2, 3)}


def test_neighbours_match_brute_force():
    rng = np.random.default_rng(1)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 5)).to(np.float64)
    queries, gallery = rng.standard_normal((3, 3, 2, 2)), rng.standard_normal((9, 3, 2, 2))
    indices, distances = feature_neighbours(model, "1", queries, gallery, k=4)
    q, g = layer_features(model, "1", queries), layer_features(model, "1", gallery)
    full = np.linalg.norm(q[:, None] - g[None], axis=2)
    np.testing.assert_array_equal(indices, np.argsort(full, axis=1)[:, :4])
    np.testing.assert_allclose(distances, np.sort(full, axis=1)[:, :4], atol=1e-7)
    with pytest.raises(ValueError, match="k must be an int"):
        feature_neighbours(model, "1", queries, gallery, k=10)
