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
mask resampled into the RoI. Loss = sum of the four (five) terms. The backbone, P4 and
the RoI head with its loss and detections are ``roi_heads.TwoStageDetector``'s, shared
with Fast R-CNN (``fast_rcnn.py``), which takes external proposals instead of the RPN's.
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
from .nets import check_targets, match_labels
from .roi_heads import TwoStageDetector, rois_of
from .single_shot import centred_anchors


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


class FasterRCNN(TwoStageDetector):
    """Faster R-CNN (``masks=True``: Mask R-CNN) on ``image_size`` square grey images: the
    RPN proposes, the shared RoI head of ``roi_heads.TwoStageDetector`` classifies.

    Examples
    --------
    >>> from visiongrad.detection import FasterRCNN
    >>> _ = vg.manual_seed(0)
    >>> images = np.zeros((2, 1, 64, 64), np.float32)
    >>> detections = FasterRCNN().predict(images)
    >>> len(detections), sorted(detections[0])
    (2, ['boxes', 'labels', 'scores'])
    """

    def __init__(self, num_classes: int = 11, image_size: int = 64, channels=(16, 32, 64, 64),
                 masks: bool = False, roi_batch: int = 32, hidden: int = 128,
                 score_thresh: float = 0.05, nms_thresh: float = 0.5,
                 detections_per_img: int = 100, seed: int = 0):
        super().__init__(num_classes, image_size, channels, roi_batch, hidden, score_thresh,
                         nms_thresh, detections_per_img, seed)
        self.with_masks = masks
        self.mask_head = MaskHead(channels[-1], num_classes) if masks else None

    def build_proposer(self, width: int, seed: int) -> None:
        self.rpn = RegionProposalNetwork(width, self.image_size, seed=seed)

    def loss(self, images, targets) -> tuple:
        """(sum of the RPN, RoI head (and mask) losses, their values by name)."""
        targets = check_targets(targets, len(images), with_masks=self.with_masks)
        c8, p4 = self.features(images)
        logits, deltas = self.rpn(c8)
        rpn_objectness, rpn_box = self.rpn.loss(logits, deltas, targets)
        proposals = self.rpn.proposals(logits.data, deltas.data)
        head, (rois, labels, matched) = self.roi_loss(p4, proposals, targets)
        parts = {"rpn_objectness": rpn_objectness, "rpn_box": rpn_box, **head}
        if self.with_masks:
            pos = np.flatnonzero(labels > 0)
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
            out = self.detect(p4, self.rpn.proposals(logits.data, deltas.data))
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
