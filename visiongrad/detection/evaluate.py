"""Detection evaluation: COCO's AP/AR (the COCOeval algorithm), Pascal VOC's AP, and the
segmentation metrics mIoU and pixel accuracy.

``evaluate_coco`` follows pycocotools' COCOeval step by step (its tests compare the two):
per image and category, detections sorted by score (stable) and cut to the largest
maxDets; for each IoU threshold t in 0.50:0.05:0.95 each detection in turn takes the
unmatched ground truth of highest IoU >= t (the last among equals), preferring
non-ignored ground truth (crowd regions and those outside the area range are ignored; a
crowd region may take any number of detections, its IoU being intersection / detection
area); unmatched detections outside the area range are ignored. Across images (in image-id
order), detections are sorted by score (stable) and precision is made monotone from the
right and read at 101 recall points (0 past the last recall). AP averages precision over
thresholds, recall points and categories that have non-ignored ground truth.
"""

from __future__ import annotations

import numpy as np

from . import rle
from .boxes import as_boxes

IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
RECALL_POINTS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
AREA_RANGES = {"all": (0 ** 2, 1e5 ** 2), "small": (0 ** 2, 32 ** 2),
               "medium": (32 ** 2, 96 ** 2), "large": (96 ** 2, 1e5 ** 2)}
MAX_DETS = (1, 10, 100)


def coco_bbox_iou(detections, ground_truth, iscrowd) -> np.ndarray:
    """IoU (D, G) of [x, y, w, h] boxes as pycocotools' ``bbIou`` (crowd: inter / det area)."""
    d = np.asarray(detections, float).reshape(-1, 4)
    g = np.asarray(ground_truth, float).reshape(-1, 4)
    w = np.minimum(d[:, None, 2] + d[:, None, 0], g[None, :, 2] + g[None, :, 0]) \
        - np.maximum(d[:, None, 0], g[None, :, 0])
    h = np.minimum(d[:, None, 3] + d[:, None, 1], g[None, :, 3] + g[None, :, 1]) \
        - np.maximum(d[:, None, 1], g[None, :, 1])
    inter = w * h
    area_d, area_g = d[:, 2] * d[:, 3], g[:, 2] * g[:, 3]
    union = np.where(np.asarray(iscrowd, bool)[None, :], area_d[:, None],
                     area_d[:, None] + area_g[None, :] - inter)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((w > 0) & (h > 0), inter / union, 0.0)


def _require(entry: dict, keys, what: str) -> None:
    missing = [k for k in keys if k not in entry]
    if missing:
        raise ValueError(f"{what} is missing {', '.join(map(repr, missing))}: {entry!r:.120}")


def _prepare(ground_truth, detections, iou_type):
    """Ground truth and detections grouped by (image id, category id), with areas, crowd
    flags and (for "segm") masks."""
    if not isinstance(ground_truth, dict):
        raise TypeError("ground_truth must be a COCO dataset dict")
    _require(ground_truth, ("images", "annotations", "categories"), "ground_truth")
    images = {}
    for image in ground_truth["images"]:
        _require(image, ("id",) + (("height", "width") if iou_type == "segm" else ()), "an image")
        images[image["id"]] = image
    categories = {c["id"] for c in ground_truth["categories"]}
    gts, dts = {}, {}
    for ann in ground_truth["annotations"]:
        _require(ann, ("image_id", "category_id", "bbox"), "an annotation")
        if ann["image_id"] not in images or ann["category_id"] not in categories:
            raise ValueError(f"annotation {ann.get('id')} names an unknown image "
                             f"{ann['image_id']} or category {ann['category_id']}")
        x, y, w, h = ann["bbox"]
        crowd = int(ann.get("iscrowd", 0))
        item = {"bbox": ann["bbox"], "area": ann.get("area", w * h), "iscrowd": crowd}
        if iou_type == "segm":
            image = images[ann["image_id"]]
            _require(ann, ("segmentation",), "an annotation")
            item["mask"] = rle.segmentation_to_mask(ann["segmentation"], image["height"],
                                                    image["width"])
        gts.setdefault((ann["image_id"], ann["category_id"]), []).append(item)
    if not isinstance(detections, (list, tuple)):
        raise TypeError("detections must be a list of dicts (COCO's results format)")
    # pycocotools' loadRes takes a detection's area from its box when the first has one
    box_areas = iou_type == "bbox" or bool(detections and detections[0].get("bbox"))
    for det in detections:
        _require(det, ("image_id", "category_id", "score")
                 + (("segmentation",) if iou_type == "segm" else ("bbox",)), "a detection")
        if det["image_id"] not in images:
            raise ValueError(f"a detection names image {det['image_id']}, not in ground_truth")
        if det["category_id"] not in categories:
            raise ValueError(f"a detection names category {det['category_id']}, not in "
                             "ground_truth")
        if iou_type == "segm":
            mask = rle.decode(det["segmentation"])
            item = {"mask": mask, "area": int(mask.sum())}
            if box_areas:
                item["area"] = det["bbox"][2] * det["bbox"][3]
        else:
            item = {"bbox": det["bbox"], "area": det["bbox"][2] * det["bbox"][3]}
        item["score"] = float(det["score"])
        dts.setdefault((det["image_id"], det["category_id"]), []).append(item)
    return sorted(images), sorted(categories), gts, dts


