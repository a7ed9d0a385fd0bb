"""Issue 15's losses: nll_loss and cross_entropy with class weights, ignore_index, label
smoothing and probability targets; binary_cross_entropy, pos_weight, smooth L1, Huber and
KL divergence. Float64 gradient checks without PyTorch, the formulas by hand, and PyTorch
parity (values and gradients) on seeded random configurations for every reduction."""

import numpy as np
import pytest
from helpers import assert_gradcheck, assert_matches_torch, torch_or_skip

import visiongrad as vg
from visiongrad import functional as F
from visiongrad.ops import loss as loss_ops

REDUCTIONS = ["mean", "sum", "none"]
STEP = 1e-5  # the course's step: near the cube root of float64's epsilon


def class_problem(seed: int, spatial: bool = False) -> dict:
    """Scores (N, C[, d]), labels with some at ignore_index (or at a real class chosen to be
    ignored), class weights, probability targets, smoothing."""
    r = np.random.default_rng(seed)
    n, c = int(r.integers(2, 6)), int(r.integers(2, 5))
    shape = (n, c, 3) if spatial else (n, c)
    labels = r.integers(0, c, (n, 3) if spatial else n)
    ignore = -100 if seed % 2 else int(r.integers(0, c))
    labels.flat[0] = ignore
    probs = r.random(shape)
    return {"x": r.standard_normal(shape) * 2, "labels": labels, "ignore": ignore,
            "weight": r.random(c) + 0.5, "probs": probs / probs.sum(axis=1, keepdims=True),
            "smoothing": float(r.choice([0.0, 0.1, 0.3]))}


def ce(p, reduction, soft=False, weighted=True):
    weight = p["weight"] if weighted else None
    return lambda x, *t: F.cross_entropy(x, t[0] if soft else p["labels"], weight,
                                         ignore_index=-100 if soft else p["ignore"],
                                         reduction=reduction,
                                         label_smoothing=p["smoothing"])


def torch_ce(p, reduction, soft=False, weighted=True):
    torch = torch_or_skip()
    weight = torch.tensor(p["weight"]) if weighted else None
    return lambda x, *t: torch.nn.functional.cross_entropy(
        x, t[0] if soft else torch.tensor(p["labels"]), weight.to(x.dtype) if weighted else None,
        ignore_index=-100 if soft else p["ignore"], reduction=reduction,
        label_smoothing=p["smoothing"])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_options_gradcheck(seed, reduction):
    p = class_problem(seed, spatial=seed % 2 == 0)
    assert_gradcheck(ce(p, reduction), [p["x"]], h=STEP)
    assert_gradcheck(ce(p, reduction, soft=True), [p["x"], p["probs"]], h=STEP)
    assert_gradcheck(lambda x: F.nll_loss(x, p["labels"], p["weight"], ignore_index=p["ignore"],
                                          reduction=reduction), [p["x"]], h=STEP)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_options_match_torch(seed, reduction):
    torch = torch_or_skip()
    p = class_problem(100 + seed, spatial=seed % 3 == 0)
    for dtype in (np.float32, np.float64):
        for weighted in (True, False):
            assert_matches_torch(ce(p, reduction, weighted=weighted),
                                 torch_ce(p, reduction, weighted=weighted), [p["x"]],
                                 dtype=dtype)
            assert_matches_torch(ce(p, reduction, soft=True, weighted=weighted),
                                 torch_ce(p, reduction, soft=True, weighted=weighted),
                                 [p["x"], p["probs"]], dtype=dtype)
        assert_matches_torch(
            lambda x: F.nll_loss(x, p["labels"], p["weight"], ignore_index=p["ignore"],
                                 reduction=reduction),
            lambda x: torch.nn.functional.nll_loss(x, torch.tensor(p["labels"]),
                                                   torch.tensor(p["weight"]).to(x.dtype),
                                                   ignore_index=p["ignore"],
                                                   reduction=reduction), [p["x"]], dtype=dtype)


def test_weighted_mean_divides_by_the_weights_of_targets_not_ignored():
    """L = sum_i w_{y_i} (-log p_{i, y_i}) / sum_{i not ignored} w_{y_i}, by hand."""
    x = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]]))
    labels, weight = np.array([0, 1, -100]), np.array([2.0, 0.5, 1.0])
    expected = (2.0 * -np.log(0.5) + 0.5 * -np.log(0.8)) / (2.0 + 0.5)
    assert F.nll_loss(x, labels, weight).item() == pytest.approx(expected, rel=1e-12)
    assert F.cross_entropy(x, labels, weight).item() == pytest.approx(expected, rel=1e-12)
    assert np.isnan(F.nll_loss(x, np.full(3, -100)).item())  # nothing left: 0 / 0, as PyTorch


def test_label_smoothing_by_hand():
    """(1 - e) (-log p_y) + e / C sum_c (-log p_c), averaged over the examples."""
    x = np.random.default_rng(1).standard_normal((4, 5))
    labels = np.array([0, 4, 2, 2])
    log_p = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    expected = np.mean(0.8 * -log_p[np.arange(4), labels] + 0.2 / 5 * -log_p.sum(axis=1))
    assert F.cross_entropy(x, labels, label_smoothing=0.2).item() == pytest.approx(expected,
                                                                                 rel=1e-12)


def test_plain_cross_entropy_keeps_the_compiled_path(monkeypatch):
    """Float32 (N, C) scores, int64 labels and no option still go through CrossEntropy (and
    accel.cross_entropy); any option takes NLLLoss."""
    calls = []
    real = loss_ops.accel.cross_entropy
    monkeypatch.setattr(loss_ops.accel, "cross_entropy", lambda *a: calls.append(1) or real(*a))
    x = vg.tensor(np.random.default_rng(2).standard_normal((6, 4)).astype(np.float32),
                  requires_grad=True)
    labels = np.array([0, 1, 2, 3, 0, 1])
    assert type(F.cross_entropy(x, labels)._node).__name__ == "CrossEntropy"
    assert calls == [1]
    assert type(F.cross_entropy(x, labels, label_smoothing=0.1)._node).__name__ == "NLLLoss"
    assert type(F.cross_entropy(x, np.array([0, 1, 2, 3, -100, 1]))._node).__name__ == "NLLLoss"


def test_class_loss_errors():
    x = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"weight of shape \(2,\) does not match the 3 classes"):
        F.cross_entropy(x, np.zeros(4, dtype=int), np.ones(2))
    with pytest.raises(ValueError, match="label_smoothing must be between 0 and 1, got 1.5"):
        F.cross_entropy(x, np.zeros(4, dtype=int), label_smoothing=1.5)
    with pytest.raises(ValueError, match="ignore_index is not supported for probability"):
        F.cross_entropy(x, np.ones((4, 3)) / 3, ignore_index=1)
    with pytest.raises(ValueError, match="nll_loss: label 3 is out of range for 3 classes"):
        F.nll_loss(x, np.array([0, 3, -100, 1]))


# ----- elementwise losses ------------------------------------------------------------------


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
