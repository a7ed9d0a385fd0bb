"""Shape ops of ops/shape.py: float64 gradient checks (no PyTorch needed) and PyTorch parity
of values and gradients on seeded random configurations (shapes, dims, negative dims)."""

import numpy as np
import pytest
from helpers import assert_gradcheck, assert_matches_torch, torch_or_skip

import visiongrad as vg
from visiongrad import functional as F


def random_config(seed):
    """A random shape of 1-4 dims (sizes 1-4) and a random dim, often negative."""
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(1, 5, size=rng.integers(1, 5)))
    dim = int(rng.integers(-len(shape), len(shape)))
    return rng, shape, dim


SEEDS = range(6)


def check(vg_fn, torch_fn, arrays):
    assert_gradcheck(vg_fn, arrays)
    assert_matches_torch(vg_fn, torch_fn, arrays, dtype=np.float64)
    assert_matches_torch(vg_fn, torch_fn, arrays, dtype=np.float32)


@pytest.mark.parametrize("seed", SEEDS)
def test_squeeze_unsqueeze(seed):
    rng, shape, dim = random_config(seed)
    x = rng.standard_normal(shape)
    check(lambda a: a.squeeze(dim) * 1.0, lambda a: a.squeeze(dim) * 1.0, [x])
    check(lambda a: F.squeeze(a) * 1.0, lambda a: a.squeeze() * 1.0, [x])
    new = int(rng.integers(-len(shape) - 1, len(shape) + 1))
    check(lambda a: a.unsqueeze(new) * 1.0, lambda a: a.unsqueeze(new) * 1.0, [x])


@pytest.mark.parametrize("seed", SEEDS)
def test_flatten(seed):
    rng, shape, dim = random_config(seed)
    end = int(rng.integers(dim % len(shape), len(shape))) - len(shape)
    x = rng.standard_normal(shape)
    check(lambda a: a.flatten(dim, end) * 1.0, lambda a: a.flatten(dim, end) * 1.0, [x])
    assert vg.tensor(np.zeros((2, 3, 4))).flatten(1).shape == (2, 12)
    with pytest.raises(ValueError, match="start_dim"):
        F.flatten(vg.tensor(np.zeros((2, 3, 4))), 2, 1)


@pytest.mark.parametrize("seed", SEEDS)
def test_expand(seed):
    rng, shape, dim = random_config(seed)
    shape = tuple(1 if rng.random() < 0.5 else n for n in shape)
    target = tuple(int(rng.integers(2, 4)) if n == 1 else (-1 if rng.random() < 0.5 else n)
                   for n in shape)
    target = (2,) + target
    x = rng.standard_normal(shape)
    check(lambda a: a.expand(*target) * 1.0, lambda a: a.expand(*target) * 1.0, [x])
    with pytest.raises(ValueError, match="expand"):
        F.expand(vg.tensor(np.zeros((2, 3))), 4, 3)


@pytest.mark.parametrize("seed", SEEDS)
def test_flip_and_roll(seed):
    rng, shape, dim = random_config(seed)
    x = rng.standard_normal(shape)
    dims = sorted({dim % len(shape), int(rng.integers(len(shape)))})
    check(lambda a: a.flip(dims), lambda a: a.flip(dims), [x])
    shifts = [int(s) for s in rng.integers(-5, 6, size=len(dims))]
    check(lambda a: a.roll(shifts, dims), lambda a: a.roll(shifts, dims), [x])
    check(lambda a: F.roll(a, 3), lambda a: a.roll(3), [x])


def torch_pad(mode, pad):
    options = {"value": 0.5} if mode == "constant" else {}
    return lambda a: torch_or_skip().nn.functional.pad(a, pad, mode=mode, **options)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate"])
@pytest.mark.parametrize("seed", SEEDS)
def test_pad(seed, mode):
    rng = np.random.default_rng(seed)
    axes = int(rng.integers(1, 4))  # PyTorch pads 1-3 trailing axes of (N, C, ...) or (C, ...)
    ndim = axes + int(rng.integers(0 if mode == "constant" else 1, 3))
    shape = tuple(int(n) for n in rng.integers(3, 6, size=ndim))
    pad = tuple(int(p) for p in rng.integers(0, 3, size=2 * axes))
    x = rng.standard_normal(shape)
    check(lambda a: F.pad(a, pad, mode=mode, value=0.5), torch_pad(mode, pad), [x])


def test_pad_refuses_bad_widths_and_modes():
    x = vg.tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="even"):
        F.pad(x, (1,))
    with pytest.raises(ValueError, match="non-negative"):
        F.pad(x, (-1, 0))
    with pytest.raises(ValueError, match="mode"):
        F.pad(x, (1, 1), mode="circle")
    with pytest.raises(ValueError, match="smaller than"):
        F.pad(x, (3, 0), mode="reflect")


@pytest.mark.parametrize("seed", SEEDS)
def test_repeat(seed):
    rng, shape, dim = random_config(seed)
    reps = tuple(int(r) for r in rng.integers(1, 4, size=len(shape) + int(rng.integers(0, 2))))
    x = rng.standard_normal(shape)
    check(lambda a: a.repeat(*reps), lambda a: a.repeat(*reps), [x])


