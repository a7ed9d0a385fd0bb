"""Reductions and searches of ops/reduce.py: float64 gradient checks (no PyTorch needed) and
PyTorch parity on seeded random configurations (shapes, dims, negative dims, keepdim)."""

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
    return rng, shape, dim, bool(rng.integers(0, 2))


def check(vg_fn, torch_fn, arrays, gradcheck=True):
    if gradcheck:
        assert_gradcheck(vg_fn, arrays)
    assert_matches_torch(vg_fn, torch_fn, arrays, dtype=np.float64)
    assert_matches_torch(vg_fn, torch_fn, arrays, dtype=np.float32, tolerance=3e-5)


@pytest.mark.parametrize("seed", SEEDS)
def test_prod(seed):
    rng, shape, dim, keepdim = random_config(seed)
    x = rng.standard_normal(shape) + 0.5
    check(lambda a: a.prod(dim, keepdim), lambda a: a.prod(dim, keepdim), [x])
    check(lambda a: F.prod(a), lambda a: a.prod(), [x])


def test_prod_with_zeros_has_the_gradient_of_the_other_factors():
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 4.0], [1.0, 2.0, 5.0]])
    t = vg.tensor(x, requires_grad=True)
    t.prod(1).sum().backward()
    np.testing.assert_array_equal(t.grad, [[0, 6, 0], [0, 0, 0], [10, 5, 2]])
    assert_gradcheck(lambda a: a.prod(1), [x])
    assert_matches_torch(lambda a: a.prod(-1), lambda a: a.prod(-1), [x], dtype=np.float64)
    assert_matches_torch(lambda a: a.prod(), lambda a: a.prod(), [x[0]], dtype=np.float64)


@pytest.mark.parametrize("correction", [0, 1, 2])
@pytest.mark.parametrize("seed", SEEDS)
def test_var_and_std(seed, correction):
    rng, shape, dim, keepdim = random_config(seed)
    shape = shape[:dim % len(shape)] + (4,) + shape[dim % len(shape) + 1:]
    x = rng.standard_normal(shape)
    check(lambda a: a.var(dim, correction=correction, keepdim=keepdim),
          lambda a: a.var(dim, correction=correction, keepdim=keepdim), [x])
    check(lambda a: F.std(a, dim, correction=correction, keepdim=keepdim),
          lambda a: a.std(dim, correction=correction, keepdim=keepdim), [x])
    check(lambda a: a.var(), lambda a: a.var(), [x])


def test_var_formula_by_hand():
    x = np.array([1.0, 2.0, 4.0, 7.0])
    assert vg.tensor(x).var().item() == pytest.approx(np.sum((x - 3.5) ** 2) / 3)
    assert vg.tensor(x).std(correction=0).item() == pytest.approx(np.sqrt(np.mean((x - 3.5) ** 2)))


@pytest.mark.parametrize("seed", SEEDS)
def test_logsumexp(seed):
    rng, shape, dim, keepdim = random_config(seed)
    x = rng.standard_normal(shape)  # scale 1: softmax weights of 1e-6 defeat the gradcheck
    check(lambda a: a.logsumexp(dim, keepdim), lambda a: a.logsumexp(dim, keepdim), [x])
    big = x * 3 + 1000.0  # no overflow
    check(lambda a: F.logsumexp(a, dim), lambda a: a.logsumexp(dim), [big], gradcheck=False)


@pytest.mark.parametrize("seed", SEEDS)
def test_cumsum(seed):
    rng, shape, dim, _ = random_config(seed)
    x = rng.standard_normal(shape)
    check(lambda a: a.cumsum(dim), lambda a: a.cumsum(dim), [x])


@pytest.mark.parametrize("seed", SEEDS)
def test_any_all_argmax_argmin_have_no_gradient(seed):
    torch = torch_or_skip()
    rng, shape, dim, keepdim = random_config(seed)
    x = rng.standard_normal(shape)
    t, r = vg.tensor(x, requires_grad=True), torch.tensor(x)
    for name in ("argmax", "argmin"):
        for args in ((dim, keepdim), ()):
            ours, theirs = getattr(t, name)(*args), getattr(r, name)(*args)
            assert not ours.requires_grad and ours.dtype == np.int64
            np.testing.assert_array_equal(ours.data, theirs.numpy())
    for name in ("any", "all"):
        mask = x > 0
        ours = getattr(F, name)(mask, dim, keepdim)
        np.testing.assert_array_equal(ours.data, getattr(torch.tensor(mask), name)(dim, keepdim))
        assert getattr(F, name)(mask).data == getattr(torch.tensor(mask), name)().item()


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("seed", SEEDS)
def test_topk(seed, largest):
    rng, shape, dim, _ = random_config(seed)
    k = int(rng.integers(0, shape[dim] + 1))
    x = rng.standard_normal(shape)
    check(lambda a: a.topk(k, dim, largest).values,
          lambda a: a.topk(k, dim, largest).values, [x])
    torch = torch_or_skip()
    np.testing.assert_array_equal(vg.tensor(x).topk(k, dim, largest).indices.data,
                                  torch.tensor(x).topk(k, dim, largest).indices.numpy())


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
def test_sort_and_argsort(seed, descending):
    rng, shape, dim, _ = random_config(seed)
    x = rng.standard_normal(shape)
    check(lambda a: a.sort(dim, descending).values,
          lambda a: a.sort(dim, descending).values, [x])
    torch = torch_or_skip()
    ours = vg.tensor(x).argsort(dim, descending)
    assert not ours.requires_grad
    np.testing.assert_array_equal(ours.data, torch.tensor(x).argsort(dim, descending).numpy())


