"""A YOLO-v1-style single-shot detector (Redmon et al. 2016): the image is cut into an
S x S grid, and every cell predicts B boxes with a confidence each and one class
distribution, in one pass, with neither anchors nor proposals.

Forward: the ``Backbone``'s deepest map (stride 8: S = 8 on a 64x64 scene, cells of 8
pixels, half the smallest item's side; a stride-16 grid would lose several times as many
items to a larger one whose centre shares their cell), a 3x3 conv-BN-ReLU, a 1x1
convolution to B * 5 + K channels (K = num_classes - 1 item classes; YOLO has no
background class, the confidence says whether there is an object). For predictor b of
cell (i, j) (row i, column j) of a grid of stride s on an image of side L:

    (x, y, r, q, conf) = sigmoid(t_b)                   p(c) = softmax_c(t_class)
    box = centre ((j + x) s, (i + y) s), width r^2 L, height q^2 L

so x, y are offsets in the cell and r, q the square roots of the box's sides relative to
the image, as the loss compares them. NOTE: unlike YOLO v1, whose last layer is linear,
the five numbers go through a sigmoid (each lies in (0, 1) by definition), and the class
scores through a softmax (p is a distribution). NOTE: unlike YOLO v1, whose last two layers
are fully connected, the head is convolutional (as from YOLO v2 on): a cell sees 82 pixels
around it, which covers any item whose centre lies in it.

Targets: the cell containing a ground-truth box's centre is responsible for it, and of its
B predictors the one whose predicted box has the highest IoU with it (1^obj_ij); every
other predictor is "no object" (1^noobj_ij). A cell holds one object: when several
centres fall in one cell the largest box is its target and the others are not learnt
(YOLO v1's limit on crowded small objects). Targets: x^ = cx / s - j, y^ = cy / s - i,
r^ = sqrt(w / L), q^ = sqrt(h / L), conf^ = IoU(predicted box, its ground truth) (held
constant), 0 for no-object predictors, p^ = one-hot of the object's class.

Loss (the paper's sum-squared error over the batch, divided by the batch size N):

    L = 1/N [ l_coord sum 1^obj_ij ((x - x^)^2 + (y - y^)^2 + (r - r^)^2 + (q - q^)^2)
              + sum 1^obj_ij (conf - conf^)^2 + l_noobj sum 1^noobj_ij conf^2
              + sum over cells with an object, sum_c (p(c) - p^(c))^2 ]

with l_coord = 5, l_noobj = 0.5. Prediction: score = conf x p(c) for every predictor and
class, then ``postprocess`` (score threshold, clipping, per-class NMS, the best
``detections_per_img``), as the SSD.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import functional as F
from .. import nn
from ..autograd import no_grad
from .nets import Backbone, check_targets, conv_bn_relu, image_tensor
from .single_shot import postprocess


def paired_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes a[..., :] and b[..., :] pair by pair (broadcast): (..., 4) -> (...)."""
    sides = np.clip(np.minimum(a[..., 2:], b[..., 2:]) - np.maximum(a[..., :2], b[..., :2]),
                    0, None)
    inter = sides.prod(-1)
    union = (a[..., 2:] - a[..., :2]).prod(-1) + (b[..., 2:] - b[..., :2]).prod(-1) - inter
    return inter / np.maximum(union, 1e-12)


@dataclass
class YOLOTargets:
    """What :meth:`YOLODetector.assign` gives the loss, for N images of S x S cells of B
    predictors and K classes: ``responsible`` (N, S, S, B) 1^obj as 0/1, ``coords`` (N, S,
    S, B, 4) (x^, y^, r^, q^), ``confidence`` (N, S, S, B) conf^, ``occupied`` (N, S, S)
    0/1 and ``classes`` (N, S, S, K) one-hot p^ (zeros where empty)."""

    responsible: np.ndarray
    coords: np.ndarray
    confidence: np.ndarray
    occupied: np.ndarray
    classes: np.ndarray


