"""Object detection and segmentation: boxes, anchors, box coding, matching (torchvision's
names and meanings; boxes are (x1, y1, x2, y2) rows)."""

from .anchors import AnchorGenerator, cell_anchors, grid_anchors
from .boxes import (
    batched_nms,
    box_area,
    box_convert,
    box_iou,
    clip_boxes_to_image,
    nms,
    remove_small_boxes,
)
from .coder import BoxCoder
from .matching import BalancedPositiveNegativeSampler, Matcher

__all__ = ["AnchorGenerator", "cell_anchors", "grid_anchors", "batched_nms", "box_area",
           "box_convert", "box_iou", "clip_boxes_to_image", "nms", "remove_small_boxes",
           "BoxCoder", "BalancedPositiveNegativeSampler", "Matcher"]
