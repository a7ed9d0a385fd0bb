"""Boxes: area, pairwise IoU, format conversion, clipping, and non-maximum suppression.

Names and meanings are torchvision's (``torchvision.ops``): boxes are rows (x1, y1, x2, y2)
with 0 <= x1 < x2 and 0 <= y1 < y2, in pixels. These are NumPy functions on arrays (a
Tensor's ``.data`` is taken): nothing here needs a gradient. Arithmetic stays in the
boxes' floating dtype, so float32 boxes give float32 IoUs, as in torchvision; areas and
intersections of float16 boxes are computed in float32 (torchvision's ``_upcast``: a
float16 area overflows past 65504, a 256 x 256 box).
"""

from __future__ import annotations

import numpy as np

BOX_FORMATS = ("xyxy", "xywh", "cxcywh")


def as_boxes(boxes, name: str = "boxes") -> np.ndarray:
    """``boxes`` as a floating (N, 4) array (integers become float64); checks the shape."""
    array = np.asarray(getattr(boxes, "data", boxes))
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError(f"{name} must have shape (N, 4), got {array.shape}")
    if array.dtype.kind != "f":
        if array.dtype.kind not in "biu":
            raise TypeError(f"{name} must be numbers, got dtype {array.dtype}")
        array = array.astype(np.float64)
    return array


def _upcast(boxes: np.ndarray) -> np.ndarray:
    """float16 boxes as float32 (torchvision's ``_upcast``); other dtypes unchanged."""
    return boxes.astype(np.float32) if boxes.dtype == np.float16 else boxes


def box_area(boxes) -> np.ndarray:
    """Area (x2 - x1) (y2 - y1) of each (x1, y1, x2, y2) box: (N, 4) -> (N,); float16
    boxes give float32 areas.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import detection
    >>> detection.box_area(np.array([[0.0, 0.0, 10.0, 5.0], [2.0, 2.0, 4.0, 4.0]]))
    array([50.,  4.])
    """
    boxes = _upcast(as_boxes(boxes))
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def box_intersection(boxes1, boxes2) -> np.ndarray:
    """Pairwise intersection areas: (N, 4), (M, 4) -> (N, M).

    inter[i, j] = max(0, min(x2_i, x2_j) - max(x1_i, x1_j)) * max(0, (the same in y))
    """
    a, b = _upcast(as_boxes(boxes1, "boxes1")), _upcast(as_boxes(boxes2, "boxes2"))
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    sides = np.clip(bottom_right - top_left, 0, None)
    return sides[..., 0] * sides[..., 1]


def box_iou(boxes1, boxes2) -> np.ndarray:
    """Pairwise intersection over union: (N, 4), (M, 4) -> (N, M).

    iou[i, j] = inter[i, j] / (area_i + area_j - inter[i, j]), as ``torchvision.ops.box_iou``
    (two empty boxes give 0 / 0 = NaN there and here); float16 boxes give float32.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import detection
    >>> a = np.array([[0.0, 0.0, 10.0, 10.0]])
    >>> b = np.array([[5.0, 0.0, 15.0, 10.0], [0.0, 0.0, 10.0, 10.0]])
    >>> np.round(detection.box_iou(a, b), 4)   # 50 / (100 + 100 - 50), then 1
    array([[0.3333, 1.    ]])
    """
    a, b = as_boxes(boxes1, "boxes1"), as_boxes(boxes2, "boxes2")
    inter = box_intersection(a, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        return inter / (box_area(a)[:, None] + box_area(b)[None, :] - inter)


def box_convert(boxes, in_fmt: str, out_fmt: str) -> np.ndarray:
    """Convert boxes between "xyxy" (corners), "xywh" (top-left corner, width, height) and
    "cxcywh" (centre, width, height), through xyxy as torchvision does:

        xywh -> xyxy:   (x, y, x + w, y + h)
        cxcywh -> xyxy: (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
        xyxy -> xywh:   (x1, y1, x2 - x1, y2 - y1)
        xyxy -> cxcywh: ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import detection
    >>> detection.box_convert(np.array([[5.0, 5.0, 10.0, 4.0]]), 'cxcywh', 'xyxy')
    array([[ 0.,  3., 10.,  7.]])
    """
    for name, fmt in (("in_fmt", in_fmt), ("out_fmt", out_fmt)):
        if fmt not in BOX_FORMATS:
            raise ValueError(f"{name} must be one of {BOX_FORMATS}, got {fmt!r}")
    boxes = as_boxes(boxes)
    if in_fmt == out_fmt:
        return boxes.copy()
    first, second = boxes[:, :2], boxes[:, 2:]
    if in_fmt == "xywh":
        boxes = np.concatenate([first, first + second], axis=1)
    elif in_fmt == "cxcywh":
        half = 0.5 * second
        boxes = np.concatenate([first - half, first + half], axis=1)
    first, second = boxes[:, :2], boxes[:, 2:]
    if out_fmt == "xywh":
        return np.concatenate([first, second - first], axis=1)
    if out_fmt == "cxcywh":
        return np.concatenate([(first + second) / 2, second - first], axis=1)
    return boxes


def clip_boxes_to_image(boxes, size) -> np.ndarray:
    """Clip x to [0, width] and y to [0, height]; ``size`` is (height, width).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import detection
    >>> detection.clip_boxes_to_image(np.array([[-5.0, 2.0, 40.0, 70.0]]), (64, 32))
    array([[ 0.,  2., 32., 64.]])
    """
    height, width = size
    boxes = as_boxes(boxes).copy()
    boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, width)
    boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, height)
    return boxes