def yolo_loss(outputs, classes, targets: YOLOTargets, lambda_coord: float = 5.0,
              lambda_noobj: float = 0.5) -> dict:
    """The module docstring's four terms (Tensors, each divided by N) from the sigmoid
    outputs (N, S, S, B, 5) (x, y, r, q, conf), the class probabilities (N, S, S, K) and
    the targets: {"coord", "object", "no_object", "class"}."""
    n = outputs.shape[0]
    responsible = targets.responsible.astype(outputs.dtype)
    coord_error = ((outputs[..., :4] - targets.coords) ** 2).sum(axis=-1)
    conf_error = (outputs[..., 4] - targets.confidence) ** 2
    class_error = ((classes - targets.classes) ** 2).sum(axis=-1)
    return {"coord": (coord_error * responsible).sum() * (lambda_coord / n),
            "object": (conf_error * responsible).sum() / n,
            "no_object": (conf_error * (1 - responsible)).sum() * (lambda_noobj / n),
            "class": (class_error * targets.occupied.astype(outputs.dtype)).sum() / n}


class YOLODetector(nn.Module):
    """YOLO-v1-style detector on ``image_size`` x ``image_size`` grey images (see the
    module); the grid's stride is the deepest backbone stage's, 2^(len(channels) - 1).

    Examples
    --------
    >>> from visiongrad.detection import YOLODetector
    >>> _ = vg.manual_seed(0)
    >>> images = np.zeros((2, 1, 64, 64), np.float32)
    >>> detections = YOLODetector().predict(images)
    >>> len(detections), sorted(detections[0])
    (2, ['boxes', 'labels', 'scores'])
    """

    def __init__(self, num_classes: int = 11, image_size: int = 64,
                 channels=(16, 32, 64, 128), num_boxes: int = 2, lambda_coord: float = 5.0,
                 lambda_noobj: float = 0.5, score_thresh: float = 0.05,
                 nms_thresh: float = 0.45, detections_per_img: int = 100):
        super().__init__()
        self.stride = 2 ** (len(channels) - 1)
        if image_size % self.stride:
            raise ValueError(f"image_size must be a multiple of the grid's stride "
                             f"{self.stride}, got {image_size}")
        if num_classes < 2 or num_boxes < 1:
            raise ValueError(f"num_classes must be >= 2 and num_boxes >= 1, got "
                             f"{num_classes} and {num_boxes}")
        self.num_classes, self.image_size, self.num_boxes = num_classes, image_size, num_boxes
        self.grid_size = image_size // self.stride
        self.lambda_coord, self.lambda_noobj = lambda_coord, lambda_noobj
        self.score_thresh, self.nms_thresh = score_thresh, nms_thresh
        self.detections_per_img = detections_per_img
        self.backbone = Backbone(channels)
        self.head = nn.Sequential(conv_bn_relu(channels[-1], channels[-1]),
                                  nn.Conv2d(channels[-1], num_boxes * 5 + num_classes - 1, 1))

    def forward(self, images):
        """The head's raw outputs t, (N, S, S, B * 5 + K) (B predictors' five, then K)."""
        x = image_tensor(images)
        if x.shape[2:] != (self.image_size, self.image_size):
            raise ValueError(f"images must be {self.image_size}x{self.image_size}, got "
                             f"{x.shape[3]}x{x.shape[2]}")
        return self.head(self.backbone(x)[-1]).permute(0, 2, 3, 1)

    def split(self, raw) -> tuple:
        """(sigmoid outputs (N, S, S, B, 5), class probabilities (N, S, S, K)) of raw t."""
        n, s, b = raw.shape[0], self.grid_size, self.num_boxes
        boxes = F.sigmoid(raw[..., :b * 5].reshape(n, s, s, b, 5))
        return boxes, F.softmax(raw[..., b * 5:], -1)

    def decode(self, outputs: np.ndarray) -> np.ndarray:
        """Boxes (x1, y1, x2, y2) in pixels (N, S, S, B, 4) of sigmoid outputs (.., 5)."""
        cells = np.arange(self.grid_size)
        cx = (cells[None, None, :, None] + outputs[..., 0]) * self.stride
        cy = (cells[None, :, None, None] + outputs[..., 1]) * self.stride
        half_w = outputs[..., 2] ** 2 * self.image_size / 2
        half_h = outputs[..., 3] ** 2 * self.image_size / 2
        return np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], -1)

    def assign(self, outputs: np.ndarray, targets: list[dict]) -> YOLOTargets:
        """The module docstring's targets, from the (held constant) sigmoid outputs
        (N, S, S, B, 5) and the checked targets, for the whole batch at once."""
        n, s, b, k = len(targets), self.grid_size, self.num_boxes, self.num_classes - 1
        dtype = outputs.dtype
        found = YOLOTargets(np.zeros((n, s, s, b), dtype), np.zeros((n, s, s, b, 4), dtype),
                            np.zeros((n, s, s, b), dtype), np.zeros((n, s, s), dtype),
                            np.zeros((n, s, s, k), dtype))
        boxes = np.concatenate([t["boxes"] for t in targets]).astype(np.float64).reshape(-1, 4)
        labels = np.concatenate([t["labels"] for t in targets]).astype(np.int64)
        if not len(boxes):
            return found
        if labels.max() >= self.num_classes:
            raise ValueError(f"targets' labels must be < num_classes ({self.num_classes}), "
                             f"got {labels.max()}")
        image = np.repeat(np.arange(n), [len(t["boxes"]) for t in targets])
        centre = (boxes[:, :2] + boxes[:, 2:]) / 2
        col, row = np.clip(np.floor(centre / self.stride).astype(np.int64), 0, s - 1).T
        # one object per cell: sort by cell, then by decreasing area; each cell's first
        cell = (image * s + row) * s + col
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        order = np.lexsort((-area, cell))
        keep = order[np.unique(cell[order], return_index=True)[1]]
        image, row, col, boxes, labels, centre = (
            a[keep] for a in (image, row, col, boxes, labels, centre))
        ious = paired_iou(self.decode(outputs)[image, row, col], boxes[:, None])  # (G, B)
        best = ious.argmax(1)
        sides = np.sqrt((boxes[:, 2:] - boxes[:, :2]) / self.image_size)
        offsets = centre / self.stride - np.stack([col, row], 1)
        found.responsible[image, row, col, best] = 1
        found.coords[image, row, col, best] = np.concatenate([offsets, sides], 1)
        found.confidence[image, row, col, best] = ious[np.arange(len(best)), best]
        found.occupied[image, row, col] = 1
        found.classes[image, row, col, labels - 1] = 1
        return found

    def loss(self, images, targets) -> tuple:
        """(the loss of the module docstring, {"coord", "object", "no_object", "class"}
        floats)."""
        outputs, classes = self.split(self(images))
        assigned = self.assign(outputs.data, check_targets(targets, outputs.shape[0]))
        terms = yolo_loss(outputs, classes, assigned, self.lambda_coord, self.lambda_noobj)
        total = terms["coord"] + terms["object"] + terms["no_object"] + terms["class"]
        return total, {name: term.item() for name, term in terms.items()}

    def predict(self, images) -> list[dict]:
        """Per image a dict of ``boxes`` (k, 4), ``scores`` (k,) and ``labels`` (k,)."""
        self.eval()
        with no_grad():
            outputs, classes = self.split(self(images))
        outputs, classes = outputs.data, classes.data
        n = len(outputs)
        boxes = self.decode(outputs).reshape(n, -1, 1, 4)
        scores = outputs[..., 4, None] * classes[:, :, :, None, :]  # (N, S, S, B, K)
        scores = np.concatenate([np.zeros(scores.shape[:-1] + (1,), scores.dtype), scores],
                                -1).reshape(n, -1, self.num_classes)
        out = []
        for i in range(n):
            found = postprocess(np.broadcast_to(boxes[i], scores.shape[1:] + (4,)), scores[i],
                                (self.image_size,) * 2, self.score_thresh, self.nms_thresh,
                                self.detections_per_img)
            found.pop("rows")
            out.append(found)
        return out
