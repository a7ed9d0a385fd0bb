"""Losses and penalties: gradient checks, PyTorch parity, the course's naive SVM loss as the
hinge's oracle, stability on huge logits, engine-level sanity checks (initial softmax loss
log(10), overfitting 50 examples) and label errors."""

import numpy as np
import pytest
from helpers import assert_gradcheck, assert_matches_torch, torch_or_skip

import visiongrad as vg
from visiongrad import functional as F
from visiongrad.ops import loss as loss_ops
from visiongrad.ops.loss import cross_entropy_reference

shape_rng = np.random.default_rng(6)  # seeded random shapes for parametrize
REDUCTIONS = ["mean", "sum", "none"]
# (scores shape, labels shape): batch of 1, odd sizes, and the spatial (N, C, H, W) form
CLASSIFICATION_SHAPES = [((1, 4), (1,)), ((7, 3), (7,)), ((5, 10), (5,)),
                         ((2, 4, 3, 2), (2, 3, 2))]


def torch_f():
    return torch_or_skip().nn.functional


@pytest.mark.parametrize("scores_shape, labels_shape", CLASSIFICATION_SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradcheck(scores_shape, labels_shape, reduction):
    assert_gradcheck(lambda s, y: F.cross_entropy(s, y, reduction=reduction),
                     classification_inputs(scores_shape, labels_shape))


def classification_inputs(scores_shape, labels_shape):
    rng = np.random.default_rng(1)
    return [rng.standard_normal(scores_shape), rng.integers(0, scores_shape[1], labels_shape)]


@pytest.mark.parametrize("scores_shape, labels_shape", CLASSIFICATION_SHAPES, ids=str)
def test_cross_entropy_reference_is_the_formula(scores_shape, labels_shape):
    """``cross_entropy_reference`` against -log softmax and softmax - onehot computed one
    example (and position) at a time."""
    scores, labels = classification_inputs(scores_shape, labels_shape)
    losses, grad = cross_entropy_reference(scores, labels)
    moved = np.moveaxis(scores, 1, -1).reshape(-1, scores_shape[1])
    for k, (row, label) in enumerate(zip(moved, labels.reshape(-1), strict=True)):
        probabilities = np.exp(row) / np.exp(row).sum()
        assert losses.reshape(-1)[k] == pytest.approx(-np.log(probabilities[label]), rel=1e-12)
        expected = probabilities - np.eye(scores_shape[1])[label]
        np.testing.assert_allclose(np.moveaxis(grad, 1, -1).reshape(moved.shape)[k], expected,
                                   rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("scores_shape, labels_shape", CLASSIFICATION_SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_matches_torch(scores_shape, labels_shape, reduction):
    logits, labels = classification_inputs(scores_shape, labels_shape)
    for dtype in (np.float32, np.float64):
        assert_matches_torch(lambda s, y: F.cross_entropy(s, y, reduction=reduction),
                             lambda s, y: torch_f().cross_entropy(s, y, reduction=reduction),
                             [logits, labels], dtype=dtype)


def test_cross_entropy_on_logits_of_1e4_is_finite_and_correct():
    logits = vg.tensor(np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4]]), requires_grad=True)
    losses = F.cross_entropy(logits, np.array([1, 2]), reduction="none")
    np.testing.assert_allclose(losses.data, [1e4, np.log(2)], rtol=1e-12)
    losses.sum().backward()
    np.testing.assert_allclose(logits.grad, [[1, -1, 0], [0, 0.5, -0.5]], atol=1e-12)


def test_cross_entropy_on_logits_of_1e4_matches_torch():
    logits = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4]])
    for dtype in (np.float32, np.float64):
        assert_matches_torch(F.cross_entropy, torch_f().cross_entropy,
                             [logits, np.array([1, 2])], dtype=dtype)


