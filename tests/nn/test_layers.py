"""Layers against torch.nn: the same parameter names and shapes, PyTorch-like default
initialisation, and the same outputs and gradients once the torch weights are loaded."""

import math

import numpy as np
import pytest
from helpers import torch_or_skip

import visiongrad as vg
from visiongrad import functional as F
from visiongrad import nn

needs_conv = pytest.mark.skipif(not hasattr(F, "conv2d"),
                                reason="the conv ops (F.conv2d, pooling) have not landed")

# (visiongrad layer, torch layer built from the torch module, input shape)
PAIRS = {
    "linear": (lambda: nn.Linear(5, 3), lambda t: t.nn.Linear(5, 3), (4, 5)),
    "linear-nobias": (lambda: nn.Linear(5, 3, bias=False),
                      lambda t: t.nn.Linear(5, 3, bias=False), (2, 7, 5)),
    "batchnorm1d": (lambda: nn.BatchNorm1d(3), lambda t: t.nn.BatchNorm1d(3), (6, 3)),
    "batchnorm1d-3d": (lambda: nn.BatchNorm1d(3), lambda t: t.nn.BatchNorm1d(3), (4, 3, 5)),
    "batchnorm2d": (lambda: nn.BatchNorm2d(3), lambda t: t.nn.BatchNorm2d(3), (4, 3, 5, 5)),
    "batchnorm2d-cumulative": (lambda: nn.BatchNorm2d(3, momentum=None),
                               lambda t: t.nn.BatchNorm2d(3, momentum=None), (4, 3, 2, 2)),
    "batchnorm2d-untracked": (lambda: nn.BatchNorm2d(3, track_running_stats=False),
                              lambda t: t.nn.BatchNorm2d(3, track_running_stats=False),
                              (4, 3, 2, 2)),
    "layernorm": (lambda: nn.LayerNorm((4, 5)), lambda t: t.nn.LayerNorm((4, 5)), (3, 2, 4, 5)),
    "groupnorm": (lambda: nn.GroupNorm(2, 4), lambda t: t.nn.GroupNorm(2, 4), (3, 4, 3, 3)),
    "prelu": (lambda: nn.PReLU(3), lambda t: t.nn.PReLU(3), (4, 3, 2)),
    "prelu-shared": (lambda: nn.PReLU(), lambda t: t.nn.PReLU(), (4, 3)),
    "relu": (nn.ReLU, lambda t: t.nn.ReLU(), (4, 3)),
    "leaky_relu": (lambda: nn.LeakyReLU(0.2), lambda t: t.nn.LeakyReLU(0.2), (4, 3)),
    "elu": (lambda: nn.ELU(0.7), lambda t: t.nn.ELU(0.7), (4, 3)),
    "sigmoid": (nn.Sigmoid, lambda t: t.nn.Sigmoid(), (4, 3)),
    "tanh": (nn.Tanh, lambda t: t.nn.Tanh(), (4, 3)),
    "softmax": (lambda: nn.Softmax(1), lambda t: t.nn.Softmax(1), (4, 3)),
    "flatten": (nn.Flatten, lambda t: t.nn.Flatten(), (2, 3, 4)),
    "mlp": (lambda: nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(),
                                  nn.Linear(6, 2)),
            lambda t: t.nn.Sequential(t.nn.Linear(4, 6), t.nn.BatchNorm1d(6), t.nn.ReLU(),
                                      t.nn.Linear(6, 2)), (8, 4)),
}

CONV_PAIRS = {
    "conv2d": (lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1),
               lambda t: t.nn.Conv2d(3, 4, 3, stride=2, padding=1), (2, 3, 7, 7)),
    "conv_transpose2d": (lambda: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1,
                                                    output_padding=1),
                         lambda t: t.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1,
                                                        output_padding=1), (2, 3, 4, 4)),
    "max_pool2d": (lambda: nn.MaxPool2d(2), lambda t: t.nn.MaxPool2d(2), (2, 3, 6, 6)),
    "avg_pool2d": (lambda: nn.AvgPool2d(3, stride=2, padding=1),
                   lambda t: t.nn.AvgPool2d(3, stride=2, padding=1), (2, 3, 6, 6)),
    "global_avg_pool": (nn.GlobalAvgPool2d, lambda t: t.nn.AdaptiveAvgPool2d(1), (2, 3, 5, 4)),
    "convnet": (lambda: nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4),
                                      nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                      nn.Linear(4 * 4 * 4, 3)),
                lambda t: t.nn.Sequential(t.nn.Conv2d(1, 4, 3, padding=1), t.nn.BatchNorm2d(4),
                                          t.nn.ReLU(), t.nn.MaxPool2d(2), t.nn.Flatten(),
                                          t.nn.Linear(4 * 4 * 4, 3)), (5, 1, 8, 8)),
}


def torch_state_as_numpy(module):
    return {key: value.detach().numpy().copy() for key, value in module.state_dict().items()}