def _match(ious, gt_ignore, crowd):
    """COCOeval's greedy matching for one image, category and area range (see the module):
    (matched (T, D), ignored-through-match (T, D)). Ground truth is already sorted with
    the non-ignored first; vectorised over the thresholds."""
    thresholds = np.minimum(IOU_THRESHOLDS, 1 - 1e-10)[:, None]
    count_t, (count_d, count_g) = len(IOU_THRESHOLDS), ious.shape
    taken = np.zeros((count_t, count_g), dtype=bool)
    matched = np.zeros((count_t, count_d), dtype=bool)
    ignored = np.zeros((count_t, count_d), dtype=bool)
    if count_d == 0 or count_g == 0:
        return matched, ignored
    rows = np.arange(count_t)
    for d in range(count_d):
        values = np.where((~taken | crowd) & (ious[d] >= thresholds), ious[d], -np.inf)
        choice = np.full(count_t, -1)
        for section in (~gt_ignore, gt_ignore):
            part = np.where(section, values, -np.inf)
            best = part.max(axis=1)
            last = count_g - 1 - np.argmax((part == best[:, None])[:, ::-1], axis=1)
            choice = np.where((choice < 0) & np.isfinite(best), last, choice)
        hit = choice >= 0
        matched[hit, d] = True
        ignored[hit, d] = gt_ignore[choice[hit]]
        taken[rows[hit], choice[hit]] = True
    return matched, ignored


def evaluate_coco(ground_truth: dict, detections: list, iou_type: str = "bbox") -> dict:
    """COCO's summary metrics of ``detections`` against ``ground_truth``.

    Parameters
    ----------
    ground_truth : dict
        A COCO dataset: ``images`` (``id``; ``height``, ``width`` for masks),
        ``annotations`` (``image_id``, ``category_id``, ``bbox`` [x, y, w, h], ``area``,
        ``iscrowd``, and ``segmentation`` for masks), ``categories`` (``id``).
    detections : list of dict
        ``image_id``, ``category_id``, ``score`` and ``bbox`` [x, y, w, h] (or
        ``segmentation`` as an RLE for ``iou_type="segm"``).
    iou_type : "bbox" or "segm"
        Box IoU or mask IoU (mask AP).

    Returns
    -------
    dict with AP (IoU 0.50:0.95), AP50, AP75, APs, APm, APl (at 100 detections per image),
    AR1, AR10, AR100, ARs, ARm, ARl; -1 where nothing could be measured (as COCOeval).
    NOTE: COCOeval records a match by the ground truth's id, so ground truth with id 0
    counts as unmatched there; here a match is a match whatever the ids.

    Examples
    --------
    >>> truth = {'images': [{'id': 1, 'height': 10, 'width': 10}], 'categories': [{'id': 1}],
    ...          'annotations': [{'id': 1, 'image_id': 1, 'category_id': 1, 'bbox': [0, 0, 4, 4],
    ...                           'area': 16, 'iscrowd': 0}]}
    >>> found = [{'image_id': 1, 'category_id': 1, 'score': 0.9, 'bbox': [0, 0, 4, 4]}]
    >>> scores = evaluate_coco(truth, found)
    >>> round(scores['AP'], 6), round(scores['AP50'], 6)
    (1.0, 1.0)
    """
    if iou_type not in ("bbox", "segm"):
        raise ValueError(f"iou_type must be 'bbox' or 'segm', got {iou_type!r}")
    image_ids, category_ids, gts, dts = _prepare(ground_truth, detections, iou_type)
    ranges = list(AREA_RANGES.values())
    shape = (len(IOU_THRESHOLDS), len(RECALL_POINTS), len(category_ids), len(ranges),
             len(MAX_DETS))
    precision, recall = -np.ones(shape), -np.ones(shape[:1] + shape[2:])
    for k, category in enumerate(category_ids):
        per_range = [[] for _ in ranges]
        for image in image_ids:
            gt, dt = gts.get((image, category), []), dts.get((image, category), [])
            if not gt and not dt:
                continue
            order = np.argsort([-d["score"] for d in dt], kind="mergesort")[:MAX_DETS[-1]]
            dt = [dt[i] for i in order]
            crowd = np.array([g["iscrowd"] for g in gt], dtype=bool)
            if not dt or not gt:
                ious = np.zeros((len(dt), len(gt)))
            elif iou_type == "segm":
                ious = rle.mask_iou([d["mask"] for d in dt], [g["mask"] for g in gt], crowd)
            else:
                ious = coco_bbox_iou([d["bbox"] for d in dt], [g["bbox"] for g in gt], crowd)
            gt_area = np.array([g["area"] for g in gt], dtype=float)
            dt_area = np.array([d["area"] for d in dt], dtype=float)
            for a, (low, high) in enumerate(ranges):
                gt_ignore = crowd | (gt_area < low) | (gt_area > high)
                gt_order = np.argsort(gt_ignore, kind="mergesort")
                matched, ignored = _match(ious[:, gt_order], gt_ignore[gt_order],
                                          crowd[gt_order])
                outside = (dt_area < low) | (dt_area > high)
                ignored |= ~matched & outside[None, :]
                per_range[a].append((np.array([d["score"] for d in dt]), matched, ignored,
                                     gt_ignore))
        for a, evals in enumerate(per_range):
            for m, max_det in enumerate(MAX_DETS):
                if evals:
                    precision[:, :, k, a, m], recall[:, k, a, m] = _accumulate(evals, max_det)
    return _summarize(precision, recall)


