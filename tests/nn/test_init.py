"""nn.init: the standard deviation of each scheme (statistical, with tolerance), gains
against torch, reproducibility under vg.manual_seed, dtype kept."""

import math

import numpy as np
import pytest
from helpers import torch_or_skip

import visiongrad as vg
from visiongrad import nn
from visiongrad.nn import init

SHAPE = (256, 128, 3, 3)  # fan_in = 128 * 9, fan_out = 256 * 9
FAN_IN, FAN_OUT = 128 * 9, 256 * 9


def weight():
    return nn.Parameter(np.zeros(SHAPE, np.float32))


@pytest.mark.parametrize(("fill", "expected_std"), [
    (lambda w: init.small_random_(w), 0.01),
    (lambda w: init.normal_(w, 0.0, 0.3), 0.3),
    (lambda w: init.xavier_uniform_(w), math.sqrt(2 / (FAN_IN + FAN_OUT))),
    (lambda w: init.xavier_normal_(w, gain=2.0), 2 * math.sqrt(2 / (FAN_IN + FAN_OUT))),
    (lambda w: init.kaiming_uniform_(w, nonlinearity="relu"), math.sqrt(2 / FAN_IN)),
    (lambda w: init.kaiming_normal_(w, nonlinearity="relu"), math.sqrt(2 / FAN_IN)),
    (lambda w: init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"),
     math.sqrt(2 / FAN_OUT)),
    (lambda w: init.kaiming_normal_(w, a=0.2), math.sqrt(2 / (1.04 * FAN_IN))),
    (lambda w: init.kaiming_uniform_(w, a=math.sqrt(5)), 1 / math.sqrt(3 * FAN_IN)),
])
def test_standard_deviation(fill, expected_std):
    w = fill(weight())
    assert w.dtype == np.float32
    # 295k samples: the sample std is within 1% of the true one with overwhelming odds
    assert w.data.std() == pytest.approx(expected_std, rel=0.01)
    assert abs(w.data.mean()) < 0.05 * expected_std


def test_uniform_schemes_respect_their_bound():
    w = init.xavier_uniform_(weight())
    bound = math.sqrt(6 / (FAN_IN + FAN_OUT))
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.99 * bound


def test_constant_fills():
    w = weight()
    assert (init.ones_(w).data == 1).all()
    assert (init.zeros_(w).data == 0).all()
    assert (init.constant_(w, 0.25).data == 0.25).all()


def test_reproducible_under_manual_seed_and_independent_of_numpy_global_state():
    vg.manual_seed(11)
    first = init.kaiming_normal_(weight()).data.copy()
    vg.manual_seed(11)
    np.random.seed(123)
    np.testing.assert_array_equal(init.kaiming_normal_(weight()).data, first)


@pytest.mark.parametrize(("nonlinearity", "param"), [
    ("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None),
    ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None), ("conv2d", None)])
def test_gain_matches_torch(nonlinearity, param):
    torch = torch_or_skip()
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param))


def test_errors():
    with pytest.raises(ValueError, match="unknown nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match=r"at least 2 axes, got shape \(5,\)"):
        init.xavier_uniform_(nn.Parameter(np.zeros(5, np.float32)))
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_normal_(weight(), mode="fan_avg")
