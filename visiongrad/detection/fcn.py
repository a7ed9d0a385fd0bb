"""A fully convolutional network for semantic segmentation (Long et al. 2015), small.

    encoder: the ``Backbone``'s stages E_s at strides s = 1, 2, 4, ..., S (one per entry of
             ``channels``; the deepest, at stride 16 by default, sees the whole 64x64 scene)
    decoder: D_S = E_S;  D_s = fuse_s(ReLU(convT_s(D_2s)) + E_s) for s = S/2, ..., 1
    scores:  conv1x1(D_1) + upsample_4(conv1x1(D_4))

Each convT is a 2x2 transposed convolution with stride 2 (learnt upsampling), each
"+ E_s" a skip connection bringing back the encoder's detail at that resolution, each fuse
a 3x3 conv-BN-ReLU. The scores add two predictions as FCN-8s does: the fine one from the
full-resolution map draws the boundaries, the coarse one from the stride-4 map (bilinearly
upsampled 4x; at stride min(4, S/2) for shallower encoders) carries what the item is, which
a pixel's neighbourhood alone cannot tell.

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
    """Per-pixel class scores of grey images whose sides are multiples of the deepest
    stage's stride, 2^(len(channels) - 1).

    Examples
    --------
    >>> from visiongrad.detection import FCN
    >>> _ = vg.manual_seed(0)
    >>> FCN(num_classes=11)(vg.zeros(2, 1, 64, 64)).shape
    (2, 11, 64, 64)
    """

    def __init__(self, num_classes: int = 11, channels=(16, 32, 64, 128, 128)):
        super().__init__()
        if len(channels) < 2:
            raise ValueError(f"channels must name at least two encoder stages, got {channels}")
        self.num_classes = num_classes
        self.backbone = Backbone(channels)
        self.stride = 2 ** (len(channels) - 1)
        self.coarse_level = min(2, len(channels) - 2)  # the stride-4 map's index
        self.ups = nn.ModuleList([nn.ConvTranspose2d(deep, shallow, 2, stride=2) for deep, shallow
                                  in zip(channels[1:], channels[:-1], strict=True)])
        self.fuses = nn.ModuleList([conv_bn_relu(c, c) for c in channels[:-1]])
        self.classifier = nn.Conv2d(channels[0], num_classes, 1)
        self.coarse_classifier = nn.Conv2d(channels[self.coarse_level], num_classes, 1)

    def forward(self, images):
        """Scores (N, C, H, W)."""
        x = image_tensor(images)
        if x.shape[2] % self.stride or x.shape[3] % self.stride:
            raise ValueError(f"image sides must be multiples of {self.stride}, got "
                             f"{x.shape[3]}x{x.shape[2]}")
        encoded = self.backbone(x)
        decoded = encoded[-1]
        for level in reversed(range(len(self.fuses))):
            decoded = self.fuses[level](F.relu(self.ups[level](decoded)) + encoded[level])
            if level == self.coarse_level:
                coarse = self.coarse_classifier(decoded)
        factor = 2 ** self.coarse_level
        return self.classifier(decoded) + F.interpolate(coarse, scale_factor=factor,
                                                        mode="bilinear", align_corners=False)

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
