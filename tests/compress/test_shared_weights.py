"""Weight sharing: the codebook Function (gradient check, hand-computed backward), 1-D
k-means and its initialisations, and fine-tuning of a shared layer's centroids."""

import numpy as np
import pytest

import visiongrad as vg
from tests.helpers import assert_gradcheck
from visiongrad import functional as F
from visiongrad import nn, optim
from visiongrad.compress import (
    SharedWeightLayer,
    cluster_weights,
    initial_centroids,
    kmeans_1d,
    materialize,
    share_weights,
    shared_weight,
)


def test_shared_weight_forward_and_backward_by_hand():
    centroids = vg.tensor(np.array([-1.0, 0.5, 2.0]), requires_grad=True)
    indices = np.array([[1, 0, 3], [3, 2, 1]])
    weight = shared_weight(centroids, indices)
    np.testing.assert_array_equal(weight.data, [[-1.0, 0.0, 2.0], [2.0, 0.5, -1.0]])
    upstream = np.array([[1.0, 10.0, 2.0], [3.0, 4.0, 5.0]])
    weight.backward(upstream)
    # each centroid gets the sum of its members' gradients; the zero (index 0) gets none
    np.testing.assert_array_equal(centroids.grad, [1.0 + 5.0, 4.0, 2.0 + 3.0])


def test_shared_weight_gradcheck():
    rng = np.random.default_rng(0)
    indices = rng.integers(0, 6, size=(4, 3, 2, 2))
    assert_gradcheck(lambda c: shared_weight(c, indices) * 1.5, [rng.standard_normal(5)])


def test_shared_weight_gradcheck_through_a_convolution():
    rng = np.random.default_rng(1)
    indices = rng.integers(0, 4, size=(2, 1, 3, 3))
    x = rng.standard_normal((2, 1, 5, 5))
    assert_gradcheck(lambda c, x: F.conv2d(x, shared_weight(c, indices)),
                     [rng.standard_normal(3), x])


def test_shared_weight_refuses_indices_out_of_range():
    with pytest.raises(ValueError, match="indices must lie in"):
        shared_weight(vg.tensor(np.ones(2)), np.array([0, 3]))


def test_initialisations():
    values = np.array([0.0, 0.1, 0.2, 0.3, 5.0])
    np.testing.assert_allclose(initial_centroids(values, 3, "linear"), [0.0, 2.5, 5.0])
    np.testing.assert_allclose(initial_centroids(values, 3, "density"), [0.0, 0.2, 5.0])
    drawn = initial_centroids(values, 3, "random", np.random.default_rng(0))
    assert set(drawn) <= set(values) and len(set(drawn)) == 3
    with pytest.raises(ValueError, match="init must be one of"):
        initial_centroids(values, 3, "kmeans++")


def test_kmeans_1d_matches_scikit_learn_from_the_same_start():
    cluster = pytest.importorskip("sklearn.cluster")
    values = np.random.default_rng(2).standard_normal(400)
    start = initial_centroids(values, 6, "linear")
    ours, labels = kmeans_1d(values, start)
    theirs = cluster.KMeans(6, init=start[:, None], n_init=1, tol=0).fit(values[:, None])
    np.testing.assert_allclose(ours, np.sort(theirs.cluster_centers_.ravel()), atol=1e-9)
    np.testing.assert_allclose(ours[labels], np.sort(theirs.cluster_centers_.ravel())[
        np.argsort(np.argsort(theirs.cluster_centers_.ravel()))][theirs.labels_], atol=1e-9)


def test_cluster_weights_keeps_zeros_and_uses_at_most_2_to_the_bits_minus_1_values():
    rng = np.random.default_rng(3)
    weight = rng.standard_normal((20, 30)).astype(np.float32)
    weight[rng.random(weight.shape) < 0.7] = 0
    centroids, indices = cluster_weights(weight, bits=3)
    assert centroids.size == 7 and indices.max() == 7
    np.testing.assert_array_equal(indices == 0, weight == 0)
    padded = np.concatenate([[0.0], centroids])
    # every weight sits at its nearest centroid
    nearest = np.abs(weight[weight != 0][:, None] - centroids[None]).argmin(axis=1) + 1
    np.testing.assert_array_equal(indices[weight != 0], nearest)
    assert np.abs(padded[indices] - weight).max() < np.abs(weight).max() / 4


def test_share_weights_fine_tunes_the_codebook_and_materializes():
    vg.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3))
    model[1].weight.data[:, :4] = 0  # pruned
    shared = share_weights(model, bits=2)
    assert set(shared) == {"1", "3"} and isinstance(model[1], SharedWeightLayer)
    before = shared["1"].centroids.data.copy()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    x = vg.tensor(rng.standard_normal((16, 1, 3, 4)).astype(np.float32))
    logits = model(x)
    loss = F.cross_entropy(logits, rng.integers(0, 3, 16))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    assert not np.array_equal(shared["1"].centroids.data, before)
    expected = model(x).data
    materialize(model)
    assert isinstance(model[1], nn.Linear)
    assert len(np.unique(model[1].weight.data)) <= 4
    assert (model[1].weight.data[:, :4] == 0).all()
    np.testing.assert_allclose(model(x).data, expected, rtol=1e-6)
    assert set(model.state_dict()) == {"1.weight", "1.bias", "3.weight", "3.bias"}
