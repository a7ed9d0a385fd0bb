"""Box functions on float16 and NaN (issue 28, items 19 and 3): areas and IoUs of float16
boxes are computed in float32 as torchvision does, and nms refuses a NaN score or a NaN
threshold instead of keeping everything."""

import numpy as np
import pytest
from zoo_reference import torchvision_or_skip

from visiongrad.detection.boxes import batched_nms, box_area, box_iou, nms

LARGE = np.array([[0, 0, 300, 300], [100, 100, 400, 400], [0, 0, 1000, 60]], np.float16)


def test_float16_areas_and_ious_are_computed_in_float32():
    areas = box_area(LARGE)
    assert areas.dtype == np.float32
    np.testing.assert_array_equal(areas, [90000, 90000, 60000])
    iou = box_iou(LARGE, LARGE)
    assert iou.dtype == np.float32 and np.isfinite(iou).all()
    np.testing.assert_allclose(iou[0, 1], 200 * 200 / (2 * 90000 - 200 * 200), rtol=1e-6)
    np.testing.assert_array_equal(np.diag(iou), 1)


def test_float16_matches_torchvision():
    import torch

    ops = torchvision_or_skip().ops
    boxes = torch.tensor(LARGE)
    area = ops.box_area(boxes)
    assert box_area(LARGE).dtype == np.dtype(str(area.dtype).removeprefix("torch."))
    np.testing.assert_array_equal(box_area(LARGE), area.numpy())
    np.testing.assert_allclose(box_iou(LARGE, LARGE), ops.box_iou(boxes, boxes).numpy(),
                               rtol=1e-6)


def test_nms_refuses_a_nan_score_or_threshold():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], np.float32)
    with pytest.raises(ValueError, match="scores hold 1 NaN value"):
        nms(boxes, np.array([0.9, np.nan, 0.5]), 0.5)
    for threshold in (float("nan"), np.float32("nan"), "0.5", None):
        with pytest.raises(ValueError, match="iou_threshold must be a number"):
            nms(boxes, np.array([0.9, 0.8, 0.5]), threshold)
        with pytest.raises(ValueError, match="iou_threshold must be a number"):
            batched_nms(boxes, np.array([0.9, 0.8, 0.5]), np.array([0, 0, 1]), threshold)
    np.testing.assert_array_equal(nms(boxes, np.array([0.9, 0.8, 0.5]), 0.5), [0, 2])
