"""detection/evaluate.py's evaluate_coco against pycocotools' COCOeval (a test-only
dependency) on random ground truth and detections: crowd regions, empty images, categories
without detections or without ground truth, tied scores, all three size ranges; boxes
and masks (polygons, RLE). And detection/rle.py against pycocotools.mask."""

from __future__ import annotations

import contextlib
import copy
import io

import numpy as np
import pytest

from visiongrad.detection import rle
from visiongrad.detection.evaluate import evaluate_coco

KEYS = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]


def pycocotools_stats(dataset, detections, iou_type):
    coco_module = pytest.importorskip("pycocotools.coco", reason="pycocotools is test-only")
    from pycocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        gt = coco_module.COCO()
        gt.dataset = copy.deepcopy(dataset)
        gt.createIndex()
        dt = gt.loadRes(copy.deepcopy(detections)) if detections else coco_module.COCO()
        evaluator = COCOeval(gt, dt, iou_type)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return dict(zip(KEYS, evaluator.stats, strict=True))


def random_problem(seed, masks=False):
    rng = np.random.default_rng(seed)
    size = 160
    images = [{"id": i + 1, "height": size, "width": size} for i in range(int(rng.integers(2, 7)))]
    categories = [{"id": c, "name": f"c{c}"} for c in (1, 2, 5)]
    annotations, detections = [], []
    for image in images:
        if rng.random() < 0.2:
            continue  # an image with no objects
        for _ in range(int(rng.integers(1, 6))):
            side = rng.choice([12.0, 40.0, 120.0]) * rng.uniform(0.5, 1.2, 2)
            x, y = rng.uniform(0, size - side)
            box = [float(x), float(y), float(side[0]), float(side[1])]
            ann = {"id": len(annotations) + 1, "image_id": image["id"],
                   "category_id": int(rng.choice([1, 2, 5], p=[0.5, 0.4, 0.1])),
                   "bbox": box, "area": box[2] * box[3] * rng.uniform(0.6, 1.0),
                   "iscrowd": int(rng.random() < 0.15)}
            if masks:
                ann["segmentation"] = [[x, y, x + side[0], y, x + side[0] * 0.7, y + side[1],
                                        x, y + side[1] * 0.8]]
            annotations.append(ann)
            for _ in range(int(rng.integers(0, 3))):  # detections near this object
                jitter = box + rng.normal(0, 0.15, 4) * np.r_[box[2:], box[2:]]
                detections.append(det(rng, image, ann["category_id"], jitter, masks, size))
        for _ in range(int(rng.integers(0, 4))):  # false positives (category 2 or 5 only)
            xy, wh = rng.uniform(0, size * 0.7, 2), rng.uniform(5, 60, 2)
            detections.append(det(rng, image, int(rng.choice([2, 5])), np.r_[xy, wh], masks,
                                  size))
    for d in detections[::4]:
        d["score"] = 0.5  # ties
    return {"images": images, "annotations": annotations, "categories": categories}, detections


def det(rng, image, category, box, masks, size):
    x, y, w, h = (float(v) for v in box)
    w, h = max(w, 1.0), max(h, 1.0)
    out = {"image_id": image["id"], "category_id": category, "score": float(rng.random())}
    if masks:
        mask = np.zeros((size, size), np.uint8)
        mask[int(max(y, 0)):int(max(y + h, 1)), int(max(x, 0)):int(max(x + w, 1))] = 1
        out["segmentation"] = rle.encode(mask)
    else:
        out["bbox"] = [x, y, w, h]
    return out


@pytest.mark.parametrize("seed", range(25))
def test_bbox_ap_equals_cocoeval(seed):
    dataset, detections = random_problem(seed)
    ours = evaluate_coco(dataset, detections)
    theirs = pycocotools_stats(dataset, detections, "bbox")
    for key in KEYS:
        assert ours[key] == pytest.approx(theirs[key], abs=1e-6), key


