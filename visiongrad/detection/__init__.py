"""Object detection and segmentation: boxes, anchors, box coding, matching (torchvision's
names and meanings; boxes are (x1, y1, x2, y2) rows), evaluation (COCO, VOC, mIoU), COCO
RLE masks, composed scenes and readers for VOC XML and COCO JSON."""

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
from .evaluate import confusion_matrix, evaluate_coco, segmentation_metrics, voc_ap, voc_eval_class
from .matching import BalancedPositiveNegativeSampler, Matcher
from .readers import CocoDataset, read_voc_xml
from .scenes import CLASSES, DetectionScenes, compose_detection_scenes

__all__ = ["AnchorGenerator", "cell_anchors", "grid_anchors", "batched_nms", "box_area",
           "box_convert", "box_iou", "clip_boxes_to_image", "nms", "remove_small_boxes",
           "BoxCoder", "BalancedPositiveNegativeSampler", "Matcher", "confusion_matrix",
           "evaluate_coco", "segmentation_metrics", "voc_ap", "voc_eval_class", "CocoDataset",
           "read_voc_xml", "CLASSES", "DetectionScenes", "compose_detection_scenes"]