def _accumulate(evals, max_det):
    """Precision at the recall points (T, R) and final recall (T,) over images (-1 when no
    ground truth counts)."""
    scores = np.concatenate([e[0][:max_det] for e in evals])
    order = np.argsort(-scores, kind="mergesort")
    matched = np.concatenate([e[1][:, :max_det] for e in evals], axis=1)[:, order]
    ignored = np.concatenate([e[2][:, :max_det] for e in evals], axis=1)[:, order]
    positives = np.count_nonzero(np.concatenate([e[3] for e in evals]) == 0)
    if positives == 0:
        return -1.0, -1.0
    tp = np.cumsum(matched & ~ignored, axis=1).astype(float)
    fp = np.cumsum(~matched & ~ignored, axis=1).astype(float)
    count = tp.shape[1]
    rc, pr = tp / positives, tp / (fp + tp + np.spacing(1))
    final_recall = rc[:, -1] if count else np.zeros(len(tp))
    pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
    precision = np.zeros((len(tp), len(RECALL_POINTS)))
    for t in range(len(tp)):
        where = np.searchsorted(rc[t], RECALL_POINTS, side="left")
        valid = where < count
        precision[t, valid] = pr[t, where[valid]]
    return precision, final_recall


def _summarize(precision, recall) -> dict:
    def mean(values):
        values = values[values > -1]
        return float(np.mean(values)) if values.size else -1.0

    area = {name: i for i, name in enumerate(AREA_RANGES)}
    at = {t: np.flatnonzero(IOU_THRESHOLDS == t) for t in (0.5, 0.75)}
    last = len(MAX_DETS) - 1
    stats = {"AP": mean(precision[:, :, :, 0, last]),
             "AP50": mean(precision[at[0.5], :, :, 0, last]),
             "AP75": mean(precision[at[0.75], :, :, 0, last])}
    for suffix, name in (("s", "small"), ("m", "medium"), ("l", "large")):
        stats["AP" + suffix] = mean(precision[:, :, :, area[name], last])
    for m, max_det in enumerate(MAX_DETS):
        stats[f"AR{max_det}"] = mean(recall[:, :, 0, m])
    for suffix, name in (("s", "small"), ("m", "medium"), ("l", "large")):
        stats["AR" + suffix] = mean(recall[:, :, area[name], last])
    return stats


# ----- Pascal VOC ---------------------------------------------------------------------------


