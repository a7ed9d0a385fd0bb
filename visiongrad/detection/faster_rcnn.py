"""Faster R-CNN (Ren et al. 2015) at toy scale, with an optional Mask R-CNN mask head.

    backbone -> stride-8 map C8 and stride-4 map C4; P4 = conv1x1(C4) + upsample2(C8)
    RPN on C8: 3x3 conv, then per anchor an objectness logit and box deltas; anchors of
        ``anchor_sizes`` x (0.5, 1, 2) centred on each cell
    proposals: per image the ``pre_nms_top_n`` highest objectness, decoded, clipped, small
        ones dropped, NMS at 0.7, the ``post_nms_top_n`` best (no gradient flows through)
    RoI head: roi_align(P4, proposals, 7x7, 1/4, aligned=True) -> two FC layers -> class
        scores (C) and class-specific box deltas (4C); the mask head (``mask_head.py``)
        reads roi_align(P4, boxes, 14x14) and predicts a 28x28 mask per class

Training (torchvision's recipe): the RPN's anchors are matched to ground truth by IoU
(>= 0.7 object, < 0.3 background, each box's best anchors kept), a balanced sample of
``rpn_batch`` (half positive at most) gives the binary cross-entropy and, on positives,
smooth-L1 (beta 1/9) of BoxCoder((1, 1, 1, 1)) deltas, both over the sample size. The RoI
head's proposals (with the ground-truth boxes added) are matched at IoU 0.5, a sample of
``roi_batch`` (a quarter positive at most) gives cross-entropy and the smooth-L1 of the
true class's BoxCoder((10, 10, 5, 5)) deltas over the sample size; the mask loss is the
binary cross-entropy of the true class's mask on positive RoIs against the ground-truth
mask resampled into the RoI. Loss = sum of the four (five) terms.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn
from ..autograd import no_grad
from .boxes import clip_boxes_to_image, nms, remove_small_boxes
from .coder import BoxCoder
from .losses import box_loss
from .mask_head import MaskHead, paste_masks
from .matching import BalancedPositiveNegativeSampler, Matcher
from .nets import Backbone, check_targets, image_tensor, match_labels, sample_boxes
from .single_shot import centred_anchors, postprocess


def rois_of(boxes_per_image) -> np.ndarray:
    """Per-image (L, 4) boxes -> (K, 5) rows (batch index, x1, y1, x2, y2)."""
    rows = [np.column_stack([np.full(len(b), i, np.float32), b])
            for i, b in enumerate(boxes_per_image)]
    return np.concatenate(rows).astype(np.float32) if rows else np.zeros((0, 5), np.float32)


class RegionProposalNetwork(nn.Module):
    """The RPN head and its anchors, targets, loss and proposals (see the module)."""

    def __init__(self, channels: int, image_size: int, anchor_sizes=(16, 24, 32),
                 aspect_ratios=(0.5, 1.0, 2.0), stride: int = 8, rpn_batch: int = 128,
                 pre_nms_top_n: int = 200, post_nms_top_n: int = 24, seed: int = 0):
        super().__init__()
        per_cell = len(anchor_sizes) * len(aspect_ratios)
        self.conv = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU())
        self.objectness = nn.Conv2d(channels, per_cell, 1)
        self.deltas = nn.Conv2d(channels, per_cell * 4, 1)
        self.image_size = image_size
        self.anchors = centred_anchors(anchor_sizes, aspect_ratios,
                                       (image_size // stride,) * 2, stride).astype(np.float32)
        self.coder = BoxCoder((1.0, 1.0, 1.0, 1.0))
        self.matcher = Matcher(0.7, 0.3, allow_low_quality_matches=True)
        self.sampler = BalancedPositiveNegativeSampler(rpn_batch, 0.5)
        self.pre_nms_top_n, self.post_nms_top_n = pre_nms_top_n, post_nms_top_n
        self.rng = np.random.default_rng(seed)

    def forward(self, feature):
        """(objectness logits (N, R), deltas (N, R, 4)), anchors in ``self.anchors`` order."""
        n = feature.shape[0]
        x = self.conv(feature)
        return (self.objectness(x).permute(0, 2, 3, 1).reshape(n, -1),
                self.deltas(x).permute(0, 2, 3, 1).reshape(n, -1, 4))

    def proposals(self, logits: np.ndarray, deltas: np.ndarray) -> list[np.ndarray]:
        """Per image up to ``post_nms_top_n`` boxes (see the module)."""
        out = []
        for score, delta in zip(logits, deltas, strict=True):
            top = np.argsort(-score, kind="stable")[:self.pre_nms_top_n]
            boxes = clip_boxes_to_image(self.coder.decode_single(delta[top], self.anchors[top]),
                                        (self.image_size,) * 2)
            keep = remove_small_boxes(boxes, 1.0)
            boxes, score = boxes[keep], score[top][keep]
            out.append(boxes[nms(boxes, score, 0.7)[:self.post_nms_top_n]].astype(np.float32))
        return out

    def loss(self, logits, deltas, targets):
        """Objectness BCE + smooth-L1 on positive anchors, both over the sample size."""
        rows, labels, box_targets = [], [], []
        for i, target in enumerate(targets):
            matches, _ = match_labels(self.matcher, target, self.anchors)
            state = np.where(matches >= 0, 1, np.where(matches == -1, 0, -1))
            positive, negative = self.sampler(state, self.rng)
            chosen = np.flatnonzero(positive | negative)
            rows.append(i * len(self.anchors) + chosen)
            labels.append(positive[chosen].astype(np.float32))
            targets_i = np.zeros((len(chosen), 4), np.float32)
            pos = positive[chosen]
            if pos.any():
                targets_i[pos] = self.coder.encode_single(
                    target["boxes"][matches[chosen[pos]]], self.anchors[chosen[pos]])
            box_targets.append(targets_i)
        rows, labels = np.concatenate(rows), np.concatenate(labels)
        box_targets = np.concatenate(box_targets)
        sampled = max(len(rows), 1)
        objectness = F.binary_cross_entropy_with_logits(logits.reshape(-1)[rows], labels,
                                                        reduction="sum") / sampled
        pos = np.flatnonzero(labels > 0)
        box = box_loss(deltas.reshape(-1, 4)[rows[pos]], box_targets[pos]) / sampled
        return objectness, box


class FasterRCNN(nn.Module):
    """Faster R-CNN (``masks=True``: Mask R-CNN) on ``image_size`` square grey images."""

    def __init__(self, num_classes: int = 11, image_size: int = 64, channels=(16, 32, 64, 64),
                 masks: bool = False, roi_batch: int = 32, hidden: int = 128,
                 score_thresh: float = 0.05, nms_thresh: float = 0.5,
                 detections_per_img: int = 100, seed: int = 0):
        super().__init__()
        if image_size % 8:
            raise ValueError(f"image_size must be a multiple of 8, got {image_size}")
        self.num_classes, self.image_size, self.with_masks = num_classes, image_size, masks
        self.score_thresh, self.nms_thresh = score_thresh, nms_thresh
        self.detections_per_img = detections_per_img
        width = channels[-1]
        self.backbone = Backbone(channels)
        self.lateral = nn.Conv2d(channels[-2], width, 1)
        self.rpn = RegionProposalNetwork(width, image_size, seed=seed)
        self.box_head = nn.Sequential(nn.Flatten(), nn.Linear(width * 49, hidden), nn.ReLU(),
                                      nn.Linear(hidden, hidden), nn.ReLU())
        self.cls_score = nn.Linear(hidden, num_classes)
        self.bbox_pred = nn.Linear(hidden, num_classes * 4)
        self.mask_head = MaskHead(width, num_classes) if masks else None
        self.coder = BoxCoder((10.0, 10.0, 5.0, 5.0))
        self.matcher = Matcher(0.5, 0.5)
        self.sampler = BalancedPositiveNegativeSampler(roi_batch, 0.25)
        self.rng = np.random.default_rng(seed + 1)

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

    def loss(self, images, targets) -> tuple:
        """(sum of the RPN, RoI head (and mask) losses, their values by name)."""
        targets = check_targets(targets, len(images), with_masks=self.with_masks)
        c8, p4 = self.features(images)
        logits, deltas = self.rpn(c8)
        rpn_objectness, rpn_box = self.rpn.loss(logits, deltas, targets)
        proposals = self.rpn.proposals(logits.data, deltas.data)
        with_truth = [np.concatenate([boxes, target["boxes"]])
                      for boxes, target in zip(proposals, targets, strict=True)]
        rois, labels, box_targets, matched = sample_boxes(
            with_truth, targets, self.matcher, self.sampler, self.coder, self.rng)
        class_logits, box_deltas = self.roi_heads(p4, rois)
        sampled = max(len(rois), 1)
        classifier = F.cross_entropy(class_logits, labels, reduction="sum") / sampled
        pos = np.flatnonzero(labels > 0)
        columns = 4 * labels[pos, None] + np.arange(4)
        box = box_loss(box_deltas[pos[:, None], columns], box_targets[pos]) / sampled
        parts = {"rpn_objectness": rpn_objectness, "rpn_box": rpn_box,
                 "classifier": classifier, "box": box}
        if self.with_masks:
            gt_masks = [t["masks"] for t in targets]
            parts["mask"] = self.mask_head.loss(p4, rois[pos], labels[pos], matched[pos],
                                                gt_masks)
        total = sum(parts.values())
        return total, {name: value.item() for name, value in parts.items()}

    def predict(self, images) -> list[dict]:
        """Per image ``boxes`` (k, 4), ``scores``, ``labels`` (and ``masks`` (k, H, W))."""
        self.eval()
        with no_grad():
            c8, p4 = self.features(images)
            logits, deltas = self.rpn(c8)
            proposals = self.rpn.proposals(logits.data, deltas.data)
            rois = rois_of(proposals)
            if not len(rois):
                class_logits = box_deltas = None
            else:
                class_logits, box_deltas = self.roi_heads(p4, rois)
                scores = F.softmax(class_logits, -1).data
                boxes = self.coder.decode_single(box_deltas.data, rois[:, 1:])
            out, start = [], 0
            for boxes_i in proposals:
                stop = start + len(boxes_i)
                if stop == start:
                    found = postprocess(np.zeros((0, self.num_classes, 4)),
                                        np.zeros((0, self.num_classes)), (self.image_size,) * 2,
                                        self.score_thresh, self.nms_thresh,
                                        self.detections_per_img)
                else:
                    found = postprocess(boxes[start:stop].reshape(-1, self.num_classes, 4),
                                        scores[start:stop], (self.image_size,) * 2,
                                        self.score_thresh, self.nms_thresh,
                                        self.detections_per_img)
                found.pop("rows")
                out.append(found)
                start = stop
            if self.with_masks:
                detected = rois_of([found["boxes"] for found in out])
                labels = np.concatenate([found["labels"] for found in out])
                probabilities = self.mask_head.probabilities(p4, detected, labels)
                start = 0
                for found in out:
                    stop = start + len(found["boxes"])
                    found["masks"] = paste_masks(probabilities[start:stop], found["boxes"],
                                                 (self.image_size,) * 2)
                    start = stop
        return out
