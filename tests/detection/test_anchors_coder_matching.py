"""detection/anchors.py, coder.py, matching.py, losses.py against torchvision's pure-Python
AnchorGenerator, BoxCoder and Matcher, the formulas, and by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import assert_gradcheck

import visiongrad as vg
from visiongrad.detection import (
    AnchorGenerator,
    BalancedPositiveNegativeSampler,
    BoxCoder,
    Matcher,
    box_iou,
    cell_anchors,
)
from visiongrad.detection.losses import box_loss


def test_cell_anchors_by_hand():
    # size 4, ratio 1: a 4x4 box around 0; ratio 4 (tall): w = 2, h = 8
    np.testing.assert_array_equal(cell_anchors([4], [1.0, 4.0]),
                                  [[-2, -2, 2, 2], [-1, -4, 1, 4]])


def test_anchor_generator_matches_torchvision(tv):
    torch = tv.torch
    sizes, ratios = ((16, 32), (24, 48, 64)), ((0.5, 1.0, 2.0), (1.0, 3.0))
    grids, image = [(6, 5), (3, 2)], (48, 40)
    ours = AnchorGenerator(sizes, ratios)(image, grids)
    theirs = tv.anchors.AnchorGenerator(sizes, ratios)
    images = tv.anchors.ImageList(torch.zeros(1, 3, *image), [image])
    reference = theirs(images, [torch.zeros(1, 1, *g) for g in grids])[0].numpy()
    np.testing.assert_array_equal(ours, reference)
    assert AnchorGenerator(sizes, ratios).num_anchors_per_location() == \
        theirs.num_anchors_per_location()


@pytest.mark.parametrize("weights", [(1, 1, 1, 1), (10, 10, 5, 5)])
def test_box_coder_matches_torchvision_and_round_trips(tv, weights):
    torch = tv.torch
    rng = np.random.default_rng(0)
    corner = rng.uniform(0, 50, (30, 2))
    anchors = np.c_[corner, corner + rng.uniform(1, 20, (30, 2))]
    gt = anchors + rng.uniform(-3, 3, (30, 4))
    gt[:, 2:] = np.maximum(gt[:, 2:], gt[:, :2] + 0.5)
    coder, theirs = BoxCoder(weights), tv.utils.BoxCoder(weights)
    deltas = coder.encode_single(gt, anchors)
    np.testing.assert_allclose(
        deltas, theirs.encode_single(torch.tensor(gt), torch.tensor(anchors)).numpy(),
        rtol=1e-14, atol=1e-14)
    codes = rng.normal(0, 2, (30, 8))
    codes[0, 2] = 100.0  # clamped to log(1000 / 16) before exp
    np.testing.assert_allclose(
        coder.decode_single(codes, anchors),
        theirs.decode_single(torch.tensor(codes), torch.tensor(anchors)).numpy(),
        rtol=1e-14, atol=1e-12)
    np.testing.assert_allclose(coder.decode_single(deltas, anchors), gt, atol=1e-10)
    w = anchors[0, 2] - anchors[0, 0]
    decoded = coder.decode_single(codes[:1, :4], anchors[:1])
    assert decoded[0, 2] - decoded[0, 0] == pytest.approx(w * 1000 / 16)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("low_quality", [False, True])
def test_matcher_matches_torchvision(tv, seed, low_quality):
    rng = np.random.default_rng(seed)
    # IoU-like values on a coarse grid: ties in the maximum per prediction and per gt
    quality = rng.choice([0.0, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9], (4, 25))
    ours = Matcher(0.7, 0.3, low_quality)(quality)
    theirs = tv.utils.Matcher(0.7, 0.3, low_quality)(tv.torch.tensor(quality)).numpy()
    np.testing.assert_array_equal(ours, theirs)


def test_matcher_by_hand_and_errors():
    boxes = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], dtype=float)
    preds = np.array([[0, 0, 10, 10], [0, 0, 10, 5], [20, 20, 24, 30], [50, 50, 60, 60]],
                     dtype=float)
    quality = box_iou(boxes, preds)  # pred IoUs: 1, 0.5, 0.4, 0
    np.testing.assert_array_equal(Matcher(0.7, 0.3)(quality), [0, -2, -2, -1])
    np.testing.assert_array_equal(Matcher(0.7, 0.3, True)(quality), [0, -2, 1, -1])
    with pytest.raises(ValueError, match="no ground-truth"):
        Matcher(0.7, 0.3)(np.zeros((0, 4)))
    with pytest.raises(ValueError, match="low_threshold"):
        Matcher(0.3, 0.7)


def test_sampler_counts_and_labels():
    labels = np.array([1] * 10 + [0] * 100 + [-1] * 5)
    sampler = BalancedPositiveNegativeSampler(32, 0.25)
    pos, neg = sampler(labels, np.random.default_rng(0))
    assert pos.sum() == 8 and neg.sum() == 24
    assert np.all(labels[pos] >= 1) and np.all(labels[neg] == 0)
    # too few positives: the rest are negatives
    pos, neg = sampler(np.array([2] * 3 + [0] * 100), np.random.default_rng(1))
    assert pos.sum() == 3 and neg.sum() == 29
    # the same generator state picks the same examples
    a = sampler(labels, np.random.default_rng(7))
    b = sampler(labels, np.random.default_rng(7))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    pos, neg = sampler(np.full(4, -1), np.random.default_rng(0))
    assert not pos.any() and not neg.any()


@pytest.mark.parametrize("beta", [0.0, 1.0 / 9, 1.0])
def test_box_loss_formula_torch_and_gradcheck(beta):
    rng = np.random.default_rng(0)
    pred, target = rng.normal(0, 0.5, (6, 4)), rng.normal(0, 0.5, (6, 4))
    d = pred - target
    formula = np.where(np.abs(d) < beta, 0.5 * d ** 2 / max(beta, 1e-300), np.abs(d) - 0.5 * beta)
    assert box_loss(pred, target, beta).item() == pytest.approx(formula.sum())
    assert box_loss(pred, target, beta, "mean").item() == pytest.approx(formula.mean())
    assert_gradcheck(lambda p: box_loss(p, target, beta), [pred])
    torch = pytest.importorskip("torch")
    t_pred = torch.tensor(pred, requires_grad=True)
    expected = torch.nn.functional.smooth_l1_loss(t_pred, torch.tensor(target), beta=beta,
                                                  reduction="sum")
    expected.backward()
    p = vg.tensor(pred, requires_grad=True)
    box_loss(p, target, beta).backward()
    assert box_loss(pred, target, beta).item() == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(p.grad, t_pred.grad.numpy(), rtol=1e-12)
    assert math.isfinite(box_loss(pred, target, beta, "none").data.sum())
    with pytest.raises(ValueError, match="reduction"):
        box_loss(pred, target, beta, "max")