def check_pair(name, pairs):
    torch = torch_or_skip()
    torch.manual_seed(0)
    build_ours, build_theirs, shape = pairs[name]
    ours, theirs = build_ours(), build_theirs(torch)
    reference_state = torch_state_as_numpy(theirs)
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
        {k: v.shape for k, v in reference_state.items()}, "names or shapes differ from torch"
    ours.load_state_dict(reference_state)
    rng = np.random.default_rng(0)
    for training in (True, True, False):  # two training steps move the running statistics
        ours.train(training), theirs.train(training)
        x = rng.standard_normal(shape).astype(np.float32)
        x_ours, x_theirs = vg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y_ours, y_theirs = ours(x_ours), theirs(x_theirs)
        np.testing.assert_allclose(y_ours.data, y_theirs.detach().numpy(), rtol=1e-4, atol=1e-5)
        upstream = rng.standard_normal(y_ours.shape).astype(np.float32)
        ours.zero_grad(), theirs.zero_grad()
        y_ours.backward(upstream)
        y_theirs.backward(torch.tensor(upstream))
        np.testing.assert_allclose(x_ours.grad, x_theirs.grad.numpy(), rtol=1e-4, atol=1e-5)
        for (key, p), q in zip(ours.named_parameters(), theirs.parameters(), strict=True):
            np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-4, atol=1e-5,
                                       err_msg=f"gradient of {key}")
    for key, value in torch_state_as_numpy(theirs).items():
        np.testing.assert_allclose(ours.state_dict()[key], value, rtol=1e-5, atol=1e-6,
                                   err_msg=f"{key} after training steps")


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_matches_torch_after_loading_its_state_dict(name):
    check_pair(name, PAIRS)


@needs_conv
@pytest.mark.parametrize("name", sorted(CONV_PAIRS))
def test_conv_layers_match_torch_after_loading_its_state_dict(name):
    check_pair(name, CONV_PAIRS)


def test_embedding_matches_torch():
    torch = torch_or_skip()
    ours, theirs = nn.Embedding(10, 3), torch.nn.Embedding(10, 3)
    ours.load_state_dict(torch_state_as_numpy(theirs))
    indices = np.array([[1, 4, 4], [9, 0, 2]])
    np.testing.assert_allclose(ours(indices).data,
                               theirs(torch.tensor(indices)).detach().numpy())


def test_maxout_and_identity():
    x = vg.tensor(np.arange(12, dtype=np.float32).reshape(2, 6))
    np.testing.assert_array_equal(nn.Maxout(3)(x).data, [[2, 5], [8, 11]])
    assert nn.Identity()(x) is x


@pytest.mark.parametrize(("build", "fan_in"), [
    (lambda: nn.Linear(300, 200), 300),
    (lambda: nn.Conv2d(16, 64, 3), 16 * 9),
    (lambda: nn.ConvTranspose2d(64, 16, 3), 16 * 9),
    (lambda: nn.DropConnectLinear(300, 200), 300),
])
def test_default_initialisation_is_pytorchs(build, fan_in):
    """kaiming_uniform(a=sqrt(5)): W and b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    layer = build()
    bound = 1 / math.sqrt(fan_in)
    weight = layer.weight.data
    assert weight.dtype == np.float32
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.95 * bound
    assert weight.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    assert np.abs(layer.bias.data).max() <= bound


def test_default_initialisation_is_reproducible():
    vg.manual_seed(5)
    first = nn.Linear(4, 4).weight.data.copy()
    vg.manual_seed(5)
    np.testing.assert_array_equal(nn.Linear(4, 4).weight.data, first)
    assert not np.array_equal(nn.Linear(4, 4).weight.data, first)


def test_dropconnect_linear_is_linear_in_eval_and_masked_in_training():
    layer = nn.DropConnectLinear(50, 40, p=0.5)
    x = vg.tensor(np.ones((2, 50), np.float32))
    layer.eval()
    np.testing.assert_allclose(layer(x).data, F.linear(x, layer.weight, layer.bias).data)
    layer.train()
    assert not np.allclose(layer(x).data, F.linear(x, layer.weight, layer.bias).data)


@pytest.mark.parametrize(("build", "message"), [
    (lambda: nn.Linear(0, 3), "Linear: in_features must be a positive integer, got 0"),
    (lambda: nn.Dropout(1.5), "Dropout: p must be between 0 and 1, got 1.5"),
    (lambda: nn.GroupNorm(3, 4), r"num_channels \(4\) must be divisible by num_groups \(3\)"),
    (lambda: nn.BatchNorm2d(4, momentum=2), "momentum must be between 0 and 1"),
    (lambda: nn.Conv2d(1, 2, (3, 3, 3)), "kernel_size must be an int or a pair"),
    (lambda: nn.Maxout(0), "pieces must be a positive integer"),
])
def test_bad_layer_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_batch_norm_checks_its_input_rank():
    with pytest.raises(ValueError, match=r"BatchNorm2d expects 4D input, got shape \(4, 3\)"):
        nn.BatchNorm2d(3)(vg.tensor(np.ones((4, 3), np.float32)))


def test_global_avg_pool_by_hand():
    x = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)
    y = nn.GlobalAvgPool2d()(vg.tensor(x))
    assert y.shape == (1, 2, 1, 1)
    np.testing.assert_allclose(y.data.ravel(), [5.5, 17.5])