def test_sort_ties_keep_their_order():
    x = vg.tensor([2.0, 1.0, 2.0, 1.0])
    np.testing.assert_array_equal(x.argsort().data, [1, 3, 0, 2])
    np.testing.assert_array_equal(x.argsort(descending=True).data, [0, 2, 1, 3])


def test_bad_arguments_are_refused():
    x = vg.tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="topk"):
        x.topk(4)
    with pytest.raises(ValueError, match="out of range"):
        x.prod(2)
    with pytest.raises(ValueError, match="repeats"):
        x.var((0, -2))


def test_0d_tensors_sort_and_accumulate_to_themselves():
    x = vg.tensor(np.float64(2.5), requires_grad=True)
    values, indices = x.sort()
    assert values.shape == () and values.item() == 2.5 and indices.item() == 0
    assert x.topk(1).values.item() == 2.5 and x.cumsum(0).item() == 2.5
    (values + x.cumsum(-1) + x.prod(0) + x.logsumexp(0)).backward()
    assert x.grad == 4.0


@pytest.mark.parametrize("op", [F.argmax, F.argmin])
def test_argmax_of_an_empty_tensor_is_our_clear_error(op):
    with pytest.raises(ValueError, match="empty"):
        op(vg.tensor(np.ones(0)))
    with pytest.raises(ValueError, match="dim 0 of size 0"):
        op(vg.tensor(np.ones((0, 3))), dim=0)
    assert op(vg.tensor(np.ones((0, 3))), dim=1).shape == (0,)  # nothing to reduce: fine


# ----- sum, mean, max, min (the Tensor's reductions) ----------------------------------------------


rng = np.random.default_rng(0)  # seeded data of the cases below
positive = np.abs(rng.standard_normal((3, 4))) + 0.5
signed = rng.standard_normal((3, 4)) + np.where(rng.random((3, 4)) > 0.5, 0.3, -0.3)
row = rng.standard_normal((1, 4))

# (name, visiongrad function, torch function, inputs): the Sum, Mean, Max, Min nodes
REDUCE_CASES = [
    ("Sum all", lambda a: a.sum(), lambda a: a.sum(), [signed]),
    ("Sum axis", lambda a: a.sum(axis=1), lambda a: a.sum(dim=1), [signed]),
    ("Sum keepdims", lambda a: a.sum(axis=0, keepdims=True),
     lambda a: a.sum(dim=0, keepdim=True), [signed]),
    ("Mean all", lambda a: a.mean(), lambda a: a.mean(), [signed]),
    ("Mean axes", lambda a: a.reshape(3, 2, 2).mean(axis=(0, 2)),
     lambda a: a.reshape(3, 2, 2).mean(dim=(0, 2)), [signed]),
    ("Max axis", lambda a: a.max(axis=1), lambda a: a.amax(dim=1), [signed]),
    ("Max all", lambda a: a.max(), lambda a: a.amax(), [signed]),
    ("Min keepdims", lambda a: a.min(axis=0, keepdims=True),
     lambda a: a.amin(dim=0, keepdim=True), [signed]),
]
REDUCE_IDS = [case[0] for case in REDUCE_CASES]


@pytest.mark.parametrize("name, vg_fn, torch_fn, inputs", REDUCE_CASES, ids=REDUCE_IDS)
def test_reduce_nodes_gradcheck(name, vg_fn, torch_fn, inputs):
    assert_gradcheck(vg_fn, inputs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, vg_fn, torch_fn, inputs", REDUCE_CASES, ids=REDUCE_IDS)
def test_reduce_nodes_match_torch(name, vg_fn, torch_fn, inputs, dtype):
    assert_matches_torch(vg_fn, torch_fn, inputs, dtype=dtype)


def test_max_ties_share_the_gradient_like_torch_amax():
    torch = torch_or_skip()
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    assert_matches_torch(lambda a: a.max(axis=1), lambda a: torch.amax(a, dim=1), [x],
                         dtype=np.float64)


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min"])
@pytest.mark.parametrize("axis", [0, -1])
def test_reducing_a_0d_tensor_over_axis_0_or_minus_1(reduce, axis):
    x = vg.tensor(np.float64(1.5), requires_grad=True)
    y = getattr(x, reduce)(axis=axis)
    assert y.shape == () and y.item() == 1.5
    y.backward()
    assert x.grad == 1.0
    with pytest.raises(ValueError, match="0-d"):
        getattr(x, reduce)(axis=1)


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min"])
def test_reductions_take_pytorchs_dim_and_keepdim(reduce):
    assert_matches_torch(lambda a: getattr(a, reduce)(dim=-1, keepdim=True),
                         lambda a: getattr(a, "a" + reduce if reduce in ("max", "min") else
                                           reduce)(dim=-1, keepdim=True), [signed],
                         dtype=np.float64)
    np.testing.assert_array_equal(getattr(vg.tensor(signed), reduce)(dim=0).data,
                                  getattr(signed, reduce)(axis=0))
