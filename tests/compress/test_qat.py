"""Quantization-aware training and binary/ternary weights at the module level: where the
fake quantizers go, calibration, and that training through them learns."""

import numpy as np
import pytest

import visiongrad as vg
from visiongrad import functional as F
from visiongrad import models, nn, optim
from visiongrad.autograd import no_grad, tensor
from visiongrad.compress.qat import (
    ActivationFakeQuantize,
    QATConv2d,
    QATLinear,
    calibrate_fake_quant,
    prepare_qat,
)
from visiongrad.compress.ternary import LowBitWeights, deployed_weights, low_bit_weights

rng = np.random.default_rng(4)


def vgg():
    vg.manual_seed(0)
    return models.create("vgg_small", input_shape=(1, 12, 12), num_classes=4, width=4,
                         hidden_dim=8, dropout=0.1)


def test_fake_quantizers_sit_where_the_int8_path_quantizes():
    qat = prepare_qat(vgg(), bits=4)
    kinds = [type(m).__name__ for m in qat]
    assert kinds == ["ActivationFakeQuantize",
                     "QATConv2d", "BatchNorm2d", "ReLU", "ActivationFakeQuantize",
                     "QATConv2d", "BatchNorm2d", "ReLU", "ActivationFakeQuantize", "MaxPool2d",
                     "QATConv2d", "BatchNorm2d", "ReLU", "ActivationFakeQuantize",
                     "QATConv2d", "BatchNorm2d", "ReLU", "ActivationFakeQuantize", "MaxPool2d",
                     "Flatten", "QATLinear", "ReLU", "ActivationFakeQuantize", "QATLinear"]
    assert all(m.bits == 4 for m in qat if isinstance(m, (QATConv2d, QATLinear,
                                                          ActivationFakeQuantize)))


def test_qat_shares_parameters_and_8_bits_stay_close_to_float():
    net = vgg().eval()
    x = rng.standard_normal((16, 1, 12, 12)).astype(np.float32)
    with no_grad():
        expected = net(tensor(x)).data
    qat = prepare_qat(net, bits=8).eval()  # shares net's modules, batch norm included
    assert {id(p) for p in qat.parameters()} == {id(p) for p in net.parameters()}
    calibrate_fake_quant(qat, x)
    observers = [m for m in qat if isinstance(m, ActivationFakeQuantize)]
    assert observers[0].lo == pytest.approx(x.min()) and observers[0].hi == pytest.approx(x.max())
    with no_grad():
        got = qat(tensor(x)).data
    assert np.abs(got - expected).max() < 0.05 * np.abs(expected).max()


def small_task():
    x = rng.standard_normal((64, 1, 12, 12)).astype(np.float32)
    y = (x[:, 0, :6].sum(axis=(1, 2)) > 0).astype(np.int64) + 2 * (x[:, 0, :, :6].sum(
        axis=(1, 2)) > 0)
    return x, y


def train_steps(model, steps=60):
    x, y = small_task()
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    model.train()
    for _ in range(steps):
        loss = F.cross_entropy(model(tensor(x)), tensor(y))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.data))
    return losses


def test_training_through_4_bit_fake_quantization_learns():
    losses = train_steps(prepare_qat(vgg(), bits=4))
    assert losses[-1] < 0.75 * losses[0]


@pytest.mark.parametrize("kind", ["ternary", "binary"])
def test_low_bit_weights_train_and_deploy(kind):
    net = vgg()
    low = low_bit_weights(net, kind)
    wrapped = [m for m in low if isinstance(m, LowBitWeights)]
    assert len(wrapped) == 4  # the first convolution and the classifier stay float
    if kind == "ternary":
        assert len(list(low.parameters())) == len(list(net.parameters())) + 2 * 4
    losses = train_steps(low)
    assert losses[-1] < 0.75 * losses[0]
    deployed = deployed_weights(low)
    codes = np.concatenate([v.ravel() for k, v in deployed.items() if k.endswith("codes")])
    assert set(np.unique(codes)) <= ({-1, 0, 1} if kind == "ternary" else {-1, 1})
    with pytest.raises(ValueError, match="kind"):
        LowBitWeights(nn.Linear(2, 2), "quaternary")