def test_softmax_classifier_starts_at_log_of_the_class_count():
    """With small random weights every class is about equally likely: loss ~ -log(1/10)."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((500, 3072))
    w = 1e-4 * rng.standard_normal((3072, 10))
    loss = F.cross_entropy(F.affine(x, w), rng.integers(0, 10, 500)).item()
    assert abs(loss - np.log(10)) < 0.02


def hinge_naive(scores, labels, margin, squared):
    """The course's svm_loss_naive on scores: loops over examples and classes."""
    loss, grad = 0.0, np.zeros_like(scores)
    for i, y in enumerate(labels):
        for j in range(scores.shape[1]):
            violation = scores[i, j] - scores[i, y] + margin
            if j == y or violation <= 0:
                continue
            loss += violation**2 if squared else violation
            slope = 2 * violation if squared else 1.0
            grad[i, j] += slope
            grad[i, y] -= slope
    n = len(labels)
    return loss / n, grad / n


def hinge_scores(rng, n, classes, margin):
    """Scores whose margins s_j - s_y + margin all lie at least 0.1 from the hinge's kink:
    integer levels, the wrong classes lifted by 0.3, then jitter of at most 0.1."""
    labels = rng.integers(0, classes, n)
    scores = rng.integers(-3, 4, size=(n, classes)) + 0.3 - margin
    scores[np.arange(n), labels] -= 0.3 - margin
    return scores + rng.uniform(-0.05, 0.05, size=(n, classes)), labels


HINGE_CASES = [(1, 3), (6, 5), (9, 10)]


@pytest.mark.parametrize("n, classes", HINGE_CASES)
@pytest.mark.parametrize("squared", [False, True], ids=["hinge", "squared"])
@pytest.mark.parametrize("margin", [1.0, 0.5])
def test_multiclass_hinge_against_the_naive_loss_and_gradcheck(n, classes, squared, margin):
    rng = np.random.default_rng(4)
    scores, labels = hinge_scores(rng, n, classes, margin)
    hinge = F.multiclass_hinge
    expected_loss, expected_grad = hinge_naive(scores, labels, margin, squared)
    s = vg.tensor(scores, requires_grad=True)
    loss = hinge(s, labels, margin=margin, squared=squared)
    loss.backward()
    np.testing.assert_allclose(loss.item(), expected_loss, rtol=1e-12)
    np.testing.assert_allclose(s.grad, expected_grad, rtol=1e-12, atol=1e-15)
    for reduction in REDUCTIONS:
        assert_gradcheck(lambda a, y, reduction=reduction: hinge(a, y, margin, squared,
                                                                 reduction), [scores, labels])


@pytest.mark.parametrize("n, classes", HINGE_CASES)
@pytest.mark.parametrize("squared", [False, True], ids=["hinge", "squared"])
@pytest.mark.parametrize("margin", [1.0, 0.5])
def test_multiclass_hinge_matches_torch(n, classes, squared, margin):
    scores, labels = hinge_scores(np.random.default_rng(4), n, classes, margin)
    hinge = F.multiclass_hinge
    for reduction in REDUCTIONS:
        def ours(a, y, reduction=reduction):
            return hinge(a, y, margin, squared, reduction)

        def torch_times_classes(a, y, reduction=reduction):
            # NOTE: torch's multi_margin_loss divides each example's loss by the class count
            return classes * torch_f().multi_margin_loss(a, y, p=2 if squared else 1,
                                                         margin=margin, reduction=reduction)

        for dtype in (np.float32, np.float64):
            assert_matches_torch(ours, torch_times_classes, [scores, labels], dtype=dtype)


def away_from(rng, x):
    """A target at least 0.1 from each x (no kink of |x - t| near the check)."""
    step = rng.standard_normal(x.shape)
    return x + np.sign(step) * (np.abs(step) + 0.1) + (step == 0) * 0.1


def away_from_sigmoid(rng, x):
    """Soft targets at least 0.1 from sigmoid(x), so that dl/dx = sigmoid(x) - t is not ~0."""
    return np.where(x < 0, rng.uniform(0.6, 1, x.shape), rng.uniform(0, 0.4, x.shape))


