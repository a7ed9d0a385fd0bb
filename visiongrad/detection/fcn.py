"""A fully convolutional network for semantic segmentation (Long et al. 2015), small.

    encoder: the ``Backbone``'s stages E1 (stride 1), E2 (2), E4 (4), E8 (8)
    decoder: D4 = ReLU(convT(E8)) + E4,  D2 = ReLU(convT(conv(D4))) + E2,
             D1 = ReLU(convT(conv(D2))) + E1,  scores = conv1x1(conv(D1))
    (each convT a 2x2 transposed convolution with stride 2: learnt upsampling; each "+ E"
    a skip connection bringing back the encoder's detail at that resolution)

Loss: per-pixel cross-entropy of the (N, C, H, W) scores against the (N, H, W) label map
(0 background, item class c + 1), averaged over pixels. Prediction: argmax over classes.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn
from ..autograd import no_grad
from .nets import Backbone, conv_bn_relu, image_tensor


class FCN(nn.Module):
    """Per-pixel class scores of grey images whose sides are multiples of 8."""

    def __init__(self, num_classes: int = 11, channels=(16, 32, 64, 64)):
        super().__init__()
        if len(channels) != 4:
            raise ValueError(f"channels must name the four encoder stages, got {channels}")
        self.num_classes = num_classes
        self.backbone = Backbone(channels)
        c1, c2, c4, c8 = channels
        self.up8 = nn.ConvTranspose2d(c8, c4, 2, stride=2)
        self.fuse4 = conv_bn_relu(c4, c2)
        self.up4 = nn.ConvTranspose2d(c2, c2, 2, stride=2)
        self.fuse2 = conv_bn_relu(c2, c1)
        self.up2 = nn.ConvTranspose2d(c1, c1, 2, stride=2)
        self.fuse1 = conv_bn_relu(c1, c1)
        self.classifier = nn.Conv2d(c1, num_classes, 1)

    def forward(self, images):
        """Scores (N, C, H, W)."""
        x = image_tensor(images)
        if x.shape[2] % 8 or x.shape[3] % 8:
            raise ValueError(f"image sides must be multiples of 8, got {x.shape[3]}x{x.shape[2]}")
        e1, e2, e4, e8 = self.backbone(x)
        d4 = F.relu(self.up8(e8)) + e4
        d2 = F.relu(self.up4(self.fuse4(d4))) + e2
        d1 = F.relu(self.up2(self.fuse2(d2))) + e1
        return self.classifier(self.fuse1(d1))

    def loss(self, images, targets) -> tuple:
        """(mean per-pixel cross-entropy, {"pixel_ce": value}); each target holds
        ``semantic`` (H, W) labels."""
        if len(targets) != len(images):
            raise ValueError(f"targets must hold one entry per image ({len(images)}), "
                             f"got {len(targets)}")
        labels = np.stack([np.asarray(t["semantic"], dtype=np.int64) for t in targets])
        if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ValueError(f"semantic labels must lie in [0, {self.num_classes})")
        loss = F.cross_entropy(self(images), labels)
        return loss, {"pixel_ce": loss.item()}

    def predict(self, images) -> np.ndarray:
        """(N, H, W) int64 label maps."""
        self.eval()
        with no_grad():
            return np.argmax(self(images).data, axis=1).astype(np.int64)
