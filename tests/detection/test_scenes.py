"""detection/scenes.py: composed scenes are reproducible, split apart, and their boxes,
masks, semantic maps and labels agree with each other and with the pixels."""

from __future__ import annotations

import numpy as np
import pytest

from visiongrad.detection.evaluate import evaluate_coco
from visiongrad.detection.scenes import (
    BACKGROUND_MAX,
    CLASSES,
    MASK_THRESHOLD,
    TEXTURES,
    compose_detection_scenes,
    texture,
)


@pytest.fixture(scope="module")
def scenes():
    return compose_detection_scenes(40, "train", seed=3)


def test_reproducible_and_splits_differ(scenes):
    again = compose_detection_scenes(40, "train", seed=3)
    np.testing.assert_array_equal(scenes.images, again.images)
    assert all(np.array_equal(a, b) for a, b in zip(scenes.boxes, again.boxes, strict=True))
    other = compose_detection_scenes(40, "val", seed=3)
    assert not np.array_equal(scenes.images, other.images)


def test_annotations_agree_with_the_pixels(scenes):
    counts = [len(labels) for labels in scenes.labels]
    assert min(counts) >= 1 and max(counts) <= 5 and len(set(counts)) > 2
    assert set(scenes.textures) == set(TEXTURES)
    for image, boxes, labels, masks, semantic in zip(scenes.images, scenes.boxes, scenes.labels,
                                                     scenes.masks, scenes.semantic, strict=True):
        assert masks.shape == (len(labels), 64, 64) and np.all((labels >= 1) & (labels <= 10))
        # masks are disjoint (occluded parts removed) and paint the semantic map
        assert masks.sum(axis=0).max() <= 1
        expected = np.zeros((64, 64), np.uint8)
        for mask, label in zip(masks, labels, strict=True):
            expected[mask] = label
        np.testing.assert_array_equal(semantic, expected)
        # item pixels are brighter than the threshold; background is never above its cap
        assert np.all(image[0][semantic > 0] > MASK_THRESHOLD)
        assert np.all(image[0][semantic == 0] <= np.ceil(BACKGROUND_MAX))
        for box, mask in zip(boxes, masks, strict=True):
            rows, cols = np.nonzero(mask)
            np.testing.assert_array_equal(box, [cols.min(), rows.min(), cols.max() + 1,
                                                rows.max() + 1])
    assert len(CLASSES) == 11


def test_items_overlap_and_stay_visible(scenes):
    # boxes of different items overlap (occlusion happens); every visible mask is non-empty
    assert all(mask.any() for masks in scenes.masks for mask in masks)
    overlapping = 0
    for boxes in scenes.boxes:
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                overlapping += (min(a[2], b[2]) > max(a[0], b[0])) and \
                    (min(a[3], b[3]) > max(a[1], b[1]))
    assert overlapping > 0


def test_to_coco_evaluates_perfectly(scenes):
    dataset = scenes.to_coco()
    detections = [{"image_id": a["image_id"], "category_id": a["category_id"],
                   "bbox": a["bbox"], "score": 1.0} for a in dataset["annotations"]]
    assert evaluate_coco(dataset, detections)["AP"] == pytest.approx(1.0)
    masks = [{"image_id": a["image_id"], "category_id": a["category_id"],
              "segmentation": a["segmentation"], "score": 1.0} for a in dataset["annotations"]]
    assert evaluate_coco(dataset, masks, iou_type="segm")["AP50"] == pytest.approx(1.0)


def test_textures_and_argument_checks():
    rng = np.random.default_rng(0)
    for kind in TEXTURES:
        ground = texture(kind, 48, rng)
        assert ground.shape == (48, 48) and 0 <= ground.min() and ground.max() <= BACKGROUND_MAX
        assert ground.std() > 5  # structure, not a flat field
    with pytest.raises(ValueError, match="texture kind"):
        texture("marble", 8, rng)
    with pytest.raises(ValueError, match="split"):
        compose_detection_scenes(1, "dev")
    with pytest.raises(ValueError, match="max_items"):
        compose_detection_scenes(1, max_items=6)
    with pytest.raises(ValueError, match="min_scale"):
        compose_detection_scenes(1, min_scale=4)