@pytest.mark.parametrize("seed", SEEDS)
def test_split_and_chunk(seed):
    rng, shape, dim = random_config(seed)
    shape = shape[:dim % len(shape)] + (5,) + shape[dim % len(shape) + 1:]
    x = rng.standard_normal(shape)
    size = int(rng.integers(1, 6))

    for vg_split, torch_split in [
        (lambda a: a.split(size, dim), lambda a: a.split(size, dim)),
        (lambda a: a.split([2, 0, 3], dim), lambda a: a.split([2, 0, 3], dim)),
        (lambda a: a.chunk(3, dim), lambda a: a.chunk(3, dim)),
    ]:
        # weight each piece differently so every piece's gradient is checked
        check(lambda a, f=vg_split: vg.concat([p * (i + 1.0) for i, p in enumerate(f(a))], dim),
              lambda a, f=torch_split: __import__("torch").cat(
                  [p * (i + 1.0) for i, p in enumerate(f(a))], dim), [x])
    assert len(F.chunk(vg.tensor(np.zeros(5)), 4)) == 3  # ceil(5 / 4) = 2 per piece, as in torch
    with pytest.raises(ValueError, match="add up"):
        F.split(vg.tensor(np.zeros(5)), [2, 2])


@pytest.mark.parametrize("seed", SEEDS)
def test_tril_triu(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(2, 5, size=rng.integers(2, 4)))
    k = int(rng.integers(-2, 3))
    x = rng.standard_normal(shape)
    check(lambda a: a.tril(k), lambda a: a.tril(k), [x])
    check(lambda a: F.triu(a, k), lambda a: a.triu(k), [x])
    with pytest.raises(ValueError, match="2 dimensions"):
        F.tril(vg.tensor([1.0, 2.0]))


@pytest.mark.parametrize("seed", SEEDS)
def test_permute(seed):
    rng, shape, dim = random_config(seed)
    dims = [int(d) - len(shape) * int(rng.integers(0, 2)) for d in rng.permutation(len(shape))]
    x = rng.standard_normal(shape)
    check(lambda a: a.permute(*dims), lambda a: a.permute(*dims), [x])
    with pytest.raises(ValueError, match="permutation"):
        vg.tensor(x).permute(*([0] * len(shape)))


def test_dims_out_of_range_are_named():
    x = vg.tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="dim 2 is out of range"):
        x.squeeze(2)
    with pytest.raises(ValueError, match="dims"):
        x.flip((0, -2))


def test_roll_without_dims_takes_a_one_element_shift_sequence_on_the_flattened_tensor():
    x = np.arange(6.0).reshape(2, 3)
    for shifts in ((1,), [1]):
        np.testing.assert_array_equal(vg.tensor(x).roll(shifts).numpy(),
                                      np.roll(x, 1))
    with pytest.raises(ValueError, match="roll"):
        vg.tensor(x).roll((1, 2))


# ----- reshape, transpose, concat, stack ----------------------------------------------------------


rng = np.random.default_rng(0)  # seeded data of the cases below
positive = np.abs(rng.standard_normal((3, 4))) + 0.5
signed = rng.standard_normal((3, 4)) + np.where(rng.random((3, 4)) > 0.5, 0.3, -0.3)
row = rng.standard_normal((1, 4))

# (name, visiongrad function, torch function, inputs): the Reshape, Transpose, Concat, Stack nodes
SHAPE_CASES = [
    ("Reshape", lambda a: a.reshape(2, 6) * 2, lambda a: a.reshape(2, 6) * 2, [signed]),
    ("Transpose", lambda a: a.reshape(3, 2, 2).transpose(2, 0, 1),
     lambda a: a.reshape(3, 2, 2).permute(2, 0, 1), [signed]),
    ("Concat", lambda a, b: vg.concat([a, b], axis=0), lambda a, b: __import__("torch").cat(
        [a, b], dim=0), [signed, row]),
    ("Stack", lambda a, b: vg.stack([a, b], axis=1), lambda a, b: __import__("torch").stack(
        [a, b], dim=1), [signed, positive]),
]
SHAPE_IDS = [case[0] for case in SHAPE_CASES]


@pytest.mark.parametrize("name, vg_fn, torch_fn, inputs", SHAPE_CASES, ids=SHAPE_IDS)
def test_shape_nodes_gradcheck(name, vg_fn, torch_fn, inputs):
    assert_gradcheck(vg_fn, inputs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, vg_fn, torch_fn, inputs", SHAPE_CASES, ids=SHAPE_IDS)
def test_shape_nodes_match_torch(name, vg_fn, torch_fn, inputs, dtype):
    assert_matches_torch(vg_fn, torch_fn, inputs, dtype=dtype)


def test_reshape_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"shape \(3, 4\) to \(5, 2\)"):
        vg.tensor(signed).reshape(5, 2)


def test_flatten_keeps_the_batch_axis():
    x = vg.tensor(np.zeros((2, 3, 4, 5)))
    assert x.flatten(1).shape == (2, 60) and x.flatten().shape == (120,)


@pytest.mark.parametrize("shape, axes", [((2, 2, 2), (0, -1, 1)), ((3, 4, 5, 6), (-2, -1, 1, 0)),
                                         ((2, 3, 4), (-1, -3, -2))])
def test_transpose_with_negative_axes(shape, axes):
    x = rng.standard_normal(shape)
    assert_gradcheck(lambda a: a.transpose(*axes), [x])
    assert_matches_torch(lambda a: a.transpose(*axes), lambda a: a.permute(*axes), [x],
                         dtype=np.float64)