def voc_ap(recall, precision, use_07_metric: bool = False) -> float:
    """AP from a precision/recall curve, as the VOC devkit: the 11-point mean of the
    maximum precision at recall >= 0, 0.1, ..., 1 (VOC2007), or the area under the curve
    made monotone from the right (VOC2010 on).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import detection
    >>> detection.voc_ap(np.array([0.5, 1.0]), np.array([1.0, 0.5]))
    0.75
    """
    recall, precision = np.asarray(recall, float), np.asarray(precision, float)
    if use_07_metric:
        return float(sum(np.max(precision[recall >= t], initial=0.0)
                         for t in np.arange(0.0, 1.1, 0.1)) / 11.0)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    steps = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def voc_eval_class(detections, ground_truth, iou_threshold: float = 0.5,
                   use_07_metric: bool = False) -> tuple[float, np.ndarray, np.ndarray]:
    """(AP, recall, precision) of one class, as the VOC devkit's ``voc_eval``.

    ``detections``: (image key, score, box) triples; ``ground_truth``: {image key:
    (boxes (G, 4), difficult (G,) bools)}. Boxes are VOC's inclusive pixel corners
    (x1, y1, x2, y2), so a box is x2 - x1 + 1 wide. By decreasing score, a detection is a
    true positive if its best-overlapping box has IoU > ``iou_threshold`` and was not
    taken; overlaps with difficult boxes count neither way; recall is over non-difficult
    boxes. NOTE: the devkit sorts with an unstable sort; equal scores keep input order here.

    Examples
    --------
    >>> truth = {'img': (np.array([[0.0, 0.0, 9.0, 9.0]]), np.array([False]))}
    >>> found = [('img', 0.9, np.array([0.0, 0.0, 9.0, 9.0])),      # a hit, then a miss
    ...          ('img', 0.5, np.array([20.0, 20.0, 29.0, 29.0]))]
    >>> ap, recall, precision = voc_eval_class(found, truth)
    >>> round(float(ap), 3), recall, precision
    (1.0, array([1., 1.]), array([1. , 0.5]))
    """
    records = {}
    for key, (boxes, difficult) in ground_truth.items():
        boxes = as_boxes(np.asarray(boxes, float).reshape(-1, 4), "ground_truth boxes")
        records[key] = (boxes, np.asarray(difficult, bool).reshape(-1),
                        np.zeros(len(boxes), bool))
    positives = sum(int((~r[1]).sum()) for r in records.values())
    scores = np.array([s for _, s, _ in detections], dtype=float)
    order = np.argsort(-scores, kind="stable")
    tp, fp = np.zeros(len(order)), np.zeros(len(order))
    for rank, i in enumerate(order):
        key, _, box = detections[i]
        if key not in records:
            raise ValueError(f"a detection names image {key!r}, which has no ground-truth entry")
        boxes, difficult, taken = records[key]
        best, which = -np.inf, -1
        if len(boxes):
            iw = np.maximum(np.minimum(boxes[:, 2], box[2]) - np.maximum(boxes[:, 0], box[0])
                            + 1.0, 0.0)
            ih = np.maximum(np.minimum(boxes[:, 3], box[3]) - np.maximum(boxes[:, 1], box[1])
                            + 1.0, 0.0)
            inter = iw * ih
            union = ((box[2] - box[0] + 1.0) * (box[3] - box[1] + 1.0)
                     + (boxes[:, 2] - boxes[:, 0] + 1.0) * (boxes[:, 3] - boxes[:, 1] + 1.0)
                     - inter)
            overlaps = inter / union
            best, which = overlaps.max(), int(overlaps.argmax())
        if best > iou_threshold:
            if not difficult[which]:
                if taken[which]:
                    fp[rank] = 1
                else:
                    tp[rank], taken[which] = 1, True
        else:
            fp[rank] = 1
    tp, fp = np.cumsum(tp), np.cumsum(fp)
    recall = tp / positives if positives else np.full(len(tp), np.nan)
    precision = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return voc_ap(recall, precision, use_07_metric), recall, precision


# ----- semantic segmentation ----------------------------------------------------------------


def confusion_matrix(prediction, target, num_classes: int, ignore_index: int | None = 255):
    """C (num_classes, num_classes) with C[t, p] = number of pixels of true class t
    predicted p; pixels whose target is ``ignore_index`` are left out.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import detection
    >>> prediction, target = np.array([[0, 1], [1, 1]]), np.array([[0, 1], [0, 1]])
    >>> detection.confusion_matrix(prediction, target, num_classes=2)
    array([[1, 1],
           [0, 2]])
    """
    prediction, target = np.asarray(prediction), np.asarray(target)
    if prediction.shape != target.shape:
        raise ValueError(f"prediction {prediction.shape} and target {target.shape} differ")
    keep = np.ones(target.shape, bool) if ignore_index is None else target != ignore_index
    p, t = prediction[keep].astype(np.int64), target[keep].astype(np.int64)
    for name, values in (("prediction", p), ("target", t)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{name} holds classes outside [0, {num_classes})")
    return np.bincount(t * num_classes + p, minlength=num_classes ** 2) \
        .reshape(num_classes, num_classes)


def segmentation_metrics(confusion) -> dict:
    """pixel_accuracy = trace / total; per-class IoU = C[c, c] / (row c + column c - C[c, c])
    (NaN for a class absent from target and prediction); mIoU = mean of the defined IoUs.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import detection
    >>> m = detection.segmentation_metrics(np.array([[3, 1], [0, 4]]))
    >>> round(m['pixel_accuracy'], 4), np.round(m['per_class_iou'], 4)
    (0.875, array([0.75, 0.8 ]))
    """
    confusion = np.asarray(confusion, dtype=float)
    hits = np.diag(confusion)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - hits
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, hits / union, np.nan)
    total = confusion.sum()
    return {"pixel_accuracy": float(hits.sum() / total) if total else float("nan"),
            "mIoU": float(np.nanmean(iou)) if np.any(union > 0) else float("nan"),
            "per_class_iou": iou}
