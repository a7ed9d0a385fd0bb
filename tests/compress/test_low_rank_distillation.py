"""Low-rank factorisation (truncated SVD of Linear and Conv2d layers, rank by energy) and the
distillation loss (gradient check, PyTorch parity, the T^2 scaling)."""

import numpy as np
import pytest

import visiongrad as vg
from tests.helpers import assert_gradcheck, assert_matches_torch
from visiongrad import nn
from visiongrad.compress import (
    DistillationLoss,
    distillation_loss,
    factorize,
    low_rank_layer,
    rank_for_energy,
)


def test_rank_for_energy_by_hand():
    values = np.array([3.0, 2.0, 1.0])  # squared: 9, 4, 1 of 14
    assert rank_for_energy(values, 9 / 14) == 1
    assert rank_for_energy(values, 0.7) == 2
    assert rank_for_energy(values, 1.0) == 3
    with pytest.raises(ValueError, match="energy must be in"):
        rank_for_energy(values, 0.0)


def low_rank_matrix(rng, out, inp, rank):
    return (rng.standard_normal((out, rank)) @ rng.standard_normal((rank, inp))).astype(
        np.float32)


def test_linear_of_low_rank_is_factorised_exactly_into_two_thinner_layers():
    rng = np.random.default_rng(0)
    layer = nn.Linear(20, 12)
    layer.weight.data[...] = low_rank_matrix(rng, 12, 20, 3)
    pair, rank = low_rank_layer(layer, 0.9999)
    assert rank == 3
    assert [p.shape for p in pair.parameters()] == [(3, 20), (12, 3), (12,)]
    x = vg.tensor(rng.standard_normal((5, 20)).astype(np.float32))
    np.testing.assert_allclose(pair(x).data, layer(x).data, atol=1e-4)


def test_conv_is_factorised_into_a_thin_conv_and_a_1x1_conv():
    rng = np.random.default_rng(1)
    layer = nn.Conv2d(3, 8, 3, stride=2, padding=1)
    layer.weight.data[...] = low_rank_matrix(rng, 8, 27, 2).reshape(8, 3, 3, 3)
    pair, rank = low_rank_layer(layer, 0.9999)
    assert rank == 2
    assert pair[0].weight.shape == (2, 3, 3, 3) and pair[1].weight.shape == (8, 2, 1, 1)
    x = vg.tensor(rng.standard_normal((2, 3, 9, 9)).astype(np.float32))
    np.testing.assert_allclose(pair(x).data, layer(x).data, atol=1e-4)


def test_truncation_error_is_the_dropped_singular_values():
    vg.manual_seed(2)
    layer = nn.Linear(30, 20)
    pair, rank = low_rank_layer(layer, 0.5)
    values = np.linalg.svd(layer.weight.data.astype(np.float64), compute_uv=False)
    product = pair[1].weight.data.astype(np.float64) @ pair[0].weight.data
    error = np.linalg.norm(product - layer.weight.data)
    np.testing.assert_allclose(error, np.sqrt(np.sum(values[rank:] ** 2)), rtol=1e-4)
    assert np.sum(values[:rank] ** 2) >= 0.5 * np.sum(values ** 2) > np.sum(
        values[:rank - 1] ** 2)


def test_factorize_replaces_only_layers_it_makes_smaller():
    vg.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    model[1].weight.data[...] = low_rank_matrix(np.random.default_rng(3), 64, 64, 4)
    ranks = factorize(model, 0.999)
    assert ranks == {"1": 4}
    assert isinstance(model[1], nn.Sequential) and isinstance(model[3], nn.Linear)


def test_distillation_gradcheck():
    rng = np.random.default_rng(0)
    teacher, labels = rng.standard_normal((6, 5)), rng.integers(0, 5, 6)
    assert_gradcheck(lambda s: distillation_loss(s, teacher, labels, 3.0, 0.6),
                     [rng.standard_normal((6, 5))])


@pytest.mark.parametrize("temperature, alpha", [(1.0, 0.5), (4.0, 0.9), (2.0, 1.0)])
def test_distillation_matches_pytorch(temperature, alpha):
    rng = np.random.default_rng(1)
    teacher, labels = rng.standard_normal((7, 4)), rng.integers(0, 4, 7)

    def reference(student):
        import torch
        import torch.nn.functional as TF
        soft = TF.kl_div(TF.log_softmax(student / temperature, 1),
                         TF.softmax(torch.tensor(teacher, dtype=student.dtype) / temperature,
                                    1), reduction="batchmean")
        return (alpha * temperature ** 2 * soft
                + (1 - alpha) * TF.cross_entropy(student, torch.tensor(labels)))

    assert_matches_torch(lambda s: DistillationLoss(temperature, alpha)(s, teacher, labels),
                         reference, [rng.standard_normal((7, 4))], dtype=np.float64)


def test_soft_gradient_is_t_times_the_difference_of_softened_distributions():
    """d/ds of alpha T^2 KL = alpha T (q - p) / N: the docstring's formula."""
    rng = np.random.default_rng(2)
    s, t = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    student = vg.tensor(s, requires_grad=True)
    distillation_loss(student, t, np.zeros(3, dtype=int), 5.0, 1.0).backward()

    def softmax(z):
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)
    np.testing.assert_allclose(student.grad, 5.0 * (softmax(s / 5) - softmax(t / 5)) / 3,
                               atol=1e-12)


def test_distillation_loss_by_hand_catches_a_missing_t_squared_or_swapped_arguments():
    """T = 2, teacher logits (2 ln 3, 0): p_T = (3/4, 1/4); student (0, 0): q = (1/2, 1/2).
    KL(p || q) = 3/4 ln(3/2) + 1/4 ln(1/2) = 0.130812..., times T^2 = 4; the reversed
    KL(q || p) = 1/2 ln(2/3) + 1/2 ln 2 = 0.143841... and no T^2 would give a quarter."""
    teacher, student = np.array([[2 * np.log(3.0), 0.0]]), vg.zeros(1, 2, dtype=np.float64)
    expected = 4 * (0.75 * np.log(1.5) + 0.25 * np.log(0.5))
    soft = distillation_loss(student, teacher, np.array([1]), 2.0, 1.0)
    np.testing.assert_allclose(float(soft.data), expected, rtol=1e-12)
    assert abs(expected - 4 * (0.5 * np.log(2 / 3) + 0.5 * np.log(2.0))) > 0.05
    both = DistillationLoss(T=2.0, alpha=0.25)(student, teacher, np.array([1]))
    np.testing.assert_allclose(float(both.data), 0.25 * expected + 0.75 * np.log(2.0),
                               rtol=1e-12)


def test_distillation_loss_refuses_bad_settings():
    with pytest.raises(ValueError, match="T must be positive"):
        DistillationLoss(0.0)
    with pytest.raises(ValueError, match="alpha must be in"):
        DistillationLoss(2.0, 1.5)
