"""Classification plus localisation: one object per image, a class and a box from one
network with two heads (the course's multitask loss).

    backbone -> stride-16 map -> flatten -> FC -> ReLU -> class scores (C)
                                                      -> box: sigmoid(4) * image size

The box head predicts (x1, y1, x2, y2) / image size through a sigmoid, so every box lies
inside the image. Loss = CE(class scores, label) + ``box_weight`` smooth-L1(predicted -
true normalised box) summed over the four coordinates and averaged over images (beta 1/9).
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn
from ..autograd import no_grad
from .losses import box_loss
from .nets import Backbone, check_targets, conv_bn_relu, image_tensor


class Localizer(nn.Module):
    """Class and box of the single object of each ``image_size`` square image.

    Examples
    --------
    >>> from visiongrad.detection import Localizer
    >>> _ = vg.manual_seed(0)
    >>> images = np.zeros((2, 1, 64, 64), np.float32)
    >>> detections = Localizer().predict(images)
    >>> len(detections), sorted(detections[0])
    (2, ['boxes', 'labels', 'scores'])
    """

    def __init__(self, num_classes: int = 11, image_size: int = 64, channels=(16, 32, 64, 64),
                 hidden: int = 128, box_weight: float = 10.0):
        super().__init__()
        if image_size % 16:
            raise ValueError(f"image_size must be a multiple of 16, got {image_size}")
        self.num_classes, self.image_size, self.box_weight = num_classes, image_size, box_weight
        self.backbone = Backbone(channels)
        self.reduce = conv_bn_relu(channels[-1], channels[-1], stride=2)
        cells = (image_size // 16) ** 2
        self.trunk = nn.Sequential(nn.Flatten(), nn.Linear(channels[-1] * cells, hidden),
                                   nn.ReLU())
        self.cls_score = nn.Linear(hidden, num_classes)
        self.box = nn.Linear(hidden, 4)

    def forward(self, images):
        """(class logits (N, C), boxes (N, 4) as fractions of the image side)."""
        x = image_tensor(images)
        if x.shape[2:] != (self.image_size, self.image_size):
            raise ValueError(f"images must be {self.image_size}x{self.image_size}, got "
                             f"{x.shape[3]}x{x.shape[2]}")
        hidden = self.trunk(self.reduce(self.backbone(x)[-1]))
        return self.cls_score(hidden), F.sigmoid(self.box(hidden))

    def loss(self, images, targets) -> tuple:
        """(CE + box_weight x smooth-L1, parts); every target must hold exactly one box."""
        targets = check_targets(targets, len(images))
        if any(len(t["boxes"]) != 1 for t in targets):
            raise ValueError("the localiser needs exactly one object per image")
        logits, boxes = self(images)
        labels = np.concatenate([t["labels"] for t in targets])
        true = np.concatenate([t["boxes"] for t in targets]) / self.image_size
        classifier = F.cross_entropy(logits, labels)
        box = box_loss(boxes, true.astype(np.float32)) / len(images)
        return classifier + self.box_weight * box, {"classifier": classifier.item(),
                                                    "box": box.item()}

    def predict(self, images) -> list[dict]:
        """Per image one detection: ``boxes`` (1, 4), ``scores`` (1,), ``labels`` (1,)."""
        self.eval()
        with no_grad():
            logits, boxes = self(images)
        probabilities = F.softmax(logits, -1).data
        probabilities[:, 0] = 0  # an object is always there: pick the best item class
        labels = probabilities.argmax(1)
        return [{"boxes": (boxes.data[i:i + 1] * self.image_size).astype(np.float32),
                 "scores": probabilities[i, labels[i]:labels[i] + 1].astype(np.float32),
                 "labels": labels[i:i + 1].astype(np.int64)} for i in range(len(labels))]
