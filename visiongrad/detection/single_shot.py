"""An SSD-style single-shot detector: class scores and box deltas for every anchor of two
feature maps (the backbone's stride-8 map and one more stride-2 convolution's stride-16
map), each predicted by a small head of its own (``head``), with no proposal stage.

Anchors: on the stride-8 map sizes ``sizes[0]``, on the stride-16 map ``sizes[1]``, each
with ``aspect_ratios`` (height / width), centred on the cells: anchor a of cell (i, j) is
centred at ((j + 1/2) stride, (i + 1/2) stride). NOTE: unlike torchvision's
``AnchorGenerator``, whose anchors are centred on the cells' top-left corners.

Training (Liu et al. 2016): each anchor takes its best ground-truth box when their IoU is
>= 0.5 (and every box its best anchor), background below 0.4, ignored between; the loss is

    L = (sum over positives and mined negatives of CE(scores, label)
         + sum over positives of smooth-L1(deltas - encode(box, anchor))) / #positives

where the mined negatives are the ``neg_pos_ratio`` x #positives background anchors of
highest cross-entropy (hard negative mining), and encode is ``BoxCoder((10, 10, 5, 5))``.
Prediction: softmax scores, for each class the anchors above ``score_thresh`` decoded,
clipped to the image, ``batched_nms`` at ``nms_thresh``, the ``detections_per_img`` best.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn
from ..autograd import no_grad
from .anchors import cell_anchors, grid_anchors
from .boxes import batched_nms, box_iou, clip_boxes_to_image
from .coder import BoxCoder
from .losses import box_loss
from .matching import Matcher
from .nets import Backbone, check_targets, conv_bn_relu, image_tensor


def centred_anchors(sizes, aspect_ratios, grid_size, stride) -> np.ndarray:
    """Anchors of ``sizes`` x ``aspect_ratios`` centred on each cell of a ``grid_size`` grid
    of square cells of side ``stride``: (H W A, 4), cell by cell in row-major order."""
    base = cell_anchors(sizes, aspect_ratios) + stride / 2
    return grid_anchors(base, grid_size, (stride, stride))


def postprocess(boxes, scores, image_size, score_thresh: float, nms_thresh: float,
                detections_per_img: int) -> dict:
    """One image's detections from per-class boxes (R, C, 4) and scores (R, C) (class 0,
    the background, excluded): threshold, clip, per-class NMS, the best
    ``detections_per_img``, as a dict of ``boxes`` (k, 4), ``scores`` (k,), ``labels``
    (k,)."""
    rows, classes = np.nonzero(scores[:, 1:] > score_thresh)
    classes = classes + 1
    kept_boxes = clip_boxes_to_image(boxes[rows, classes].reshape(-1, 4), image_size)
    kept_scores = scores[rows, classes]
    wide = (kept_boxes[:, 2] - kept_boxes[:, 0] >= 1) & (kept_boxes[:, 3] - kept_boxes[:, 1] >= 1)
    kept_boxes, kept_scores, classes, rows = (kept_boxes[wide], kept_scores[wide],
                                              classes[wide], rows[wide])
    keep = batched_nms(kept_boxes, kept_scores, classes, nms_thresh)[:detections_per_img]
    return {"boxes": kept_boxes[keep].astype(np.float32),
            "scores": kept_scores[keep].astype(np.float32),
            "labels": classes[keep].astype(np.int64), "rows": rows[keep]}


def multibox_loss(logits, deltas, labels, box_targets, neg_pos_ratio: int = 3) -> tuple:
    """SSD's (classification, box) loss terms of the module docstring from class logits
    (N, R, C), deltas (N, R, 4), anchor labels (N, R) (0 background, -1 ignored) and box
    targets (N, R, 4); both are divided by the number of positive anchors (at least 1)."""
    num_classes = logits.shape[-1]
    flat_labels = labels.reshape(-1)
    ce = F.cross_entropy(logits.reshape(-1, num_classes), np.maximum(flat_labels, 0),
                         reduction="none")
    positive = flat_labels > 0
    num_pos = max(int(positive.sum()), 1)
    # hard negatives: per image, the background anchors of highest loss
    background = np.where(labels == 0, ce.data.reshape(labels.shape), -np.inf)
    rank = np.empty_like(labels)
    np.put_along_axis(rank, np.argsort(-background, axis=1, kind="stable"),
                      np.arange(labels.shape[1]), axis=1)
    quota = np.minimum(neg_pos_ratio * np.maximum((labels > 0).sum(1), 1), (labels == 0).sum(1))
    mined = (rank < quota[:, None]).reshape(-1)
    classifier = (ce * (positive | mined).astype(ce.dtype)).sum() / num_pos
    rows = np.flatnonzero(positive)
    box = box_loss(deltas.reshape(-1, 4)[rows], box_targets.reshape(-1, 4)[rows],
                   beta=1.0) / num_pos
    return classifier, box


def head(channels: int, outputs: int) -> nn.Sequential:
    """A prediction head: a 3x3 conv-BN-ReLU of its own (as RetinaNet's subnets, so that
    the class and box predictions need not share every feature), then a 3x3 convolution
    to ``outputs`` channels."""
    return nn.Sequential(conv_bn_relu(channels, channels),
                         nn.Conv2d(channels, outputs, 3, padding=1))


class SingleShotDetector(nn.Module):
    """SSD-style detector on ``image_size`` x ``image_size`` grey images (see the module).

    Examples
    --------
    >>> from visiongrad.detection import SingleShotDetector
    >>> _ = vg.manual_seed(0)
    >>> images = np.zeros((2, 1, 64, 64), np.float32)
    >>> detections = SingleShotDetector().predict(images)
    >>> len(detections), sorted(detections[0])
    (2, ['boxes', 'labels', 'scores'])
    """

    def __init__(self, num_classes: int = 11, image_size: int = 64,
                 channels=(16, 32, 64, 128), sizes=((12, 18), (24, 34)),
                 aspect_ratios=(0.5, 1.0, 2.0), neg_pos_ratio: int = 3,
                 score_thresh: float = 0.05, nms_thresh: float = 0.45,
                 detections_per_img: int = 100):
        super().__init__()
        if image_size % 16:
            raise ValueError(f"image_size must be a multiple of 16, got {image_size}")
        self.num_classes, self.image_size = num_classes, image_size
        self.neg_pos_ratio, self.score_thresh = neg_pos_ratio, score_thresh
        self.nms_thresh, self.detections_per_img = nms_thresh, detections_per_img
        self.backbone = Backbone(channels)
        self.extra = conv_bn_relu(channels[-1], channels[-1], stride=2)
        per_cell = [len(s) * len(aspect_ratios) for s in sizes]
        self.cls_heads = nn.ModuleList([head(channels[-1], a * num_classes) for a in per_cell])
        self.box_heads = nn.ModuleList([head(channels[-1], a * 4) for a in per_cell])
        self.anchors = np.concatenate([
            centred_anchors(s, aspect_ratios, (image_size // stride,) * 2, stride)
            for s, stride in zip(sizes, (8, 16), strict=True)]).astype(np.float32)
        self.coder = BoxCoder((10.0, 10.0, 5.0, 5.0))
        self.matcher = Matcher(0.5, 0.4, allow_low_quality_matches=True)

    def forward(self, images):
        """(class logits (N, R, C), box deltas (N, R, 4)) for the R anchors."""
        x = image_tensor(images)
        if x.shape[2:] != (self.image_size, self.image_size):
            raise ValueError(f"images must be {self.image_size}x{self.image_size}, got "
                             f"{x.shape[3]}x{x.shape[2]}")
        stride8 = self.backbone(x)[-1]
        maps = [stride8, self.extra(stride8)]
        n = x.shape[0]
        logits = F.concat([head(m).permute(0, 2, 3, 1).reshape(n, -1, self.num_classes)
                           for head, m in zip(self.cls_heads, maps, strict=True)], 1)
        deltas = F.concat([head(m).permute(0, 2, 3, 1).reshape(n, -1, 4)
                           for head, m in zip(self.box_heads, maps, strict=True)], 1)
        return logits, deltas

    def assign(self, targets) -> tuple[np.ndarray, np.ndarray]:
        """Per anchor: its label (N, R) (0 background, -1 ignored) and box targets
        (N, R, 4) (deltas of its matched box; zero where not positive)."""
        labels = np.zeros((len(targets), len(self.anchors)), np.int64)
        deltas = np.zeros((len(targets), len(self.anchors), 4), np.float32)
        for i, target in enumerate(targets):
            if not len(target["boxes"]):
                continue
            matches = self.matcher(box_iou(target["boxes"], self.anchors))
            positive = matches >= 0
            labels[i] = np.where(positive, target["labels"][np.maximum(matches, 0)], 0)
            labels[i][matches == Matcher.BETWEEN_THRESHOLDS] = -1
            deltas[i, positive] = self.coder.encode_single(
                target["boxes"][matches[positive]], self.anchors[positive])
        return labels, deltas

    def loss(self, images, targets) -> tuple:
        """(the loss of the module docstring, {"classifier": ..., "box": ...} floats)."""
        logits, deltas = self(images)
        labels, box_targets = self.assign(check_targets(targets, logits.shape[0]))
        classifier, box = multibox_loss(logits, deltas, labels, box_targets, self.neg_pos_ratio)
        return classifier + box, {"classifier": classifier.item(), "box": box.item()}

    def predict(self, images) -> list[dict]:
        """Per image a dict of ``boxes`` (k, 4), ``scores`` (k,) and ``labels`` (k,)."""
        self.eval()
        with no_grad():
            logits, deltas = self(images)
        scores = F.softmax(logits, -1).data
        out = []
        for i in range(len(scores)):
            boxes = self.coder.decode_single(deltas.data[i], self.anchors)
            boxes = np.repeat(boxes[:, None], self.num_classes, axis=1)
            found = postprocess(boxes, scores[i], (self.image_size,) * 2, self.score_thresh,
                                self.nms_thresh, self.detections_per_img)
            found.pop("rows")
            out.append(found)
        return out
