"""The elementwise losses (ops/loss_elementwise.py): binary_cross_entropy, smooth L1,
Huber and KL divergence (and binary_cross_entropy_with_logits' pos_weight). Float64 gradient
checks without PyTorch, the formulas by hand, and PyTorch parity (values and gradients) on
seeded random configurations for every reduction."""

import numpy as np
import pytest
from helpers import assert_gradcheck, assert_matches_torch, torch_or_skip

from visiongrad import functional as F

REDUCTIONS = ["mean", "sum", "none"]
STEP = 1e-5  # the course's step: near the cube root of float64's epsilon


def binary_problem(seed: int) -> dict:
    r = np.random.default_rng(seed)
    shape = (int(r.integers(1, 5)), int(r.integers(1, 5)))
    return {"logits": r.standard_normal(shape) * 3, "probs": r.uniform(0.05, 0.95, shape),
            "targets": r.random(shape), "weight": r.random(shape) + 0.5,
            "pos_weight": r.random(shape[1:]) + 0.5, "a": r.standard_normal(shape),
            "b": r.standard_normal(shape), "beta": float(r.choice([0.0, 0.5, 1.0, 2.0])),
            "log_p": np.log(r.dirichlet(np.ones(shape[1]), shape[0])),
            "q": r.dirichlet(np.ones(shape[1]), shape[0])}


def elementwise_cases(p, reduction, torch=None):
    """(name, ours, theirs, inputs) for each elementwise loss; theirs None without torch."""
    tf = torch.nn.functional if torch else None
    delta = p["beta"] or 1.0
    cases = [
        ("bce", lambda x, t: F.binary_cross_entropy(x, t, p["weight"], reduction=reduction),
         tf and (lambda x, t: tf.binary_cross_entropy(x, t, torch.tensor(p["weight"]).to(
             x.dtype), reduction=reduction)), [p["probs"], p["targets"]]),
        ("bce_logits", lambda x, t: F.binary_cross_entropy_with_logits(
            x, t, p["weight"], reduction=reduction, pos_weight=p["pos_weight"]),
         tf and (lambda x, t: tf.binary_cross_entropy_with_logits(
             x, t, torch.tensor(p["weight"]).to(x.dtype), reduction=reduction,
             pos_weight=torch.tensor(p["pos_weight"]).to(x.dtype))), [p["logits"], p["targets"]]),
        ("smooth_l1", lambda x, t: F.smooth_l1_loss(x, t, reduction=reduction, beta=p["beta"]),
         tf and (lambda x, t: tf.smooth_l1_loss(x, t, reduction=reduction, beta=p["beta"])),
         [p["a"], p["b"]]),
        ("huber", lambda x, t: F.huber_loss(x, t, reduction=reduction, delta=delta),
         tf and (lambda x, t: tf.huber_loss(x, t, reduction=reduction, delta=delta)),
         [p["a"], p["b"]]),
        ("kl", lambda x, t: F.kl_div(x, t, reduction=reduction),
         tf and (lambda x, t: tf.kl_div(x, t, reduction=reduction)), [p["log_p"], p["q"]]),
        ("kl_log", lambda x, t: F.kl_div(x, t, reduction=reduction, log_target=True),
         tf and (lambda x, t: tf.kl_div(x, t, reduction=reduction, log_target=True)),
         [p["log_p"], np.log(p["q"])]),
    ]
    return cases


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_elementwise_losses_gradcheck(seed, reduction):
    p = binary_problem(seed)
    for _, ours, _, inputs in elementwise_cases(p, reduction):
        assert_gradcheck(ours, inputs, h=STEP)


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss")  # torch's kl
@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
def test_elementwise_losses_match_torch(seed, reduction):
    torch = torch_or_skip()
    p = binary_problem(200 + seed)
    for name, ours, theirs, inputs in elementwise_cases(p, reduction, torch):
        if reduction == "batchmean" and not name.startswith("kl"):
            continue
        for dtype in (np.float32, np.float64):
            assert_matches_torch(ours, theirs, inputs, dtype=dtype)


def test_elementwise_formulas_by_hand():
    x, t = np.array([0.2, 0.9]), np.array([1.0, 0.0])
    assert F.binary_cross_entropy(x, t, reduction="sum").item() == pytest.approx(
        -np.log(0.2) - np.log(0.1))
    assert F.binary_cross_entropy(np.array([0.0]), np.array([1.0])).item() == 100  # log floor
    z = np.array([0.5, -2.0])
    expected = 3 * 1.0 * np.log1p(np.exp(-0.5)) + np.log1p(np.exp(-2.0))  # p t sp(-x) + ...
    assert F.binary_cross_entropy_with_logits(z, t, pos_weight=np.array(3.0),
                                              reduction="sum").item() == pytest.approx(expected)
    d = np.array([0.3, -2.0])
    np.testing.assert_allclose(F.smooth_l1_loss(d, np.zeros(2), reduction="none", beta=0.5).data,
                               [0.3 ** 2 / 1.0, 2.0 - 0.25])
    np.testing.assert_allclose(F.huber_loss(d, np.zeros(2), reduction="none", delta=0.5).data,
                               [0.3 ** 2 / 2, 0.5 * (2.0 - 0.25)])
    q, log_p = np.array([[0.5, 0.5], [1.0, 0.0]]), np.log(np.array([[0.25, 0.75], [0.5, 0.5]]))
    kl = 0.5 * np.log(0.5 / 0.25) + 0.5 * np.log(0.5 / 0.75) + np.log(1 / 0.5)
    assert F.kl_div(log_p, q, reduction="batchmean").item() == pytest.approx(kl / 2)


def test_elementwise_loss_errors():
    with pytest.raises(ValueError, match=r"binary_cross_entropy: input must hold probabilities"):
        F.binary_cross_entropy(np.array([1.5]), np.array([1.0]))
    with pytest.raises(ValueError, match="smooth_l1_loss: beta must be non-negative"):
        F.smooth_l1_loss(np.zeros(2), np.zeros(2), beta=-1)
    with pytest.raises(ValueError, match="huber_loss: delta must be positive"):
        F.huber_loss(np.zeros(2), np.zeros(2), delta=0)
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got "
                                         "'batchmean'"):
        F.mse_loss(np.zeros(2), np.zeros(2), reduction="batchmean")
