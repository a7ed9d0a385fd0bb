"""Detection by classifying image windows: the sliding-window baseline and R-CNN.

Both warp each candidate window of the image to 24x24 (``roi_align`` on the image itself,
aligned=True) and run one small CNN on every crop, which gives class scores (background
and the item classes) and class-agnostic box deltas (BoxCoder((10, 10, 5, 5))):

- ``proposals="sliding"`` (the sliding-window baseline): windows of every size in
  ``SLIDING_SIZES`` and aspect ratio (0.5, 1, 2) at a stride of 6 pixels, boxes taken as
  they are (no regression);
- ``proposals="grouping"`` (R-CNN, Girshick et al. 2014): region proposals from
  :func:`grouping_proposals`, and the box regressor refines each kept window.

Detections: per class, windows with probability above ``score_thresh``, NMS at 0.3 (the
windows overlap heavily), the 100 best. Training: for each image the candidates are its
proposals plus four jittered copies of every ground-truth box; a balanced sample of 32
(a quarter positive at most; IoU >= 0.5 object, below background) gives cross-entropy
and, on positives, smooth-L1 of the deltas, both over the sample size.

NOTE: R-CNN's proposals come from selective search (hierarchical grouping of a
Felzenszwalb-Huttenlocher over-segmentation). ``grouping_proposals`` is a simpler
stand-in in NumPy with the same idea (regions grouped bottom-up, their boxes proposed):
connected components of the image thresholded at several grey levels, plus the union of
every pair of nearby components at the same level.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn
from ..autograd import no_grad
from .boxes import clip_boxes_to_image
from .coder import BoxCoder
from .losses import box_loss
from .matching import BalancedPositiveNegativeSampler, Matcher
from .nets import check_targets, conv_bn_relu, image_tensor, sample_boxes
from .single_shot import postprocess

CROP = 24
SLIDING_SIZES = (16, 24, 32)
THRESHOLDS = (60, 90, 120, 150)


def sliding_windows(image_size: int, sizes=SLIDING_SIZES, aspect_ratios=(0.5, 1.0, 2.0),
                    step: int = 6) -> np.ndarray:
    """Every window of side sqrt(area) in ``sizes`` and height / width in ``aspect_ratios``
    inside an ``image_size`` square image, at ``step`` pixels: (K, 4).

    Examples
    --------
    >>> windows = sliding_windows(64, sizes=(16,), aspect_ratios=(1.0,), step=16)
    >>> windows.shape, windows[:2]
    ((16, 4), array([[ 0.,  0., 16., 16.],
           [16.,  0., 32., 16.]], dtype=float32))
    """
    boxes = []
    for size in sizes:
        for ratio in aspect_ratios:
            w, h = round(size / np.sqrt(ratio)), round(size * np.sqrt(ratio))
            if w > image_size or h > image_size:
                continue
            y, x = np.mgrid[0:image_size - h + 1:step, 0:image_size - w + 1:step]
            x, y = x.reshape(-1), y.reshape(-1)
            boxes.append(np.stack([x, y, x + w, y + h], axis=1))
    return np.concatenate(boxes).astype(np.float32)


def connected_components(mask) -> np.ndarray:
    """4-connected components of a 2-D bool ``mask``: labels (H, W), 0 off the mask,
    1..K on it (by propagating the largest pixel index through each component)."""
    mask = np.asarray(mask, bool)
    labels = np.where(mask, np.arange(1, mask.size + 1).reshape(mask.shape), 0)
    while True:
        grown = labels.copy()
        grown[1:] = np.maximum(grown[1:], labels[:-1])
        grown[:-1] = np.maximum(grown[:-1], labels[1:])
        grown[:, 1:] = np.maximum(grown[:, 1:], labels[:, :-1])
        grown[:, :-1] = np.maximum(grown[:, :-1], labels[:, 1:])
        grown = np.where(mask, grown, 0)
        if np.array_equal(grown, labels):
            break
        labels = grown
    _, compact = np.unique(labels, return_inverse=True)
    return compact.reshape(mask.shape)


def grouping_proposals(image, thresholds=THRESHOLDS, min_area: int = 12, gap: int = 2,
                       max_proposals: int = 150) -> np.ndarray:
    """Region proposals of one (H, W) grey image (see the module): boxes (K, 4) of the
    components of image > t of at least ``min_area`` pixels for each t in ``thresholds``,
    and the union box of each pair of them lying within ``gap`` pixels of each other;
    duplicates removed, the largest ``max_proposals`` kept.

    Examples
    --------
    >>> image = np.zeros((64, 64), np.uint8)
    >>> image[20:30, 40:50] = 200
    >>> grouping_proposals(image)
    array([[40., 20., 50., 30.]], dtype=float32)
    """
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D (H, W), got shape {image.shape}")
    boxes = []
    for threshold in thresholds:
        labels = connected_components(image > threshold)
        found = []
        for k in range(1, labels.max() + 1):
            rows, cols = np.nonzero(labels == k)
            if rows.size >= min_area:
                found.append((cols.min(), rows.min(), cols.max() + 1, rows.max() + 1))
        found = np.array(found, np.float32).reshape(-1, 4)
        near = ((found[:, None, 0] <= found[None, :, 2] + gap)
                & (found[None, :, 0] <= found[:, None, 2] + gap)
                & (found[:, None, 1] <= found[None, :, 3] + gap)
                & (found[None, :, 1] <= found[:, None, 3] + gap))
        first, second = np.nonzero(np.triu(near, 1))
        unions = np.concatenate([np.minimum(found[first, :2], found[second, :2]),
                                 np.maximum(found[first, 2:], found[second, 2:])], axis=1)
        boxes.extend([found, unions])
    boxes = np.unique(np.concatenate(boxes), axis=0)
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return boxes[np.argsort(-areas, kind="stable")[:max_proposals]]


class WindowDetector(nn.Module):
    """Sliding-window (``proposals="sliding"``) or R-CNN (``"grouping"``) detector.

    Examples
    --------
    >>> from visiongrad.detection import WindowDetector
    >>> _ = vg.manual_seed(0)
    >>> images = np.zeros((2, 1, 64, 64), np.float32)
    >>> detector = WindowDetector(windows_per_image=8)
    >>> len(detector.predict(images)), sorted(detector.predict(images)[0])
    (2, ['boxes', 'labels', 'scores'])
    """

    def __init__(self, num_classes: int = 11, image_size: int = 64, proposals: str = "sliding",
                 channels=(16, 32, 64), hidden: int = 128, windows_per_image: int = 32,
                 score_thresh: float = 0.05, nms_thresh: float = 0.3, seed: int = 0):
        super().__init__()
        if proposals not in ("sliding", "grouping"):
            raise ValueError(f"proposals must be 'sliding' or 'grouping', got {proposals!r}")
        self.num_classes, self.image_size, self.proposals = num_classes, image_size, proposals
        self.score_thresh, self.nms_thresh = score_thresh, nms_thresh
        layers, previous = [], 1
        for width in channels:
            layers += [conv_bn_relu(previous, width), nn.MaxPool2d(2)]
            previous = width
        side = CROP // 2 ** len(channels)
        self.features = nn.Sequential(*layers, nn.Flatten(),
                                      nn.Linear(previous * side * side, hidden), nn.ReLU())
        self.cls_score = nn.Linear(hidden, num_classes)
        self.bbox_pred = nn.Linear(hidden, 4)
        self.coder = BoxCoder((10.0, 10.0, 5.0, 5.0))
        self.matcher = Matcher(0.5, 0.5)
        self.sampler = BalancedPositiveNegativeSampler(windows_per_image, 0.25)
        self.rng = np.random.default_rng(seed)
        self.windows = sliding_windows(image_size)

    def candidates(self, image: np.ndarray) -> np.ndarray:
        """The windows to classify in one (1, H, W) image."""
        if self.proposals == "sliding":
            return self.windows
        return grouping_proposals(np.asarray(image)[0])

    def forward(self, x, rois):
        """(class logits (K, C), deltas (K, 4)) of (K, 5) windows of scaled images x."""
        crops = F.roi_align(x, rois, CROP, sampling_ratio=2, aligned=True)
        hidden = self.features(crops)
        return self.cls_score(hidden), self.bbox_pred(hidden)

    def _check(self, images) -> np.ndarray:
        x = image_tensor(images)
        if x.shape[2:] != (self.image_size, self.image_size):
            raise ValueError(f"images must be {self.image_size}x{self.image_size}, got "
                             f"{x.shape[3]}x{x.shape[2]}")
        return x

    def jittered(self, boxes: np.ndarray) -> np.ndarray:
        """Four copies of each box, shifted and scaled by up to 15% of its size."""
        boxes = np.repeat(boxes, 4, axis=0)
        sizes = np.tile(boxes[:, 2:] - boxes[:, :2], 2)
        moved = boxes + self.rng.uniform(-0.15, 0.15, boxes.shape) * sizes
        return clip_boxes_to_image(moved, (self.image_size,) * 2).astype(np.float32)

    def loss(self, images, targets) -> tuple:
        """(CE + smooth-L1 over the sampled windows, parts)."""
        x = self._check(images)
        targets = check_targets(targets, len(images))
        candidates = [np.concatenate([self.candidates(np.asarray(images)[i]),
                                      self.jittered(target["boxes"])])
                      for i, target in enumerate(targets)]
        rois, labels, deltas, _ = sample_boxes(candidates, targets, self.matcher, self.sampler,
                                               self.coder, self.rng)
        logits, predicted = self(x, rois)
        sampled = max(len(rois), 1)
        classifier = F.cross_entropy(logits, labels, reduction="sum") / sampled
        pos = np.flatnonzero(labels > 0)
        box = box_loss(predicted[pos], deltas[pos]) / sampled
        return classifier + box, {"classifier": classifier.item(), "box": box.item()}

    def predict(self, images) -> list[dict]:
        """Per image ``boxes`` (k, 4), ``scores`` (k,), ``labels`` (k,)."""
        x = self._check(images)
        self.eval()
        out = []
        for i in range(len(x)):
            windows = self.candidates(np.asarray(images)[i]).astype(np.float32)
            if not len(windows):
                windows = np.zeros((0, 4), np.float32)
                scores = np.zeros((0, self.num_classes), np.float32)
            else:
                rois = np.column_stack([np.zeros(len(windows), np.float32), windows])
                with no_grad():
                    logits, deltas = self(x[i:i + 1], rois)
                scores = F.softmax(logits, -1).data
                if self.proposals == "grouping":
                    windows = self.coder.decode_single(deltas.data, windows)
            boxes = np.repeat(windows[:, None], self.num_classes, axis=1)
            found = postprocess(boxes, scores, (self.image_size,) * 2, self.score_thresh,
                                self.nms_thresh, 100)
            found.pop("rows")
            out.append(found)
        return out
