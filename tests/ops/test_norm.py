"""batch_norm, layer_norm, group_norm: gradient checks, PyTorch parity (running statistics
included), batch norm against its plain reference (values, and its backward formula
against autograd of the reference), and errors."""


import numpy as np
import pytest
from helpers import PARITY_TOLERANCE, assert_gradcheck, assert_matches_torch, torch_or_skip

import visiongrad as vg
from visiongrad import functional as F
from visiongrad import nn
from visiongrad.ops.norm import batch_norm_reference

shape_rng = np.random.default_rng(3)  # seeded random shapes for parametrize
BATCH_NORM_SHAPES = [(5, 4), (1, 3, 2, 3), (4, 3, 5, 1), (2, 5, 3)] + [
    tuple(int(s) for s in shape_rng.integers(2, 6, size=4)) for _ in range(2)
]


# Every output of a normalisation depends on every input of its group, so the centred
# difference's round-off accumulates over the group; the course's step h = 1e-5 (near the
# cube root of float64's epsilon) balances it against the O(h^2) truncation error.
STEP = 1e-5


def torch_f():
    return torch_or_skip().nn.functional


def params(rng, channels, affine):
    return [rng.uniform(0.5, 1.5, channels), rng.standard_normal(channels)] if affine else []


@pytest.mark.parametrize("shape", BATCH_NORM_SHAPES, ids=str)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
def test_batch_norm_gradcheck(shape, training, affine):
    inputs, fresh_stats = batch_norm_case(shape, affine)
    assert_gradcheck(lambda a, *wb: F.batch_norm(a, *fresh_stats(), *wb, training=training),
                     inputs, h=STEP)


def batch_norm_case(shape, affine):
    """Inputs [x, (gamma, beta)] and a function giving fresh copies of running stats."""
    rng = np.random.default_rng(1)
    channels = shape[1]
    x = rng.standard_normal(shape) * 2 + 1
    start_mean, start_var = rng.standard_normal(channels), rng.uniform(0.5, 2, channels)
    return [x] + params(rng, channels, affine), lambda: (start_mean.copy(), start_var.copy())


@pytest.mark.parametrize("shape", BATCH_NORM_SHAPES, ids=str)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
def test_batch_norm_matches_torch(shape, training, affine):
    torch = torch_or_skip()
    inputs, fresh_stats = batch_norm_case(shape, affine)
    for dtype in (np.float32, np.float64):
        ours = [a.astype(dtype) for a in fresh_stats()]
        theirs = [torch.tensor(a.astype(dtype)) for a in fresh_stats()]
        assert_matches_torch(
            lambda a, *wb, stats=ours: F.batch_norm(a, *stats, *wb, training=training,
                                                    momentum=0.3),
            lambda a, *wb, stats=theirs: torch_f().batch_norm(a, *stats, *wb,
                                                              training=training, momentum=0.3),
            inputs, dtype=dtype)
        for mine, reference in zip(ours, theirs, strict=True):
            assert mine.dtype == dtype
            tolerance = PARITY_TOLERANCE[np.dtype(dtype)]
            np.testing.assert_allclose(mine, reference.numpy(), rtol=tolerance, atol=tolerance)


