"""Box encoding as Faster R-CNN's regression targets (torchvision's ``BoxCoder``).

A box (x1, y1, x2, y2) has width w = x2 - x1, height h = y2 - y1 and centre
cx = x1 + w / 2, cy = y1 + h / 2. Relative to a reference (anchor or proposal) box a:

    encode: dx = wx (cx - cx_a) / w_a,  dy = wy (cy - cy_a) / h_a,
            dw = ww log(w / w_a),       dh = wh log(h / h_a)
    decode: cx = dx / wx w_a + cx_a,    w = exp(min(dw / ww, clip)) w_a  (same in y),
            box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)

with weights (wx, wy, ww, wh) (torchvision's RPN uses (1, 1, 1, 1), its RoI head
(10, 10, 5, 5)) and clip = log(1000 / 16), which keeps exp() from overflowing.
"""

from __future__ import annotations

import math

import numpy as np

from .boxes import as_boxes

DEFAULT_XFORM_CLIP = math.log(1000.0 / 16)


def _centres(boxes):
    widths, heights = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return boxes[:, 0] + 0.5 * widths, boxes[:, 1] + 0.5 * heights, widths, heights


class BoxCoder:
    """Encode boxes as deltas relative to reference boxes, and decode them back.

    Examples
    --------
    >>> from visiongrad.detection import BoxCoder
    >>> coder = BoxCoder()
    >>> anchors = np.array([[0.0, 0.0, 10.0, 10.0]], np.float32)
    >>> boxes = np.array([[2.0, 2.0, 12.0, 14.0]], np.float32)
    >>> deltas = coder.encode_single(boxes, anchors)
    >>> deltas.round(3)
    array([[0.2  , 0.3  , 0.   , 0.182]], dtype=float32)
    >>> coder.decode_single(deltas, anchors).round(3)
    array([[ 2.,  2., 12., 14.]], dtype=float32)
    """

    def __init__(self, weights=(1.0, 1.0, 1.0, 1.0), bbox_xform_clip=DEFAULT_XFORM_CLIP):
        weights = tuple(float(w) for w in weights)
        if len(weights) != 4 or min(weights) <= 0:
            raise ValueError(f"weights must be four positive numbers, got {weights}")
        self.weights, self.bbox_xform_clip = weights, bbox_xform_clip

    def encode_single(self, reference_boxes, proposals) -> np.ndarray:
        """Deltas (N, 4) that take ``proposals`` (N, 4) to ``reference_boxes`` (N, 4) (the
        ground truth), in torchvision's argument order."""
        reference_boxes = as_boxes(reference_boxes, "reference_boxes")
        proposals = as_boxes(proposals, "proposals").astype(reference_boxes.dtype)
        if len(reference_boxes) != len(proposals):
            raise ValueError(f"reference_boxes ({len(reference_boxes)}) and proposals "
                             f"({len(proposals)}) must have the same length")
        wx, wy, ww, wh = np.asarray(self.weights, dtype=reference_boxes.dtype)
        ex_x, ex_y, ex_w, ex_h = _centres(proposals)
        gt_x, gt_y, gt_w, gt_h = _centres(reference_boxes)
        return np.stack([wx * (gt_x - ex_x) / ex_w, wy * (gt_y - ex_y) / ex_h,
                         ww * np.log(gt_w / ex_w), wh * np.log(gt_h / ex_h)], axis=1)

    def decode_single(self, rel_codes, boxes) -> np.ndarray:
        """Boxes (N, 4k) from deltas ``rel_codes`` (N, 4k) applied to ``boxes`` (N, 4)
        (k sets of deltas per box, e.g. one per class)."""
        rel_codes = np.asarray(getattr(rel_codes, "data", rel_codes))
        if rel_codes.ndim != 2 or rel_codes.shape[1] % 4:
            raise ValueError(f"rel_codes must have shape (N, 4k), got {rel_codes.shape}")
        boxes = as_boxes(boxes).astype(rel_codes.dtype)
        if len(boxes) != len(rel_codes):
            raise ValueError(f"rel_codes ({len(rel_codes)}) and boxes ({len(boxes)}) must "
                             "have the same length")
        ctr_x, ctr_y, widths, heights = (v[:, None] for v in _centres(boxes))
        wx, wy, ww, wh = self.weights
        dx, dy = rel_codes[:, 0::4] / wx, rel_codes[:, 1::4] / wy
        dw = np.minimum(rel_codes[:, 2::4] / ww, self.bbox_xform_clip)
        dh = np.minimum(rel_codes[:, 3::4] / wh, self.bbox_xform_clip)
        pred_x, pred_y = dx * widths + ctr_x, dy * heights + ctr_y
        half_w, half_h = 0.5 * (np.exp(dw) * widths), 0.5 * (np.exp(dh) * heights)
        out = np.stack([pred_x - half_w, pred_y - half_h, pred_x + half_w, pred_y + half_h],
                       axis=2)
        return out.reshape(len(rel_codes), -1).astype(rel_codes.dtype, copy=False)