# (name, visiongrad loss, torch loss, target maker). The inputs x are at least 0.1 from 0 and
# the targets keep every gradient component (dl/dx and dl/dt) away from 0: a relative error
# is only meaningful where the true gradient is not itself at the level of round-off.
ELEMENTWISE = [
    ("mse_loss", F.mse_loss, lambda T: T.mse_loss, away_from),
    ("l1_loss", F.l1_loss, lambda T: T.l1_loss, away_from),
    ("binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits,
     lambda T: T.binary_cross_entropy_with_logits, away_from_sigmoid),
]


@pytest.mark.parametrize("shape", [(1,), (4, 3), (2, 3, 1, 5)], ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, vg_fn, torch_fn, make_target", ELEMENTWISE,
                         ids=[c[0] for c in ELEMENTWISE])
def test_elementwise_losses_gradcheck(name, vg_fn, torch_fn, make_target, shape, reduction):
    assert_gradcheck(lambda a, t: vg_fn(a, t, reduction=reduction),
                     elementwise_inputs(make_target, shape))


def elementwise_inputs(make_target, shape):
    rng = np.random.default_rng(5)
    x = away_from(rng, np.zeros(shape))
    return [x, make_target(rng, x)]


@pytest.mark.parametrize("shape", [(1,), (4, 3), (2, 3, 1, 5)], ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, vg_fn, torch_fn, make_target", ELEMENTWISE,
                         ids=[c[0] for c in ELEMENTWISE])
def test_elementwise_losses_match_torch(name, vg_fn, torch_fn, make_target, shape, reduction):
    inputs = elementwise_inputs(make_target, shape)
    for dtype in (np.float32, np.float64):
        assert_matches_torch(lambda a, t: vg_fn(a, t, reduction=reduction),
                             lambda a, t: torch_fn(torch_f())(a, t, reduction=reduction),
                             inputs, dtype=dtype)


def test_bce_with_logits_is_stable_for_huge_logits():
    x = np.array([1e4, -1e4, 1e4, -1e4, 0.0])
    t = np.array([1.0, 0.0, 0.0, 1.0, 0.5])
    with np.errstate(over="raise"):
        losses = F.binary_cross_entropy_with_logits(x, t, reduction="none").data
    np.testing.assert_allclose(losses, [0, 0, 1e4, 1e4, np.log(2)], rtol=1e-12, atol=1e-12)


def test_bce_with_logits_of_huge_logits_matches_torch():
    x = np.array([1e4, -1e4, 1e4, -1e4, 0.0])
    t = np.array([1.0, 0.0, 0.0, 1.0, 0.5])
    for dtype in (np.float32, np.float64):
        assert_matches_torch(F.binary_cross_entropy_with_logits,
                             torch_f().binary_cross_entropy_with_logits, [x, t], dtype=dtype)


PENALTIES = [
    ("l1", lambda w: F.l1_penalty(w, 0.3), lambda w: 0.3 * abs(w).sum()),
    ("l2", lambda w: F.l2_penalty(w, 0.3), lambda w: 0.3 * (w**2).sum()),
    ("elastic net", lambda w: F.elastic_net_penalty(w, 0.3, l1_ratio=0.25),
     lambda w: 0.3 * (0.25 * abs(w).sum() + 0.75 * (w**2).sum())),
]


