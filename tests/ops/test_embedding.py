"""embedding: lookup and scatter-add backward against PyTorch and by hand, gradient
checks, and errors for bad indices."""

import numpy as np
import pytest
from helpers import assert_gradcheck, assert_matches_torch, torch_or_skip

import visiongrad as vg
from visiongrad import functional as F

shape_rng = np.random.default_rng(5)  # seeded random shapes for parametrize


EMBEDDING_CASES = [((1,), 3, 2), ((7,), 5, 4), ((4, 6), 10, 3), ((2, 3, 5), 4, 7),
                   ((1, 1), 1, 1)]


@pytest.mark.parametrize("index_shape, vocabulary, dim", EMBEDDING_CASES, ids=str)
def test_embedding_gradcheck(index_shape, vocabulary, dim):
    assert_gradcheck(F.embedding, embedding_inputs(index_shape, vocabulary, dim))


def embedding_inputs(index_shape, vocabulary, dim):
    rng = np.random.default_rng(1)
    return [rng.integers(0, vocabulary, size=index_shape), rng.standard_normal((vocabulary, dim))]


@pytest.mark.parametrize("index_shape, vocabulary, dim", EMBEDDING_CASES, ids=str)
def test_embedding_matches_torch(index_shape, vocabulary, dim):
    torch = torch_or_skip()
    indices, weight = embedding_inputs(index_shape, vocabulary, dim)
    for dtype in (np.float32, np.float64):
        assert_matches_torch(F.embedding, torch.nn.functional.embedding, [indices, weight],
                             dtype=dtype)


def test_repeated_indices_sum_their_gradients():
    rng = np.random.default_rng(2)
    weight = vg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    indices = np.array([[2, 0, 2], [2, 3, 0]])
    upstream = rng.standard_normal((2, 3, 3))
    out = F.embedding(indices, weight)
    np.testing.assert_array_equal(out.data, weight.data[indices])
    out.backward(upstream)
    expected = np.zeros((4, 3))
    for position, row in np.ndenumerate(indices):
        expected[row] += upstream[position]
    np.testing.assert_allclose(weight.grad, expected, rtol=1e-14)
    assert not weight.grad[1].any()


def test_bad_indices():
    weight = np.ones((5, 2))
    with pytest.raises(TypeError, match="indices must be integers, got dtype float64"):
        F.embedding(np.array([0.0, 1.0]), weight)
    with pytest.raises(IndexError, match=r"index 7 is out of range for a weight with 5 rows"):
        F.embedding(np.array([[1, 7], [0, 2]]), weight)
    with pytest.raises(IndexError, match=r"index -1 is out of range"):
        F.embedding(np.array([-1]), weight)