def remove_small_boxes(boxes, min_size: float) -> np.ndarray:
    """Indices (ascending) of the boxes whose width and height are both >= ``min_size``.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import detection
    >>> boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 8.0, 8.0]])
    >>> detection.remove_small_boxes(boxes, min_size=2.0)
    array([1])
    """
    boxes = as_boxes(boxes)
    widths, heights = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return np.flatnonzero((widths >= min_size) & (heights >= min_size))


def _check_scores(boxes, scores, name: str = "scores") -> np.ndarray:
    scores = np.asarray(getattr(scores, "data", scores))
    if scores.shape != (boxes.shape[0],):
        raise ValueError(f"{name} must have shape ({boxes.shape[0]},) to match boxes, "
                         f"got {scores.shape}")
    if scores.dtype.kind == "f" and np.isnan(scores).any():
        raise ValueError(f"{name} hold {int(np.isnan(scores).sum())} NaN value(s), first at "
                         f"index {int(np.argmax(np.isnan(scores)))}: NaN has no rank")
    return scores


def _check_threshold(iou_threshold) -> float:
    """An IoU threshold: a real number, not NaN (every comparison with NaN is False, so
    nothing would ever be suppressed)."""
    if isinstance(iou_threshold, (bool, np.bool_)) or not isinstance(
            iou_threshold, (int, float, np.integer, np.floating)) or np.isnan(iou_threshold):
        raise ValueError(f"iou_threshold must be a number, got {iou_threshold!r}")
    return float(iou_threshold)


def score_order(scores) -> np.ndarray:
    """Indices sorting ``scores`` in decreasing order, ties kept in index order (stable, as
    torch's CPU sort)."""
    return np.argsort(-np.asarray(scores), kind="stable")


def nms(boxes, scores, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression, as ``torchvision.ops.nms``.

    Visit the boxes by decreasing score (ties in index order); keep a box unless it has
    IoU > ``iou_threshold`` (strictly) with a box kept before it. Returns the kept indices
    (int64) in decreasing score order. The IoU matrix of the boxes is computed once; the
    loop runs once per kept box, suppressing all its overlaps in one vector operation.
    A NaN score or a NaN threshold is a ``ValueError``.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import detection
    >>> boxes = np.array([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [20.0, 20.0, 30.0, 30.0]])
    >>> scores = np.array([0.9, 0.8, 0.7])
    >>> detection.nms(boxes, scores, iou_threshold=0.5)   # the second box overlaps the first
    array([0, 2])
    """
    boxes = as_boxes(boxes)
    scores = _check_scores(boxes, scores)
    iou_threshold = _check_threshold(iou_threshold)
    order = score_order(scores)
    overlaps = box_iou(boxes[order], boxes[order]) > iou_threshold
    suppressed = np.zeros(len(order), dtype=bool)
    keep = []
    for rank in range(len(order)):
        if suppressed[rank]:
            continue
        keep.append(rank)
        suppressed |= overlaps[rank]
    return order[np.asarray(keep, dtype=np.int64)]


def nms_reference(boxes, scores, iou_threshold: float) -> np.ndarray:
    """The naive double loop of torchvision's CPU kernel (the oracle of ``nms``)."""
    boxes = as_boxes(boxes)
    order = score_order(_check_scores(boxes, scores))
    areas = box_area(boxes)
    suppressed = np.zeros(len(boxes), dtype=bool)
    keep = []
    for a, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        for j in order[a + 1:]:
            if suppressed[j]:
                continue
            width = max(0, min(boxes[i, 2], boxes[j, 2]) - max(boxes[i, 0], boxes[j, 0]))
            height = max(0, min(boxes[i, 3], boxes[j, 3]) - max(boxes[i, 1], boxes[j, 1]))
            inter = width * height
            if inter / (areas[i] + areas[j] - inter) > iou_threshold:
                suppressed[j] = True
    return np.asarray(keep, dtype=np.int64)


def batched_nms(boxes, scores, classes, iou_threshold: float) -> np.ndarray:
    """NMS within each class (``classes`` (N,) integers): boxes of different classes never
    suppress each other. Returns the kept indices in decreasing score order (ties in index
    order), as ``torchvision.ops.batched_nms``.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import detection
    >>> boxes = np.array([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [20.0, 20.0, 30.0, 30.0]])
    >>> scores = np.array([0.9, 0.8, 0.7])
    >>> classes = np.array([0, 1, 0])   # boxes of different classes never suppress each other
    >>> detection.batched_nms(boxes, scores, classes, iou_threshold=0.5)
    array([0, 1, 2])
    """
    boxes = as_boxes(boxes)
    scores = _check_scores(boxes, scores)
    classes = _check_scores(boxes, classes, "classes")
    iou_threshold = _check_threshold(iou_threshold)
    keep = np.zeros(len(boxes), dtype=bool)
    for label in np.unique(classes):
        members = np.flatnonzero(classes == label)
        keep[members[nms(boxes[members], scores[members], iou_threshold)]] = True
    kept = np.flatnonzero(keep)
    return kept[score_order(scores[kept])]
