"""The Mask R-CNN mask head (He et al. 2017): a small FCN on RoI-aligned features that
predicts one binary mask per class for each RoI, and the pasting of a RoI's mask back
into the image.

    roi_align(P4, boxes, 14x14, 1/4, aligned=True) -> 2 x (3x3 conv, ReLU)
        -> 2x2 transposed conv stride 2, ReLU -> 1x1 conv: (K, C, 28, 28) mask logits

Loss: on the positive RoIs, the mean binary cross-entropy of the true class's 28x28
logits against the ground-truth mask resampled into the RoI (roi_align of the mask at
28x28, thresholded at 0.5, as torchvision's ``project_masks_on_boxes``); the other
classes' masks get no gradient (no competition between classes).

Pasting: the mask's 28x28 probabilities cover the box; each image pixel centre inside the
box reads the probability bilinearly at its place in that grid (edges clamped), and the
pixel belongs to the object where it is >= 0.5.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn

MASK_SIZE = 28


class MaskHead(nn.Module):
    """Per-class 28x28 mask logits of RoIs on the stride-4 map (see the module)."""

    def __init__(self, channels: int, num_classes: int, width: int = 32):
        super().__init__()
        self.num_classes = num_classes
        self.layers = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(width, width, 2, stride=2), nn.ReLU(),
            nn.Conv2d(width, num_classes, 1))

    def forward(self, p4, rois):
        """Mask logits (K, C, 28, 28) of (K, 5) RoIs."""
        pooled = F.roi_align(p4, rois, MASK_SIZE // 2, spatial_scale=0.25, sampling_ratio=2,
                             aligned=True)
        return self.layers(pooled)

    def class_logits(self, p4, rois, labels):
        """The (K, 28, 28) logits of each RoI's class ``labels`` (K,)."""
        logits = self(p4, rois)
        return logits[np.arange(len(rois)), np.asarray(labels, dtype=np.int64)]

    def loss(self, p4, rois, labels, matched, gt_masks):
        """Mean BCE of the true class's masks on positive ``rois`` (K, 5) with ``labels``
        (K,), each matched to ground-truth mask ``matched`` (K,) of its image in
        ``gt_masks`` (per image (G, H, W) bool)."""
        if not len(rois):
            return self(p4, np.zeros((1, 5), np.float32)).sum() * 0.0
        targets = mask_targets(rois, matched, gt_masks)
        return F.binary_cross_entropy_with_logits(self.class_logits(p4, rois, labels), targets)

    def probabilities(self, p4, rois, labels) -> np.ndarray:
        """(K, 28, 28) sigmoid probabilities of each RoI's class."""
        if not len(rois):
            return np.zeros((0, MASK_SIZE, MASK_SIZE), np.float32)
        return F.sigmoid(self.class_logits(p4, rois, labels)).data


def mask_targets(rois, matched, gt_masks) -> np.ndarray:
    """(K, 28, 28) float targets: each RoI's matched ground-truth mask resampled into the
    RoI's box (roi_align of the mask, then >= 0.5)."""
    batch = rois[:, 0].astype(np.int64)
    stacked, offsets = [], np.cumsum([0] + [len(m) for m in gt_masks])
    for masks in gt_masks:
        stacked.append(np.asarray(masks, np.float32))
    planes = np.concatenate(stacked)[:, None]
    which = offsets[batch] + np.asarray(matched, np.int64)
    boxes = np.column_stack([which.astype(np.float32), rois[:, 1:]])
    resampled = F.roi_align(planes, boxes, MASK_SIZE, sampling_ratio=2, aligned=True).data
    return (resampled[:, 0] >= 0.5).astype(np.float32)


def paste_masks(probabilities, boxes, image_size) -> np.ndarray:
    """(K, H, W) bool masks from (K, 28, 28) probabilities over their (K, 4) boxes (see the
    module docstring)."""
    height, width = image_size
    out = np.zeros((len(boxes), height, width), bool)
    size = probabilities.shape[-1]
    for k, (mask, (x1, y1, x2, y2)) in enumerate(zip(probabilities, boxes, strict=True)):
        cols = np.arange(max(int(np.floor(x1)), 0), min(int(np.ceil(x2)), width))
        rows = np.arange(max(int(np.floor(y1)), 0), min(int(np.ceil(y2)), height))
        if not len(cols) or not len(rows):
            continue
        u = np.clip((cols + 0.5 - x1) / max(x2 - x1, 1e-6) * size - 0.5, 0, size - 1)
        v = np.clip((rows + 0.5 - y1) / max(y2 - y1, 1e-6) * size - 0.5, 0, size - 1)
        u0, v0 = np.minimum(u.astype(int), size - 2), np.minimum(v.astype(int), size - 2)
        fu, fv = u - u0, v - v0
        top = mask[v0][:, u0] * (1 - fu) + mask[v0][:, u0 + 1] * fu
        bottom = mask[v0 + 1][:, u0] * (1 - fu) + mask[v0 + 1][:, u0 + 1] * fu
        values = top * (1 - fv)[:, None] + bottom * fv[:, None]
        out[k, rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] = values >= 0.5
    return out
