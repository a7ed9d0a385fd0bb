"""Building blocks shared by the detectors and the segmenter: a small convolutional
backbone, the image scaling every model applies, and the checks of targets.

Every model of ``visiongrad.detection`` takes images as (N, 1, H, W) arrays of grey levels
(uint8 0..255, or floats on that scale, as ``compose_detection_scenes`` makes them) and
scales them to x = pixel / 255 - 0.5 before its first convolution.
"""

from __future__ import annotations

import numpy as np

from .. import nn
from ..autograd import Tensor
from .boxes import as_boxes, box_iou
from .matching import Matcher


def image_tensor(images, name: str = "images") -> np.ndarray:
    """(N, 1, H, W) grey images (0..255) -> float32 pixel / 255 - 0.5; checks the shape."""
    array = np.asarray(images.data if isinstance(images, Tensor) else images)
    if array.ndim != 4 or array.shape[1] != 1:
        raise ValueError(f"{name} must have shape (N, 1, H, W), got {array.shape}")
    if array.dtype.kind not in "uif":
        raise TypeError(f"{name} must hold numbers, got dtype {array.dtype}")
    return array.astype(np.float32) / 255 - 0.5


def check_targets(targets, count: int, with_masks: bool = False) -> list[dict]:
    """Each target as a dict of ``boxes`` (k, 4) float32 (finite, of positive width and
    height) and ``labels`` (k,) int64 in 1..num_classes (and ``masks`` (k, H, W) bool when
    asked); one per image."""
    if len(targets) != count:
        raise ValueError(f"targets must hold one entry per image ({count}), got {len(targets)}")
    checked = []
    for n, target in enumerate(targets):
        boxes = as_boxes(target["boxes"], "targets' boxes").astype(np.float32).reshape(-1, 4)
        bad = ~np.isfinite(boxes).all(axis=1) | (boxes[:, 2] <= boxes[:, 0]) \
            | (boxes[:, 3] <= boxes[:, 1])
        if bad.any():  # they would make the box targets NaN or infinite, and the loss with them
            raise ValueError(f"target {n}'s box {boxes[bad][0].tolist()} must be finite with "
                             "x2 > x1 and y2 > y1")
        labels = np.asarray(target["labels"], dtype=np.int64).reshape(-1)
        if len(labels) != len(boxes):
            raise ValueError(f"a target has {len(boxes)} boxes but {len(labels)} labels")
        if labels.size and labels.min() < 1:
            raise ValueError("targets' labels must be >= 1 (0 is the background)")
        entry = {"boxes": boxes, "labels": labels}
        if with_masks:
            entry["masks"] = np.asarray(target["masks"], dtype=bool)
        checked.append(entry)
    return checked


def match_labels(matcher: Matcher, target: dict, boxes: np.ndarray):
    """(matches, labels) of ``boxes`` (P, 4) against one image's target: the matched
    ground-truth index or the Matcher's negative codes, and its label (0 unmatched); with
    no ground truth every box is background."""
    if not len(target["boxes"]):
        return (np.full(len(boxes), Matcher.BELOW_LOW_THRESHOLD),
                np.zeros(len(boxes), np.int64))
    matches = matcher(box_iou(target["boxes"], boxes))
    return matches, np.where(matches >= 0, target["labels"][np.maximum(matches, 0)], 0)


def sample_boxes(candidates, targets, matcher, sampler, coder, rng):
    """A balanced sample of each image's ``candidates`` (per image (P, 4)) for a box
    classifier with regression (Fast R-CNN's RoI head, R-CNN's windows): RoIs (K, 5) (batch
    index, box), labels (K,), delta targets (K, 4) of the matched box (zero for
    background) and the matched ground-truth index (K,) (-1 for background)."""
    rois, labels, deltas, matched = [], [], [], []
    for i, (boxes, target) in enumerate(zip(candidates, targets, strict=True)):
        matches, label = match_labels(matcher, target, boxes)
        positive, negative = sampler(label, rng)
        chosen = np.flatnonzero(positive | negative)
        rois.append(np.column_stack([np.full(len(chosen), i, np.float32), boxes[chosen]]))
        labels.append(label[chosen])
        delta = np.zeros((len(chosen), 4), np.float32)
        pos = label[chosen] > 0
        if pos.any():
            delta[pos] = coder.encode_single(target["boxes"][matches[chosen[pos]]],
                                             boxes[chosen[pos]])
        deltas.append(delta)
        matched.append(np.where(pos, matches[chosen], -1))
    return (np.concatenate(rois).astype(np.float32), np.concatenate(labels),
            np.concatenate(deltas), np.concatenate(matched))


def conv_bn_relu(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """3x3 convolution (padding 1), batch norm, ReLU."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1,
                                   bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU())


class Backbone(nn.Module):
    """Stages of conv-BN-ReLU blocks (one at full resolution, then two per stage, each of
    these after 2x2 max pooling halves the resolution): stage s has stride 2^s and
    ``channels[s]`` channels; ``forward`` returns every stage's map (the detectors take the
    deepest one or two, the FCN all of them)."""

    def __init__(self, channels=(16, 32, 64, 64), in_channels: int = 1):
        super().__init__()
        if not channels or min(channels) < 1:
            raise ValueError(f"channels must be positive numbers, got {channels}")
        self.channels = tuple(int(c) for c in channels)
        stages, previous = [], in_channels
        for s, width in enumerate(self.channels):
            layers = [conv_bn_relu(previous, width)]
            if s:  # full resolution gets one convolution, every later stage two
                layers = [nn.MaxPool2d(2), *layers, conv_bn_relu(width, width)]
            stages.append(nn.Sequential(*layers))
            previous = width
        self.stages = nn.ModuleList(stages)

    def forward(self, x) -> list:
        maps = []
        for stage in self.stages:
            x = stage(x)
            maps.append(x)
        return maps
