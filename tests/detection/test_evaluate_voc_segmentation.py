"""detection/evaluate.py: VOC AP against a straightforward transcription of the devkit's
voc_eval/voc_ap (py-faster-rcnn's Python port of VOCevaldet), by hand; mIoU and pixel
accuracy against their definitions and scikit-learn's confusion matrix."""

from __future__ import annotations

import numpy as np
import pytest

from visiongrad.detection.evaluate import (
    confusion_matrix,
    segmentation_metrics,
    voc_ap,
    voc_eval_class,
)


def devkit_voc_ap(rec, prec, use_07_metric):
    if use_07_metric:
        ap = 0.0
        for t in np.arange(0.0, 1.1, 0.1):
            p = 0 if np.sum(rec >= t) == 0 else np.max(prec[rec >= t])
            ap = ap + p / 11.0
        return ap
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    for i in range(mpre.size - 1, 0, -1):
        mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1])


def devkit_voc_eval(image_ids, confidence, BB, class_recs, ovthresh, use_07_metric):
    npos = sum(int((~r["difficult"]).sum()) for r in class_recs.values())
    sorted_ind = np.argsort(-confidence)
    BB = BB[sorted_ind, :]
    image_ids = [image_ids[x] for x in sorted_ind]
    nd = len(image_ids)
    tp, fp = np.zeros(nd), np.zeros(nd)
    for d in range(nd):
        R = class_recs[image_ids[d]]
        bb = BB[d, :].astype(float)
        ovmax = -np.inf
        BBGT = R["bbox"].astype(float)
        if BBGT.size > 0:
            ixmin = np.maximum(BBGT[:, 0], bb[0])
            iymin = np.maximum(BBGT[:, 1], bb[1])
            ixmax = np.minimum(BBGT[:, 2], bb[2])
            iymax = np.minimum(BBGT[:, 3], bb[3])
            iw = np.maximum(ixmax - ixmin + 1.0, 0.0)
            ih = np.maximum(iymax - iymin + 1.0, 0.0)
            inters = iw * ih
            uni = ((bb[2] - bb[0] + 1.0) * (bb[3] - bb[1] + 1.0)
                   + (BBGT[:, 2] - BBGT[:, 0] + 1.0) * (BBGT[:, 3] - BBGT[:, 1] + 1.0) - inters)
            overlaps = inters / uni
            ovmax = np.max(overlaps)
            jmax = np.argmax(overlaps)
        if ovmax > ovthresh:
            if not R["difficult"][jmax]:
                if not R["det"][jmax]:
                    tp[d] = 1.0
                    R["det"][jmax] = 1
                else:
                    fp[d] = 1.0
        else:
            fp[d] = 1.0
    fp, tp = np.cumsum(fp), np.cumsum(tp)
    rec = tp / float(npos)
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return devkit_voc_ap(rec, prec, use_07_metric)


def random_voc_problem(rng):
    """Ground truth with at least one non-difficult box, and detections near and far from
    it (drawn again until there are both)."""
    while True:
        ground_truth, records, detections = {}, {}, []
        for image in range(int(rng.integers(1, 6))):
            count = int(rng.integers(0, 5))
            corner = rng.integers(0, 80, (count, 2))
            boxes = np.c_[corner, corner + rng.integers(5, 40, (count, 2))].astype(float)
            difficult = rng.random(count) < 0.2
            ground_truth[image] = (boxes, difficult)
            records[image] = {"bbox": boxes, "difficult": difficult, "det": [False] * count}
            for box in boxes:
                for _ in range(int(rng.integers(0, 3))):
                    detections.append((image, None, box + rng.integers(-6, 7, 4)))
            for _ in range(int(rng.integers(0, 3))):
                xy = rng.integers(0, 80, 2)
                detections.append((image, None, np.r_[xy, xy + rng.integers(5, 40, 2)]))
        if sum(int((~d).sum()) for _, d in ground_truth.values()) and detections:
            return ground_truth, records, detections


@pytest.mark.parametrize("seed", range(15))
@pytest.mark.parametrize("use_07_metric", [False, True])
def test_voc_ap_equals_the_devkit(seed, use_07_metric):
    rng = np.random.default_rng(seed)
    ground_truth, records, detections = random_voc_problem(rng)
    scores = rng.permutation(len(detections)) / len(detections)  # distinct scores
    detections = [(k, float(s), b) for (k, _, b), s in zip(detections, scores, strict=True)]
    ours, _, _ = voc_eval_class(detections, ground_truth, 0.5, use_07_metric)
    expected = devkit_voc_eval([d[0] for d in detections], scores,
                               np.array([d[2] for d in detections], float), records, 0.5,
                               use_07_metric)
    assert ours == pytest.approx(expected, abs=1e-12)


def test_voc_ap_by_hand():
    # two positives; detections: hit, miss, hit -> recall 0.5, 0.5, 1; precision 1, 1/2, 2/3
    recall, precision = np.array([0.5, 0.5, 1.0]), np.array([1.0, 0.5, 2 / 3])
    assert voc_ap(recall, precision) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert voc_ap(recall, precision, True) == pytest.approx((6 * 1 + 5 * 2 / 3) / 11)
    with pytest.raises(ValueError, match="no ground-truth entry"):
        voc_eval_class([("missing", 1.0, [0, 0, 1, 1])], {0: (np.zeros((0, 4)), [])})


def test_segmentation_metrics():
    rng = np.random.default_rng(0)
    target = rng.integers(0, 4, (3, 20, 20))
    target[0, :2] = 255
    prediction = np.where(rng.random(target.shape) < 0.7, target, rng.integers(0, 4, target.shape))
    prediction[target == 255] = 0
    confusion = confusion_matrix(prediction, target, 4)
    keep = target != 255
    sklearn = pytest.importorskip("sklearn.metrics")
    np.testing.assert_array_equal(confusion, sklearn.confusion_matrix(
        target[keep], prediction[keep], labels=range(4)))
    metrics = segmentation_metrics(confusion)
    assert metrics["pixel_accuracy"] == pytest.approx(np.mean(prediction[keep] == target[keep]))
    ious = [np.sum((prediction == c) & (target == c) & keep)
            / np.sum(((prediction == c) | (target == c)) & keep) for c in range(4)]
    assert metrics["mIoU"] == pytest.approx(np.mean(ious))
    # a class absent from both does not count; a wrong class range is named
    assert np.isnan(segmentation_metrics(confusion_matrix(target[keep] * 0, target[keep] * 0,
                                                          3))["per_class_iou"][1])
    with pytest.raises(ValueError, match="prediction"):
        confusion_matrix(prediction + 4, target, 4)
