"""Indexing ops of ops/indexing.py: float64 gradient checks (no PyTorch needed) and PyTorch
parity on seeded random configurations (shapes, dims, negative dims, repeated indices)."""

import numpy as np
import pytest
from helpers import assert_gradcheck, assert_matches_torch, torch_or_skip

import visiongrad as vg
from visiongrad import functional as F

SEEDS = range(8)


def random_config(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(1, 5, size=rng.integers(1, 4)))
    dim = int(rng.integers(-len(shape), len(shape)))
    return rng, shape, dim


def index_for(rng, shape, dim, src_shape=None):
    """Random indices into ``shape`` along ``dim``, no larger than ``shape`` (and src) elsewhere."""
    limit = shape if src_shape is None else np.minimum(shape, src_shape)
    index_shape = [int(rng.integers(1, n + 1)) for n in limit]
    d = dim % len(shape)
    index_shape[d] = int(rng.integers(1, 6)) if src_shape is None else \
        int(rng.integers(1, src_shape[d] + 1))
    return rng.integers(0, shape[d], size=index_shape)


def check(vg_fn, torch_fn, arrays):
    assert_gradcheck(vg_fn, arrays)
    assert_matches_torch(vg_fn, torch_fn, arrays, dtype=np.float64)
    assert_matches_torch(vg_fn, torch_fn, arrays, dtype=np.float32)


def torch_index(index):
    return torch_or_skip().tensor(index)


@pytest.mark.parametrize("seed", SEEDS)
def test_gather(seed):
    rng, shape, dim = random_config(seed)
    x, index = rng.standard_normal(shape), index_for(rng, shape, dim)
    check(lambda a: a.gather(dim, index), lambda a: a.gather(dim, torch_index(index)), [x])


@pytest.mark.parametrize("seed", SEEDS)
def test_scatter_and_scatter_add(seed):
    rng, shape, dim = random_config(seed)
    src_shape = tuple(int(n) for n in rng.integers(1, 5, size=len(shape)))
    x, src = rng.standard_normal(shape), rng.standard_normal(src_shape)
    # distinct targets along dim for scatter (which of two writes wins is unspecified)
    d = dim % len(shape)
    index = index_for(rng, shape, dim, src_shape)
    count = min(index.shape[d], shape[d])
    index = np.take(index, np.arange(count), axis=d)
    distinct = np.argsort(rng.random(index.shape), axis=d) % shape[d]
    # PyTorch's backward refuses a src larger than index: compare on src[:index.shape]
    fitted = src[tuple(slice(0, n) for n in distinct.shape)]
    assert_gradcheck(lambda a, s: a.scatter(dim, distinct, s), [x, src])
    check(lambda a, s: a.scatter(dim, distinct, s),
          lambda a, s: a.scatter(dim, torch_index(distinct), s), [x, fitted])
    assert_gradcheck(lambda a, s: a.scatter_add(dim, index, s), [x, src])
    check(lambda a, s: a.scatter_add(dim, index, s),
          lambda a, s: a.scatter_add(dim, torch_index(index), s),
          [x, src[tuple(slice(0, n) for n in index.shape)]])


def test_scatter_a_number():
    x = np.zeros((2, 3))
    index = np.array([[2], [0]])
    out = F.scatter(vg.tensor(x), 1, index, 7.0)
    np.testing.assert_array_equal(out.data, [[0, 0, 7], [7, 0, 0]])
    assert_gradcheck(lambda a: F.scatter(a, 1, index, 7.0), [x + 1])


@pytest.mark.parametrize("seed", SEEDS)
def test_index_select(seed):
    rng, shape, dim = random_config(seed)
    index = rng.integers(0, shape[dim], size=int(rng.integers(0, 6)))
    x = rng.standard_normal(shape)
    check(lambda a: a.index_select(dim, index),
          lambda a: a.index_select(dim, torch_index(index)), [x])


@pytest.mark.parametrize("seed", SEEDS)
def test_masked_fill(seed):
    rng, shape, dim = random_config(seed)
    mask_shape = tuple(1 if rng.random() < 0.3 else n for n in shape)[int(rng.integers(0, 2)):]
    mask = rng.random(mask_shape) < 0.5
    x = rng.standard_normal(shape)
    check(lambda a: a.masked_fill(mask, -2.5),
          lambda a: a.masked_fill(torch_index(mask), -2.5), [x])
    check(lambda a, v: a.masked_fill(mask, v.sum()),
          lambda a, v: a.masked_fill(torch_index(mask), v.sum()), [x, rng.standard_normal(2)])


