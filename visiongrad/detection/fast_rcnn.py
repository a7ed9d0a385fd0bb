"""Fast R-CNN (Girshick 2015) at toy scale: R-CNN's external proposals, one shared
feature map per image.

    proposals: grouping_proposals(image) per image (``windows.py``, the NumPy stand-in for
        selective search; no gradient), the ground-truth boxes added while training
    backbone -> C8, C4; P4 = conv1x1(C4) + upsample2(C8)   (one pass for the whole batch)
    RoI head: roi_align(P4, proposals, 7x7, 1/4, aligned=True) -> FC, ReLU, FC, ReLU ->
        class logits s (K, C) and class-specific box deltas t (K, 4C)

Loss, over a sample of ``roi_batch`` RoIs per image (a quarter positive at most; IoU >= 0.5
with a ground-truth box: its class u, else background u = 0), S RoIs in all:

    L = sum_i CE(s_i, u_i) / S + sum_{i: u_i > 0} smoothL1(t_i^{u_i} - v_i) / S
    v_i = BoxCoder((10, 10, 5, 5)).encode(matched box, RoI)

Detections: softmax scores, each class's deltas decoded on its proposal, score > 0.05,
per-class NMS at 0.5, the 100 best. The backbone, P4, head, loss and detections are
``roi_heads.TwoStageDetector``'s, the same code as Faster R-CNN's RoI head: the two
detectors differ only in where the proposals come from.

NOTE: unlike the paper, whose RoI head max-pools (``F.roi_pool``), the features are RoI
aligned, as in Faster R-CNN here: RoI max pooling rounds the RoI's corners to the stride-4
grid and takes whole cells per bin (a quarter of a 16-pixel item per cell), which RoI
align's bilinear samples avoid; it also scored lower and trained slower in a short
comparison (``ops/roi.py``'s max pooling gathers padded windows), and with the same head
the gap between this detector and Faster R-CNN is the proposals' alone.

The proposals are computed per image on the CPU: they dominate the time per image at
test time, as selective search did in the paper. While training, each image's proposals
are kept (keyed by its pixels, at most ``cache_size`` images, oldest dropped first), so
training scenes seen again in a later epoch do not pay for them twice.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..autograd import Tensor, no_grad
from .nets import check_targets
from .roi_heads import TwoStageDetector
from .windows import grouping_proposals


class FastRCNN(TwoStageDetector):
    """Fast R-CNN on ``image_size`` square grey images (see the module).

    Examples
    --------
    >>> from visiongrad.detection import FastRCNN
    >>> _ = vg.manual_seed(0)
    >>> images = np.zeros((2, 1, 64, 64), np.float32)
    >>> detections = FastRCNN().predict(images)
    >>> len(detections), sorted(detections[0])
    (2, ['boxes', 'labels', 'scores'])
    """

    def __init__(self, num_classes: int = 11, image_size: int = 64, channels=(16, 32, 64, 64),
                 roi_batch: int = 32, hidden: int = 128, score_thresh: float = 0.05,
                 nms_thresh: float = 0.5, detections_per_img: int = 100,
                 cache_size: int = 20000, seed: int = 0):
        super().__init__(num_classes, image_size, channels, roi_batch, hidden, score_thresh,
                         nms_thresh, detections_per_img, seed)
        if int(cache_size) != cache_size or cache_size < 0:
            raise ValueError(f"cache_size must be an integer >= 0, got {cache_size}")
        self.cache_size = cache_size
        self.cached_proposals: dict[bytes, np.ndarray] = {}

    def proposals(self, images) -> list[np.ndarray]:
        """``grouping_proposals`` of each (1, H, W) image of ``images`` (grey levels 0..255),
        per image (L, 4) float32; kept per image in training mode (see the module)."""
        images = np.asarray(images.data if isinstance(images, Tensor) else images)
        out = []
        for image in images:
            if not self.training or not self.cache_size:
                out.append(grouping_proposals(image[0]).astype(np.float32))
                continue
            key = hashlib.blake2b(f"{image.dtype.str}{image.shape}".encode()
                                  + np.ascontiguousarray(image).tobytes(),
                                  digest_size=16).digest()
            if key not in self.cached_proposals:
                if len(self.cached_proposals) >= self.cache_size:
                    self.cached_proposals.pop(next(iter(self.cached_proposals)))
                self.cached_proposals[key] = grouping_proposals(image[0]).astype(np.float32)
            out.append(self.cached_proposals[key])
        return out

    def loss(self, images, targets) -> tuple:
        """(L_cls + L_box over the sampled proposals and ground-truth boxes, parts)."""
        targets = check_targets(targets, len(images))
        _, p4 = self.features(images)
        parts, _ = self.roi_loss(p4, self.proposals(images), targets)
        return sum(parts.values()), {name: value.item() for name, value in parts.items()}

    def predict(self, images) -> list[dict]:
        """Per image ``boxes`` (k, 4), ``scores`` (k,), ``labels`` (k,)."""
        self.eval()
        with no_grad():
            _, p4 = self.features(images)
            return self.detect(p4, self.proposals(images))
