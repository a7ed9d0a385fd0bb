"""The functional API (functional.py) reaches every Function of visiongrad.ops.

Each functional name (or Tensor method) builds a graph node of the Function class it
documents. The ops' gradient checks and PyTorch parity tests call the functional names;
this ties every Function class in every module of ``visiongrad.ops`` to the wrapper those
tests go through, so a class that no wrapper reaches (and so no test checks) fails here.
The classes of ``CASES`` also pass a float64 gradient check (no PyTorch) through their
public function here; their PyTorch parity tests live beside their families.
"""

import importlib
import inspect
import pkgutil

import numpy as np
import pytest
from helpers import assert_gradcheck

import visiongrad as vg
from visiongrad import functional as F
from visiongrad import ops
from visiongrad.generative.losses import contractive_penalty
from visiongrad.ops import contractive, einsum, indexing, interpolate, recurrent, reduce, roi, shape

rng = np.random.default_rng(0)
x4 = rng.standard_normal((2, 3, 4, 4))
scores = rng.standard_normal((5, 4))
labels = np.array([0, 3, 1, 2, 3])
pooled, indices = F.max_pool2d(x4, 2, return_indices=True)

WRAPPERS = {
    "Add": lambda t: t + t, "Sub": lambda t: t - 1.0, "Mul": lambda t: t * t,
    "Div": lambda t: t / 2.0, "Neg": lambda t: -t, "PowScalar": lambda t: t**2,
    "Pow": lambda t: t**t, "Exp": F.exp, "Log": F.log, "Sqrt": F.sqrt, "Abs": F.abs,
    "Clip": lambda t: F.clip(t, -1, 1), "Where": lambda t: vg.where(t.data > 0, t, -t),
    "Sum": lambda t: t.sum(), "Mean": lambda t: t.mean(), "Max": lambda t: t.max(),
    "Min": lambda t: t.min(), "Reshape": lambda t: t.reshape(-1),
    "Transpose": lambda t: t.T, "Index": lambda t: t[0],
    "Concat": lambda t: F.concat([t, t]), "Stack": lambda t: F.stack([t, t]),
    "Cast": lambda t: t.astype(np.float32),
    "MatMul": lambda t: F.matmul(t, t.T), "Linear": lambda t: F.linear(t, t),
    "Affine": lambda t: F.affine(t, t.T),
    "Sigmoid": F.sigmoid, "Tanh": F.tanh, "ReLU": F.relu, "LeakyReLU": F.leaky_relu,
    "ELU": F.elu, "PReLU": lambda t: F.prelu(t, np.array([0.25])),
    "Maxout": lambda t: F.maxout(t, 2), "Softmax": lambda t: F.softmax(t, dim=1),
    "LogSoftmax": lambda t: F.log_softmax(t, dim=1),
    "CrossEntropy": lambda t: F.cross_entropy(t, labels),
    "NLLLoss": lambda t: F.nll_loss(t, labels),
    "MulticlassHinge": lambda t: F.multiclass_hinge(t, labels),
    "ElasticNetPenalty": lambda t: F.elastic_net_penalty(t, 1e-3, 0.5),
    "MSELoss": lambda t: F.mse_loss(t, np.zeros(t.shape)),
    "L1Loss": lambda t: F.l1_loss(t, np.zeros(t.shape)),
    "BCEWithLogits": lambda t: F.binary_cross_entropy_with_logits(t, np.ones(t.shape) / 2),
    "Dropout": lambda t: F.dropout(t, 0.5, training=True),
    "DropConnect": lambda t: F.dropconnect(t, t, None, 0.5, training=True),
    "Embedding": lambda t: F.embedding(np.array([0, 2]), t),
    "LayerNorm": lambda t: F.layer_norm(t, (4,)),
    "Maximum": lambda t: F.maximum(t, 1.0), "PiecewiseConstant": F.floor, "Unary": F.rsqrt,
    "RNN": lambda t: F.rnn(t.reshape(1, 5, 4), np.zeros((1, 3)), np.ones((4, 3)),
                           np.ones((3, 3)), np.zeros(3)),
    "LSTM": lambda t: F.lstm(t.reshape(1, 5, 4), np.zeros((1, 3)), np.ones((4, 12)),
                             np.ones((3, 12)), np.zeros(12)),
    "GRU": lambda t: F.gru(t.reshape(1, 5, 4), np.zeros((1, 3)), np.ones((4, 9)),
                           np.ones((3, 9)), np.zeros(9)),
    "FakeQuantize": lambda t: F.fake_quantize(t, np.array(0.1), np.array(0.0), 0, 255),
    "TernaryWeight": lambda t: F.ternary_weight(t, np.array(1.0), np.array(1.0)),
    "BinaryWeight": F.binary_weight,
}
IMAGE_WRAPPERS = {
    "Conv2d": lambda t: F.conv2d(t, np.ones((2, 3, 3, 3))),
    "ConvTranspose2d": lambda t: F.conv_transpose2d(t, np.ones((3, 2, 3, 3))),
    "MaxPool2d": lambda t: F.max_pool2d(t, 2), "AvgPool2d": lambda t: F.avg_pool2d(t, 2),
    "MaxUnpool2d": lambda t: F.max_unpool2d(t[:, :, :2, :2], indices, 2),
    "UpsampleNearest": lambda t: F.upsample_nearest(t, 2),
    "UpsampleBedOfNails": lambda t: F.upsample_bed_of_nails(t, 2),
    "BatchNorm": lambda t: F.batch_norm(t, None, None, training=True),
    "BatchNormReLU": lambda t: F.batch_norm_relu(t, None, None, training=True),
    "GroupNorm": lambda t: F.group_norm(t, 3),
    "InstanceNorm": lambda t: F.instance_norm(t),
    "AdaptiveAvgPool2d": lambda t: F.adaptive_avg_pool2d(t, 3),
    "AdaptiveMaxPool2d": lambda t: F.adaptive_max_pool2d(t, 3),
    "LocalResponseNorm": lambda t: F.local_response_norm(t, 2),
    "DropPath": lambda t: F.drop_path(t, 0.5, training=True),
    "DotProductAttention": lambda t: F.dot_product_attention(t[:, :, 0, 0], t)[0],
    "WinogradConv2d": lambda t: F.winograd_conv2d(t, np.ones((2, 3, 3, 3))),
}