def test_batch_norm_running_statistics_by_hand():
    """running <- (1 - momentum) running + momentum * batch stat, unbiased variance."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 3, 2, 2))
    running_mean, running_var = np.full(3, 0.5), np.full(3, 2.0)
    F.batch_norm(x, running_mean, running_var, training=True, momentum=0.2)
    per_channel = x.transpose(1, 0, 2, 3).reshape(3, -1)
    np.testing.assert_allclose(running_mean, 0.8 * 0.5 + 0.2 * per_channel.mean(axis=1))
    np.testing.assert_allclose(running_var, 0.8 * 2.0 + 0.2 * per_channel.var(axis=1, ddof=1))
    frozen = running_mean.copy(), running_var.copy()
    F.batch_norm(x, running_mean, running_var, training=False)
    np.testing.assert_array_equal(running_mean, frozen[0])
    np.testing.assert_array_equal(running_var, frozen[1])


@pytest.mark.parametrize("shape", [(7, 3), (2, 4, 3, 3)])
def test_batch_norm_backward_formula_matches_autograd_of_the_reference(shape):
    """BatchNorm's rewritten backward against autograd through ``batch_norm_reference``
    (its forward formula on Tensors, differentiated one primitive at a time)."""
    rng = np.random.default_rng(3)
    x, gamma, beta = rng.standard_normal(shape), *params(rng, shape[1], affine=True)
    upstream = rng.standard_normal(shape)
    grads = []
    for forward in (lambda *t: F.batch_norm(*t[:1], None, None, *t[1:], training=True),
                    batch_norm_reference):
        tensors = [vg.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
        forward(*tensors).backward(upstream)
        grads.append([t.grad for t in tensors])
    for compact, composed in zip(*grads, strict=True):
        np.testing.assert_allclose(compact, composed, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(1, 3, 1, 7), (8, 3, 4, 4), (6, 5, 3, 5), (8, 3, 16, 16)],
                         ids=str)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batch_norm_any_row_count_and_channels_last_input(shape, training):
    """The op folds its (M, C) rows k = gcd(M, 1024) at a time (k = 1, 128, 2 and 1024
    here); NCHW
    and channels-last input give the same values, in the primitives' float64 result."""
    rng = np.random.default_rng(5)
    x, gamma, beta = rng.standard_normal(shape), *params(rng, shape[1], affine=True)
    upstream = rng.standard_normal(shape)
    channels_last = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    results = []
    for data in (x, channels_last):
        tensors = [vg.tensor(a, requires_grad=True) for a in (data, gamma, beta)]
        mean, var = np.full(shape[1], 0.5), np.full(shape[1], 1.5)
        y = F.batch_norm(tensors[0], mean, var, *tensors[1:], training=training)
        y.backward(upstream)
        results.append([y.data] + [t.grad for t in tensors])
    tensors = [vg.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
    if training:
        reference = batch_norm_reference(*tensors)
    else:
        reference = ((tensors[0] - 0.5) / np.sqrt(1.5 + 1e-5) * tensors[1].reshape(1, -1, 1, 1)
                     + tensors[2].reshape(1, -1, 1, 1))
    reference.backward(upstream)
    expected = [reference.data] + [t.grad for t in tensors]
    for result in results:
        for ours, theirs in zip(result, expected, strict=True):
            np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("offset, scale", [(1000, 0.1), (100, 1.0), (0, 1.0)])
def test_batch_norm_keeps_float32_and_is_accurate_on_offset_data(offset, scale):
    """Statistics in float32 (no float64 upcast) agree with a float64 computation even on
    data 1e4 standard deviations from zero, where a plain float32 mean is off by ~1e-3."""
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((64, 8, 4, 4)) * scale + offset).astype(np.float32)
    running_mean, running_var = np.zeros(8, np.float32), np.ones(8, np.float32)
    y = F.batch_norm(x, running_mean, running_var, training=True)
    assert y.dtype == np.float32 and running_var.dtype == np.float32
    exact = F.batch_norm(x.astype(np.float64), None, None, training=True).data
    np.testing.assert_allclose(y.data, exact, atol=5e-6)
    np.testing.assert_allclose(running_mean, 0.1 * x.mean(axis=(0, 2, 3), dtype=np.float64),
                               rtol=1e-6, atol=1e-6 * scale)


LAYER_NORM_CASES = [((4, 6), (6,)), ((1, 5), (5,)), ((2, 3, 4, 5), (4, 5)),
                    ((3, 2, 3), (2, 3)), ((2, 3, 2, 2), (3, 2, 2))]


@pytest.mark.parametrize("shape, normalized_shape", LAYER_NORM_CASES)
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
def test_layer_norm_gradcheck(shape, normalized_shape, affine):
    inputs = layer_norm_inputs(shape, normalized_shape, affine)
    assert_gradcheck(lambda a, *p: F.layer_norm(a, normalized_shape, *p), inputs, h=STEP)


def layer_norm_inputs(shape, normalized_shape, affine):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape)
    return [x] + ([rng.uniform(0.5, 1.5, normalized_shape), rng.standard_normal(normalized_shape)]
                  if affine else [])


@pytest.mark.parametrize("shape, normalized_shape", LAYER_NORM_CASES)
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
def test_layer_norm_matches_torch(shape, normalized_shape, affine):
    inputs = layer_norm_inputs(shape, normalized_shape, affine)
    for dtype in (np.float32, np.float64):
        assert_matches_torch(lambda a, *p: F.layer_norm(a, normalized_shape, *p),
                             lambda a, *p: torch_f().layer_norm(a, normalized_shape, *p),
                             inputs, dtype=dtype)


