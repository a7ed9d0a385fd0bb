"""Each Function below is reached through its public function: the output's graph node is
an instance of that class, and a float64 gradient check (no PyTorch) passes through it.
Their PyTorch parity tests live beside their families (test_reduce, test_shape,
test_indexing, test_einsum, test_conv_options, test_recurrent, test_roi, generative)."""

import numpy as np
import pytest
from helpers import assert_gradcheck

from visiongrad import functional as F
from visiongrad.generative.losses import contractive_penalty
from visiongrad.ops import contractive, einsum, indexing, interpolate, recurrent, reduce, roi, shape

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4))
IMAGE = RNG.standard_normal((2, 3, 6, 7))
INDEX = RNG.integers(0, 4, (3, 4))
DISTINCT = np.argsort(RNG.random((3, 4)), axis=1)[:, :2]  # no two writes to one place
LABELS, MASK = RNG.integers(0, 5, (2, 3)), np.array([[1, 1, 0], [1, 0, 1]])
BOXES = np.array([[0, 0.5, 0.7, 4.6, 5.2], [1, 1.2, 0.3, 6.1, 3.9]])

CASES = {
    "Prod": (reduce.Prod, lambda x: F.prod(x, 1), [RNG.uniform(0.5, 1.5, (3, 4))]),
    "Var": (reduce.Var, lambda x: F.var(x, 0, correction=1), [X]),
    "LogSumExp": (reduce.LogSumExp, lambda x: F.logsumexp(x, -1), [X]),
    "CumSum": (reduce.CumSum, lambda x: F.cumsum(x, 1), [X]),
    "Expand": (shape.Expand, lambda x: F.expand(x[:, :1], 3, 5), [X]),
    "Flip": (shape.Flip, lambda x: F.flip(x, (0, 1)), [X]),
    "Roll": (shape.Roll, lambda x: F.roll(x, 2, 1), [X]),
    "Pad": (shape.Pad, lambda x: F.pad(x, (1, 2), mode="reflect"), [X]),
    "Repeat": (shape.Repeat, lambda x: F.repeat(x, 2, 3), [X]),
    "Triangle": (shape.Triangle, lambda x: F.tril(x, 1), [X]),
    "Gather": (indexing.Gather, lambda x: F.gather(x, 1, INDEX), [X]),
    "Scatter": (indexing.Scatter, lambda x, s: F.scatter(x, 1, DISTINCT, s),
                [X, RNG.standard_normal((3, 2))]),
    "IndexSelect": (indexing.IndexSelect, lambda x: F.index_select(x, 1, np.array([3, 0, 3])),
                    [X]),
    "Einsum": (einsum.Einsum, lambda a, b: F.einsum("ij,jk->ik", a, b),
               [X, RNG.standard_normal((4, 2))]),
    "Interpolate": (interpolate.Interpolate,
                    lambda x: F.interpolate(x, size=(5, 9), mode="bilinear"), [IMAGE]),
    "TemporalAffine": (recurrent.TemporalAffine, F.temporal_affine,
                       [RNG.standard_normal((2, 3, 4)), RNG.standard_normal((4, 5)),
                        RNG.standard_normal(5)]),
    "TemporalSoftmaxLoss": (recurrent.TemporalSoftmaxLoss,
                            lambda s: F.temporal_softmax_loss(s, LABELS, MASK),
                            [RNG.standard_normal((2, 3, 5))]),
    "RoIAlign": (roi.RoIAlign, lambda x: F.roi_align(x, BOXES, (2, 3), sampling_ratio=2),
                 [IMAGE]),
    "RoIPool": (roi.RoIPool, lambda x: F.roi_pool(x, BOXES, (2, 2)),
                [RNG.permutation(2 * 3 * 6 * 7).reshape(2, 3, 6, 7) / 10.0]),  # no ties
    "ContractivePenalty": (contractive.ContractivePenalty, contractive_penalty,
                           [X, RNG.standard_normal((5, 4)), RNG.standard_normal(5)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_function_is_reached_and_gradchecks(name):
    cls, fn, inputs = CASES[name]
    assert cls.__name__ == name
    import visiongrad as vg
    out = fn(*(vg.tensor(a, requires_grad=True) for a in inputs))
    assert type(out._node) is cls, f"{name}: the graph node is {type(out._node).__name__}"
    assert_gradcheck(fn, inputs)