def function_classes():
    """Every Function class with its own forward, in every module of visiongrad.ops."""
    for info in pkgutil.iter_modules(ops.__path__):
        module = importlib.import_module(f"{ops.__name__}.{info.name}")
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and issubclass(obj, vg.Function)
                    and obj.__module__ == module.__name__ and not name.startswith("_")
                    and "forward" in vars(obj)):
                yield obj


def test_every_ops_module_is_seen():
    modules = {cls.__module__.rsplit(".", 1)[1] for cls in function_classes()}
    assert {"math", "reduce", "shape", "indexing", "activation", "recurrent", "roi"} <= modules


@pytest.mark.parametrize("cls", sorted(set(function_classes()), key=lambda c: c.__name__),
                         ids=lambda c: c.__name__)
def test_wrapper_builds_a_node_of_its_function(cls):
    name = cls.__name__
    known = name in WRAPPERS or name in IMAGE_WRAPPERS or name in CASES
    assert known, f"no wrapper known for {cls.__module__}.{name}"
    if name in CASES:
        _, wrapper, inputs = CASES[name]
        out = wrapper(*(vg.tensor(a, requires_grad=True) for a in inputs))
    else:
        wrapper = WRAPPERS.get(name) or IMAGE_WRAPPERS[name]
        data = x4 if name in IMAGE_WRAPPERS else np.abs(scores) + 0.5
        out = wrapper(vg.tensor(data, requires_grad=True))
    nodes = [t._node for t in vg.graph_nodes(out) if t._node is not None]
    assert any(isinstance(node, cls) for node in nodes), \
        f"{name} not in the graph built by its wrapper: {sorted(type(n).__name__ for n in nodes)}"


# ----- Functions reached through their public function, with a gradient check -----------

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
    out = fn(*(vg.tensor(a, requires_grad=True) for a in inputs))
    assert type(out._node) is cls, f"{name}: the graph node is {type(out._node).__name__}"
    assert_gradcheck(fn, inputs)
