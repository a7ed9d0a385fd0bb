"""Object detection and segmentation: boxes, anchors, box coding, matching (torchvision's
names and meanings; boxes are (x1, y1, x2, y2) rows), evaluation (COCO, VOC, mIoU), COCO
RLE masks, composed scenes and readers for VOC XML and COCO JSON; the models (localiser,
sliding window, R-CNN, Fast/Faster/Mask R-CNN, SSD-style and YOLO-style detectors, FCN).
Training and scoring them is :mod:`visiongrad.recipes.detect` (and ``recipes.segment``)."""

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
from .fast_rcnn import FastRCNN
from .faster_rcnn import FasterRCNN
from .fcn import FCN
from .localize import Localizer
from .matching import BalancedPositiveNegativeSampler, Matcher
from .readers import CocoDataset, read_voc_xml
from .scenes import CLASSES, DetectionScenes, compose_detection_scenes
from .single_shot import SingleShotDetector
from .windows import WindowDetector, grouping_proposals, sliding_windows
from .yolo import YOLODetector

__all__ = ["AnchorGenerator", "cell_anchors", "grid_anchors", "batched_nms", "box_area",
           "box_convert", "box_iou", "clip_boxes_to_image", "nms", "remove_small_boxes",
           "BoxCoder", "BalancedPositiveNegativeSampler", "Matcher", "confusion_matrix",
           "evaluate_coco", "segmentation_metrics", "voc_ap", "voc_eval_class", "CocoDataset",
           "read_voc_xml", "CLASSES", "DetectionScenes", "compose_detection_scenes",
           "FastRCNN", "FasterRCNN", "FCN", "Localizer", "SingleShotDetector", "WindowDetector",
           "grouping_proposals", "sliding_windows", "YOLODetector"]
