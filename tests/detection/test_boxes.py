"""detection/boxes.py: IoU, area, format conversion, clipping against torchvision's
pure-Python functions and by hand; NMS against the kernel's double loop, incl. ties in
score and IoU exactly at the threshold."""

from __future__ import annotations

import numpy as np
import pytest

from visiongrad.detection import (
    batched_nms,
    box_area,
    box_convert,
    box_iou,
    clip_boxes_to_image,
    nms,
    remove_small_boxes,
)
from visiongrad.detection.boxes import nms_reference


def random_boxes(rng, count, extent=50.0, max_side=30.0):
    corner = rng.uniform(0, extent, (count, 2))
    return np.c_[corner, corner + rng.uniform(0.5, max_side, (count, 2))]


def test_iou_by_hand():
    a = np.array([[0, 0, 2, 2], [0, 0, 1, 1]], dtype=np.float64)
    b = np.array([[1, 1, 3, 3], [5, 5, 6, 6], [0, 0, 2, 2]], dtype=np.float64)
    np.testing.assert_allclose(box_iou(a, b), [[1 / 7, 0, 1], [0, 0, 0.25]])
    np.testing.assert_allclose(box_area(a), [4, 1])
    assert box_iou(np.zeros((0, 4)), b).shape == (0, 3)


@pytest.mark.parametrize("seed", range(3))
def test_iou_area_convert_clip_match_torchvision(tv, seed):
    rng = np.random.default_rng(seed)
    a, b = random_boxes(rng, 17), random_boxes(rng, 9)
    torch = tv.torch
    np.testing.assert_array_equal(box_iou(a, b), tv.boxes.box_iou(torch.tensor(a),
                                                                  torch.tensor(b)).numpy())
    np.testing.assert_array_equal(box_area(a), tv.boxes.box_area(torch.tensor(a)).numpy())
    for fmt_in in ("xyxy", "xywh", "cxcywh"):
        for fmt_out in ("xyxy", "xywh", "cxcywh"):
            np.testing.assert_array_equal(
                box_convert(a, fmt_in, fmt_out),
                tv.boxes.box_convert(torch.tensor(a), fmt_in, fmt_out).numpy())
    np.testing.assert_array_equal(
        clip_boxes_to_image(a - 10, (30, 40)),
        tv.boxes.clip_boxes_to_image(torch.tensor(a - 10), (30, 40)).numpy())
    np.testing.assert_array_equal(remove_small_boxes(a, 5.0),
                                  tv.boxes.remove_small_boxes(torch.tensor(a), 5.0).numpy())


def test_convert_round_trip_and_formulas():
    boxes = np.array([[1.0, 2.0, 5.0, 10.0]])
    np.testing.assert_array_equal(box_convert(boxes, "xyxy", "xywh"), [[1, 2, 4, 8]])
    np.testing.assert_array_equal(box_convert(boxes, "xyxy", "cxcywh"), [[3, 6, 4, 8]])
    np.testing.assert_array_equal(box_convert([[3, 6, 4, 8]], "cxcywh", "xyxy"), boxes)
    with pytest.raises(ValueError, match="in_fmt"):
        box_convert(boxes, "yxyx", "xyxy")
    with pytest.raises(ValueError, match=r"shape \(N, 4\)"):
        box_iou(np.zeros((2, 3)), boxes)


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nms_matches_the_kernel_loop(seed, dtype):
    rng = np.random.default_rng(seed)
    count = int(rng.integers(0, 60))
    boxes = random_boxes(rng, count).astype(dtype)
    # a few repeated scores: ties are visited in index order
    scores = rng.choice(rng.uniform(0, 1, max(count // 3, 1)), count).astype(dtype)
    threshold = float(rng.choice([0.0, 0.3, 0.5, 0.7, 1.0]))
    keep = nms(boxes, scores, threshold)
    np.testing.assert_array_equal(keep, nms_reference(boxes, scores, threshold))
    assert keep.dtype == np.int64
    assert np.all(np.diff(scores[keep]) <= 0)


def test_nms_threshold_is_strict_and_ties_keep_index_order():
    # IoU of the two boxes is exactly 0.5 (intersection 2, union 4)
    boxes = np.array([[0, 0, 3, 1], [1, 0, 4, 1], [10, 10, 11, 11]], dtype=np.float64)
    assert box_iou(boxes[:1], boxes[1:2])[0, 0] == 0.5
    np.testing.assert_array_equal(nms(boxes, np.array([0.9, 0.8, 0.1]), 0.5), [0, 1, 2])
    np.testing.assert_array_equal(nms(boxes, np.array([0.9, 0.8, 0.1]), 0.49), [0, 2])
    # equal scores: the lower index wins
    np.testing.assert_array_equal(nms(boxes, np.array([0.5, 0.5, 0.5]), 0.3), [0, 2])
    np.testing.assert_array_equal(nms(boxes[[1, 0, 2]], np.array([0.5, 0.5, 0.5]), 0.3), [0, 2])
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).shape == (0,)


@pytest.mark.parametrize("seed", range(10))
def test_batched_nms_is_nms_per_class(seed):
    rng = np.random.default_rng(seed)
    boxes = random_boxes(rng, 40)
    scores, classes = rng.uniform(0, 1, 40), rng.integers(0, 4, 40)
    keep = batched_nms(boxes, scores, classes, 0.4)
    expected = np.concatenate([np.flatnonzero(classes == c)[
        nms_reference(boxes[classes == c], scores[classes == c], 0.4)] for c in range(4)])
    np.testing.assert_array_equal(np.sort(keep), np.sort(expected))
    np.testing.assert_array_equal(keep, expected[np.argsort(-scores[expected], kind="stable")])
    # boxes of one class only: the same as nms
    np.testing.assert_array_equal(batched_nms(boxes, scores, np.zeros(40, int), 0.4),
                                  nms(boxes, scores, 0.4))


def test_nms_checks_scores():
    with pytest.raises(ValueError, match="scores"):
        nms(np.zeros((3, 4)), np.zeros(2), 0.5)
    with pytest.raises(ValueError, match="classes"):
        batched_nms(np.zeros((3, 4)), np.zeros(3), np.zeros(2), 0.5)