@pytest.mark.parametrize("shape", [(1,), (4, 5), (3, 2, 3, 3)], ids=str)
@pytest.mark.parametrize("name, penalty, formula", PENALTIES, ids=[c[0] for c in PENALTIES])
def test_penalties_formula_and_gradcheck(name, penalty, formula, shape):
    w = away_from(np.random.default_rng(7), np.zeros(shape))  # no kink of |w| near the check
    np.testing.assert_allclose(penalty(w).item(), formula(w), rtol=1e-12)
    assert_gradcheck(penalty, [w])
    assert penalty(w.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("shape", [(1,), (4, 5), (3, 2, 3, 3)], ids=str)
@pytest.mark.parametrize("name, penalty, formula", PENALTIES, ids=[c[0] for c in PENALTIES])
def test_penalties_match_the_formula_in_torch(name, penalty, formula, shape):
    w = away_from(np.random.default_rng(7), np.zeros(shape))
    for dtype in (np.float32, np.float64):
        assert_matches_torch(penalty, formula, [w], dtype=dtype)


def test_l2_penalty_gradient_is_twice_strength_times_w():
    rng = np.random.default_rng(8)
    w = vg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    F.l2_penalty(w, 0.05).backward()
    np.testing.assert_allclose(w.grad, 2 * 0.05 * w.data, rtol=1e-15)


def test_small_network_overfits_fifty_examples():
    """linear -> relu -> linear -> cross_entropy with plain SGD, engine only: 100% train."""
    generator = np.random.default_rng(0)
    x = generator.standard_normal((50, 20))
    y = generator.integers(0, 10, 50)
    params = [generator.standard_normal((64, 20)) * np.sqrt(2 / 20), np.zeros(64),
              generator.standard_normal((10, 64)) * np.sqrt(2 / 64), np.zeros(10)]
    w1, b1, w2, b2 = params = [vg.tensor(p, requires_grad=True) for p in params]
    for _ in range(200):
        scores = F.linear(F.relu(F.linear(x, w1, b1)), w2, b2)
        loss = F.cross_entropy(scores, y)
        loss.backward()
        for p in params:
            p.data -= 0.5 * p.grad
            p.grad = None
    accuracy = np.mean(scores.data.argmax(axis=1) == y)
    assert accuracy == 1.0, f"train accuracy {accuracy}, loss {loss.item():.3g}"
    assert loss.item() < 0.05


@pytest.mark.parametrize("loss", [F.cross_entropy, F.multiclass_hinge])
def test_label_errors(loss):
    scores = np.zeros((4, 3))
    if loss is F.cross_entropy:  # float targets are probabilities, as in PyTorch
        with pytest.raises(ValueError, match=r"class indices must be integers, and "
                                             r"probabilities must have the input's shape"):
            loss(scores, np.array([0.0, 1.0, 2.0, 1.0]))
    else:
        with pytest.raises(TypeError, match="labels must be integers, got dtype float64"):
            loss(scores, np.array([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match=r"label 3 is out of range for 3 classes"):
        loss(scores, np.array([0, 3, 1, 2]))
    with pytest.raises(ValueError, match=r"label -1 is out of range for 3 classes"):
        loss(scores, np.array([0, -1, 1, 2]))
    with pytest.raises(ValueError, match=r"scores of shape \(4, 3\) and labels of shape \(5,\)"):
        loss(scores, np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        loss(scores, np.zeros(4, dtype=int), reduction="avg")


def test_argument_errors():
    with pytest.raises(ValueError, match=r"input of shape \(3,\) and target of shape \(4,\)"):
        F.mse_loss(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="strength must be non-negative, got -1"):
        F.l2_penalty(np.ones(3), -1)
    with pytest.raises(ValueError, match="l1_ratio must be between 0 and 1, got 2"):
        F.elastic_net_penalty(np.ones(3), 1.0, l1_ratio=2)


def test_cross_entropy_of_unbatched_scores_is_one_sample_like_torch():
    torch = torch_or_skip()
    rng = np.random.default_rng(3)
    scores = rng.standard_normal(5)
    probabilities = rng.dirichlet(np.ones(5))
    for target, torch_target in ((probabilities, torch.tensor(probabilities)),
                                 (np.array(2), torch.tensor(2))):
        for reduction in ("mean", "sum", "none"):
            s = vg.tensor(scores, requires_grad=True)
            ts = torch.tensor(scores, requires_grad=True)
            got = F.cross_entropy(s, target, reduction=reduction)
            want = torch.nn.functional.cross_entropy(ts, torch_target, reduction=reduction)
            assert got.shape == tuple(want.shape)
            np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-12)
            got.backward()
            want.backward()
            np.testing.assert_allclose(s.grad, ts.grad.numpy(), rtol=1e-12)


# ----- nll_loss and cross_entropy options (weights, ignore_index, smoothing) ----------------------


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