def test_one_hot_and_nonzero():
    torch = torch_or_skip()
    labels = np.array([[0, 3], [2, 2]])
    ours = F.one_hot(labels, 5)
    assert ours.dtype == np.int64 and not ours.requires_grad
    np.testing.assert_array_equal(ours.data, torch.nn.functional.one_hot(
        torch.tensor(labels), 5).numpy())
    np.testing.assert_array_equal(F.one_hot(labels).data.shape, (2, 2, 4))
    x = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    np.testing.assert_array_equal(vg.tensor(x).nonzero().data, torch.tensor(x).nonzero().numpy())
    for ours, theirs in zip(F.nonzero(x, as_tuple=True), torch.tensor(x).nonzero(as_tuple=True),
                            strict=True):
        np.testing.assert_array_equal(ours.data, theirs.numpy())
    assert F.nonzero(np.float64(3.0)).shape == torch.tensor(3.0).nonzero().shape


def test_bad_indices_are_refused():
    x = vg.tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="out of range"):
        x.gather(1, np.array([[3]]))
    with pytest.raises(TypeError, match="integers"):
        x.gather(1, np.array([[0.5]]))
    with pytest.raises(ValueError, match="dims"):
        x.gather(1, np.array([0]))
    with pytest.raises(ValueError, match="exceeds"):
        x.gather(1, np.zeros((3, 1), dtype=np.int64))
    with pytest.raises(ValueError, match="1-D"):
        x.index_select(0, np.zeros((1, 1), dtype=np.int64))
    with pytest.raises(TypeError, match="boolean"):
        x.masked_fill(np.zeros((2, 3)), 1.0)
    with pytest.raises(ValueError, match="num_classes"):
        F.one_hot(np.array([3]), 3)


@pytest.mark.parametrize("op", [lambda x, i: F.gather(x, 0, i),
                                lambda x, i: F.index_select(x, 0, i),
                                lambda x, i: F.scatter(x, 0, i, 1.0)])
def test_a_negative_index_is_refused_like_torch(op):
    x = vg.tensor(np.arange(3.0))
    with pytest.raises(ValueError, match="-1"):
        op(x, np.array([-1]))


def test_masked_fill_with_a_mask_that_does_not_broadcast_names_both_shapes():
    x = vg.tensor(np.ones((2, 3)))
    for shape in ((3, 2), (4,)):
        with pytest.raises(ValueError, match=r"masked_fill: mask of shape \(.*\) does not "
                                             r"broadcast to \(2, 3\)"):
            F.masked_fill(x, np.ones(shape, dtype=bool), 0.0)


# ----- x[index] and where -------------------------------------------------------------------------


rng = np.random.default_rng(0)  # seeded data of the cases below
positive = np.abs(rng.standard_normal((3, 4))) + 0.5
signed = rng.standard_normal((3, 4)) + np.where(rng.random((3, 4)) > 0.5, 0.3, -0.3)
row = rng.standard_normal((1, 4))

# (name, visiongrad function, torch function, inputs): the Index, Where nodes
INDEXING_CASES = [
    ("Index slice", lambda a: a[1:, ::2], lambda a: a[1:, ::2], [signed]),
    ("Index repeated", lambda a: a[[0, 0, 2], 1], lambda a: a[[0, 0, 2], 1], [signed]),
    ("Index boolean", lambda a: a[a.data > 0] if isinstance(a, vg.Tensor) else a[a > 0],
     lambda a: a[a > 0], [signed]),
    ("Where", lambda a, b: vg.where(signed > 0, a, b), lambda a, b: __import__("torch").where(
        __import__("torch").tensor(signed > 0), a, b), [signed, row]),
]
INDEXING_IDS = [case[0] for case in INDEXING_CASES]


@pytest.mark.parametrize("name, vg_fn, torch_fn, inputs", INDEXING_CASES, ids=INDEXING_IDS)
def test_indexing_nodes_gradcheck(name, vg_fn, torch_fn, inputs):
    assert_gradcheck(vg_fn, inputs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, vg_fn, torch_fn, inputs", INDEXING_CASES, ids=INDEXING_IDS)
def test_indexing_nodes_match_torch(name, vg_fn, torch_fn, inputs, dtype):
    assert_matches_torch(vg_fn, torch_fn, inputs, dtype=dtype)