@pytest.mark.parametrize("seed", range(6))
def test_mask_ap_equals_cocoeval(seed):
    dataset, detections = random_problem(100 + seed, masks=True)
    ours = evaluate_coco(dataset, detections, iou_type="segm")
    theirs = pycocotools_stats(dataset, detections, "segm")
    for key in KEYS:
        assert ours[key] == pytest.approx(theirs[key], abs=1e-6), key


def test_perfect_and_empty_detections():
    dataset, _ = random_problem(3)
    perfect = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"],
                "score": 1.0} for a in dataset["annotations"] if not a["iscrowd"]]
    stats = evaluate_coco(dataset, perfect)
    assert stats["AP"] == pytest.approx(1.0) and stats["AR100"] == pytest.approx(1.0)
    assert evaluate_coco(dataset, [])["AP"] == 0.0


def test_bad_inputs_are_named():
    dataset, detections = random_problem(1)
    with pytest.raises(ValueError, match="category 99"):
        evaluate_coco(dataset, [dict(detections[0], category_id=99)])
    with pytest.raises(ValueError, match="image 1234"):
        evaluate_coco(dataset, [dict(detections[0], image_id=1234)])
    with pytest.raises(ValueError, match="'score'"):
        evaluate_coco(dataset, [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}])
    with pytest.raises(ValueError, match="iou_type"):
        evaluate_coco(dataset, detections, iou_type="keypoints")


# ----- RLE ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(40))
def test_rle_matches_pycocotools(seed):
    mask_api = pytest.importorskip("pycocotools.mask", reason="pycocotools is test-only")
    rng = np.random.default_rng(seed)
    h, w = (int(v) for v in rng.integers(1, 40, 2))
    mask = (rng.random((h, w)) < rng.random()).astype(np.uint8)
    theirs = mask_api.encode(np.asfortranarray(mask))
    ours = rle.encode(mask)
    assert ours["counts"] == theirs["counts"].decode() and ours["size"] == [h, w]
    np.testing.assert_array_equal(rle.decode(theirs), mask)
    assert rle.area(theirs) == mask_api.area(theirs)
    assert rle.to_bbox(theirs) == list(mask_api.toBbox(theirs))
    # polygons (incl. a repeated vertex and points outside the image), rasterised alike
    points = rng.uniform(-3, [w + 3, h + 3], (int(rng.integers(3, 8)), 2))
    if seed % 3 == 0:
        points = np.round(points)
    if seed % 5 == 0:
        points[1] = points[0]
    polygon = [float(v) for v in points.ravel()]
    expected = mask_api.decode(mask_api.frPyObjects([polygon], h, w)[0])
    np.testing.assert_array_equal(rle.segmentation_to_mask([polygon], h, w), expected)
    # mask IoU with crowd flags
    masks = (rng.random((3, h, w)) < 0.5).astype(np.uint8)
    others = (rng.random((2, h, w)) < 0.5).astype(np.uint8)
    encoded = [mask_api.encode(np.asfortranarray(m)) for m in masks]
    encoded_others = [mask_api.encode(np.asfortranarray(m)) for m in others]
    np.testing.assert_allclose(rle.mask_iou(masks, others, [0, 1]),
                               mask_api.iou(encoded, encoded_others, [0, 1]), atol=1e-15)


def test_rle_uncompressed_and_errors():
    mask = np.array([[0, 1], [1, 1]], np.uint8)
    counts = rle.mask_to_counts(mask)
    np.testing.assert_array_equal(counts, [1, 3])
    np.testing.assert_array_equal(rle.decode({"size": [2, 2], "counts": [1, 3]}), mask)
    np.testing.assert_array_equal(rle.mask_to_counts(1 - mask), [0, 1, 3])
    np.testing.assert_array_equal(rle.string_to_counts(rle.counts_to_string([5, 100000, 3, 7])),
                                  [5, 100000, 3, 7])
    with pytest.raises(ValueError, match="sum"):
        rle.decode({"size": [2, 2], "counts": [1, 2]})
    with pytest.raises(ValueError, match="bad character"):
        rle.decode({"size": [2, 2], "counts": "1~"})
    with pytest.raises(ValueError, match="3 finite"):
        rle.segmentation_to_mask([[0, 0, 1, 1]], 4, 4)
