"""Each functional wrapper builds a graph node of the Function class it documents.

The ops' gradient checks and PyTorch parity tests call the functional names; this ties
every Function class in visiongrad.ops to the wrapper those tests go through, so a class
that no wrapper reaches (and so no test checks) fails here.
"""

import inspect

import numpy as np
import pytest

import visiongrad as vg
from visiongrad import functional as F
from visiongrad.ops import activation, conv, embedding, linear, loss, math, norm, regularize

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
}
IMAGE_WRAPPERS = {
    "Conv2d": lambda t: F.conv2d(t, np.ones((2, 3, 3, 3))),
    "ConvTranspose2d": lambda t: F.conv_transpose2d(t, np.ones((3, 2, 3, 3))),
    "MaxPool2d": lambda t: F.max_pool2d(t, 2), "AvgPool2d": lambda t: F.avg_pool2d(t, 2),
    "MaxUnpool2d": lambda t: F.max_unpool2d(t[:, :, :2, :2], indices, 2),
    "UpsampleNearest": lambda t: F.upsample_nearest(t, 2),
    "UpsampleBedOfNails": lambda t: F.upsample_bed_of_nails(t, 2),
    "BatchNorm": lambda t: F.batch_norm(t, None, None, training=True),
    "GroupNorm": lambda t: F.group_norm(t, 3),
    "InstanceNorm": lambda t: F.instance_norm(t),
}


def function_classes():
    for module in (activation, conv, embedding, linear, loss, math, norm, regularize):
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and issubclass(obj, vg.Function)
                    and obj.__module__ == module.__name__ and not name.startswith("_")
                    and "forward" in vars(obj)):
                yield name


@pytest.mark.parametrize("name", sorted(set(function_classes())))
def test_wrapper_builds_a_node_of_its_function(name):
    assert name in WRAPPERS or name in IMAGE_WRAPPERS, f"no wrapper known for {name}"
    wrapper = WRAPPERS.get(name) or IMAGE_WRAPPERS[name]
    data = x4 if name in IMAGE_WRAPPERS else np.abs(scores) + 0.5
    out = wrapper(vg.tensor(data, requires_grad=True))
    nodes = {type(t._node).__name__ for t in vg.graph_nodes(out) if t._node is not None}
    assert name in nodes, f"{name} not in the graph built by its wrapper: {sorted(nodes)}"
