"""What Fast and Faster R-CNN share (torchvision's ``RoIHeads``): one backbone pass per
batch gives every image's stride-4 map P4, and each proposal's features are pooled from
that shared map, not recomputed per window as in R-CNN.

    backbone -> stride-8 map C8 and stride-4 map C4; P4 = conv1x1(C4) + upsample2(C8)
    RoI head: roi_align(P4, rois, 7x7, 1/4, aligned=True) -> FC, ReLU, FC, ReLU -> class
        logits s (K, C) and class-specific deltas t (K, 4C)

Training: each image's candidates (its proposals and ground-truth boxes) are matched at
IoU 0.5 (u = the matched box's class, 0 below), a sample of ``roi_batch`` per image (a
quarter positive at most) gives, over the S sampled RoIs,

    L_cls = sum_i CE(s_i, u_i) / S,   L_box = sum_{i: u_i > 0} smoothL1(t_i^{u_i} - v_i) / S

with v_i = BoxCoder((10, 10, 5, 5)).encode(matched box, RoI) and t^u the true class's
four deltas. Detections: softmax scores, every class's deltas decoded on its RoI, then per
image: score > ``score_thresh``, clipped, per-class NMS at ``nms_thresh``, the
``detections_per_img`` best (``single_shot.postprocess``).
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn
from .coder import BoxCoder
from .losses import box_loss
from .matching import BalancedPositiveNegativeSampler, Matcher
from .nets import Backbone, image_tensor, sample_boxes
from .single_shot import postprocess


def rois_of(boxes_per_image) -> np.ndarray:
    """Per-image (L, 4) boxes -> (K, 5) rows (batch index, x1, y1, x2, y2)."""
    rows = [np.column_stack([np.full(len(b), i, np.float32), b])
            for i, b in enumerate(boxes_per_image)]
    return np.concatenate(rows).astype(np.float32) if rows else np.zeros((0, 5), np.float32)


class TwoStageDetector(nn.Module):
    """Backbone, P4 and the RoI head of the module docstring; subclasses choose where the
    proposals come from (``build_proposer`` adds their modules between the backbone and
    the RoI head, so the parameters are created, and drawn, in the order of the net)."""

    def __init__(self, num_classes: int, image_size: int, channels, roi_batch: int,
                 hidden: int, score_thresh: float, nms_thresh: float,
                 detections_per_img: int, seed: int):
        super().__init__()
        if image_size % 8:
            raise ValueError(f"image_size must be a multiple of 8, got {image_size}")
        self.num_classes, self.image_size = num_classes, image_size
        self.score_thresh, self.nms_thresh = score_thresh, nms_thresh
        self.detections_per_img = detections_per_img
        width = channels[-1]
        self.backbone = Backbone(channels)
        self.lateral = nn.Conv2d(channels[-2], width, 1)
        self.build_proposer(width, seed)
        self.box_head = nn.Sequential(nn.Flatten(), nn.Linear(width * 49, hidden), nn.ReLU(),
                                      nn.Linear(hidden, hidden), nn.ReLU())
        self.cls_score = nn.Linear(hidden, num_classes)
        self.bbox_pred = nn.Linear(hidden, num_classes * 4)
        self.coder = BoxCoder((10.0, 10.0, 5.0, 5.0))
        self.matcher = Matcher(0.5, 0.5)
        self.sampler = BalancedPositiveNegativeSampler(roi_batch, 0.25)
        self.rng = np.random.default_rng(seed + 1)

    def build_proposer(self, width: int, seed: int) -> None:
        """The proposal modules on ``width``-channel maps (none: proposals from outside)."""

    def features(self, images):
        """(stride-8 map C8, stride-4 map P4) of the images."""
        x = image_tensor(images)
        if x.shape[2:] != (self.image_size, self.image_size):
            raise ValueError(f"images must be {self.image_size}x{self.image_size}, got "
                             f"{x.shape[3]}x{x.shape[2]}")
        maps = self.backbone(x)
        return maps[-1], self.lateral(maps[-2]) + F.upsample_nearest(maps[-1], 2)

    def roi_heads(self, p4, rois):
        """(class logits (K, C), deltas (K, 4C)) of (K, 5) RoIs."""
        pooled = F.roi_align(p4, rois, 7, spatial_scale=0.25, sampling_ratio=2, aligned=True)
        hidden = self.box_head(pooled)
        return self.cls_score(hidden), self.bbox_pred(hidden)

    def roi_loss(self, p4, proposals, targets) -> tuple[dict, tuple]:
        """({"classifier": L_cls, "box": L_box}, the sample (rois, labels, matched ground
        truth)) of a balanced sample of each image's candidates: its ``proposals`` (per
        image (P, 4)) and its ground-truth boxes."""
        candidates = [np.concatenate([boxes, target["boxes"]])
                      for boxes, target in zip(proposals, targets, strict=True)]
        rois, labels, box_targets, matched = sample_boxes(
            candidates, targets, self.matcher, self.sampler, self.coder, self.rng)
        class_logits, box_deltas = self.roi_heads(p4, rois)
        sampled = max(len(rois), 1)
        classifier = F.cross_entropy(class_logits, labels, reduction="sum") / sampled
        pos = np.flatnonzero(labels > 0)
        columns = 4 * labels[pos, None] + np.arange(4)
        box = box_loss(box_deltas[pos[:, None], columns], box_targets[pos]) / sampled
        return {"classifier": classifier, "box": box}, (rois, labels, matched)

    def detect(self, p4, proposals) -> list[dict]:
        """Per image ``boxes`` (k, 4), ``scores`` (k,), ``labels`` (k,) from its proposals
        (per image (L, 4)), all images' RoIs through the head at once (no gradient)."""
        rois = rois_of(proposals)
        boxes = np.zeros((0, self.num_classes * 4), np.float32)
        scores = np.zeros((0, self.num_classes), np.float32)
        if len(rois):
            class_logits, box_deltas = self.roi_heads(p4, rois)
            scores = F.softmax(class_logits, -1).data
            boxes = self.coder.decode_single(box_deltas.data, rois[:, 1:])
        out, start = [], 0
        for boxes_i in proposals:
            stop = start + len(boxes_i)
            found = postprocess(boxes[start:stop].reshape(-1, self.num_classes, 4),
                                scores[start:stop], (self.image_size,) * 2, self.score_thresh,
                                self.nms_thresh, self.detections_per_img)
            found.pop("rows")
            out.append(found)
            start = stop
        return out