GROUP_NORM_CASES = [((2, 6, 3, 3), 3), ((1, 4, 5, 2), 1), ((3, 4, 2, 3), 4), ((2, 6, 5), 2),
                    ((4, 6), 2)]


def group_norm_inputs(shape, affine):
    rng = np.random.default_rng(6)
    return [rng.standard_normal(shape)] + params(rng, shape[1], affine)


@pytest.mark.parametrize("shape, groups", GROUP_NORM_CASES)
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
def test_group_norm_gradcheck(shape, groups, affine):
    assert_gradcheck(lambda a, *p: F.group_norm(a, groups, *p), group_norm_inputs(shape, affine),
                     h=STEP)


@pytest.mark.parametrize("shape, groups", GROUP_NORM_CASES)
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
def test_group_norm_matches_torch(shape, groups, affine):
    inputs = group_norm_inputs(shape, affine)
    for dtype in (np.float32, np.float64):
        assert_matches_torch(lambda a, *p: F.group_norm(a, groups, *p),
                             lambda a, *p: torch_f().group_norm(a, groups, *p), inputs,
                             dtype=dtype)


def test_bad_arguments_are_named():
    x = np.ones((4, 3))
    with pytest.raises(ValueError, match=r"weight of shape \(2,\) does not match the 3 "
                                         r"channels of the input of shape \(4, 3\)"):
        F.batch_norm(x, None, None, np.ones(2), training=True)
    with pytest.raises(ValueError, match=r"more than 1 value per channel.*\(1, 3\)"):
        F.batch_norm(np.ones((1, 3)), None, None, training=True)
    with pytest.raises(ValueError, match="running_mean and running_var are required"):
        F.batch_norm(x, None, None, training=False)
    with pytest.raises(ValueError, match=r"\(4, 3\) does not end in the normalized_shape \(4,\)"):
        F.layer_norm(x, 4)
    with pytest.raises(ValueError, match=r"input of shape \(4, 3\) do not split into 2 groups"):
        F.group_norm(x, 2)


@pytest.mark.parametrize("shape", BATCH_NORM_SHAPES, ids=str)
def test_batch_norm_reference_on_arrays_matches_the_op(shape):
    """The plain reference on NumPy arrays gives the op's training-mode output."""
    rng = np.random.default_rng(9)
    x, gamma, beta = rng.standard_normal(shape) * 3 + 2, *params(rng, shape[1], affine=True)
    expected = batch_norm_reference(x, gamma, beta)
    assert isinstance(expected, np.ndarray)
    np.testing.assert_allclose(F.batch_norm(x, None, None, gamma, beta, training=True).data,
                               expected, rtol=1e-12, atol=1e-12)


# ----- instance norm ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(2, 3, 5), (3, 4, 4, 5)])
def test_instance_norm_gradcheck_and_torch(shape):
    r = np.random.default_rng(8)
    x, w, b = r.standard_normal(shape), r.standard_normal(shape[1]), r.standard_normal(shape[1])
    fn = lambda x, w, b: F.instance_norm(x, weight=w, bias=b)  # noqa: E731
    assert_gradcheck(fn, [x, w, b], max_coords=60, h=1e-5)  # a larger step, as test_norm's
    torch = pytest.importorskip("torch")
    assert_matches_torch(fn, lambda x, w, b: torch.nn.functional.instance_norm(
        x, weight=w, bias=b), [x, w, b], dtype=np.float64)
    ours = [np.zeros(shape[1]), np.ones(shape[1])]
    theirs = [torch.tensor(a.copy()) for a in ours]
    F.instance_norm(x, *ours, momentum=0.3)
    torch.nn.functional.instance_norm(torch.tensor(x), *theirs, momentum=0.3)
    for a, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, t.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("affine, track", [(False, False), (True, True), (True, False)])
def test_nn_instance_norm_matches_torch_in_both_modes(affine, track):
    torch = torch_or_skip()
    x = np.random.default_rng(9).standard_normal((3, 4, 5, 6))
    ours = nn.InstanceNorm2d(4, affine=affine, track_running_stats=track).to(np.float64)
    theirs = torch.nn.InstanceNorm2d(4, affine=affine, track_running_stats=track).double()
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    for mode in ("train", "eval"):
        getattr(ours, mode)(), getattr(theirs, mode)()
        np.testing.assert_allclose(ours(vg.tensor(x)).data,
                                   theirs(torch.tensor(x)).detach().numpy(), atol=1e-10)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key], value.numpy(), atol=1e-12)
