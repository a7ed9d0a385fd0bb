"""Fast feed-forward style transfer (Johnson, Alahi & Fei-Fei, 2016): a network trained
once per style maps any content image to its stylised version in one forward pass.

The transformation network: a 9x9 conv, two stride-2 3x3 downsampling convs, residual
blocks, two nearest-neighbour x2 upsamplings each followed by a 3x3 conv, and a 9x9 conv
to RGB, with instance normalisation and ReLU after every conv but the last (whose output
goes through a sigmoid into [0, 1]). Instance normalisation (Ulyanov et al., 2016) is
``nn.InstanceNorm2d`` with a learned scale and shift; upsampling is ``nn.Upsample``.
"""

from __future__ import annotations

import os

import numpy as np

from .. import nn
from ..autograd import Tensor, no_grad
from ..random import as_generator
from .layers import frozen
from .losses import content_loss, style_loss, tv_loss
from .style import FeatureNetwork, _rgb_batch, _style_targets, feature_network


def _conv_norm(in_channels: int, out_channels: int, kernel: int, stride: int = 1) -> list:
    return [nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=kernel // 2),
            nn.InstanceNorm2d(out_channels, affine=True), nn.ReLU()]


class ResidualBlock(nn.Module):
    """x + IN(conv(ReLU(IN(conv(x)))))  (3x3 convs, channel count kept)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(*_conv_norm(channels, channels, 3),
                                  nn.Conv2d(channels, channels, 3, padding=1),
                                  nn.InstanceNorm2d(channels, affine=True))

    def forward(self, x):
        return x + self.body(x)


class TransformerNet(nn.Sequential):
    """Johnson et al.'s image transformation network; ``width`` is the first layer's
    channel count (32 in the paper), doubled at each downsampling.

    Shape: (N, 3, H, W) -> (N, 3, H, W) in [0, 1], H and W divisible by 4.

    Examples
    --------
    >>> from visiongrad.visualize import TransformerNet
    >>> _ = vg.manual_seed(0)
    >>> TransformerNet(width=4, residual_blocks=1)(vg.zeros(1, 3, 8, 8)).shape
    (1, 3, 8, 8)
    """

    def __init__(self, width: int = 32, residual_blocks: int = 5):
        super().__init__(*_conv_norm(3, width, 9),
                         *_conv_norm(width, 2 * width, 3, stride=2),
                         *_conv_norm(2 * width, 4 * width, 3, stride=2),
                         *[ResidualBlock(4 * width) for _ in range(residual_blocks)],
                         nn.Upsample(scale_factor=2), *_conv_norm(4 * width, 2 * width, 3),
                         nn.Upsample(scale_factor=2), *_conv_norm(2 * width, width, 3),
                         nn.Conv2d(width, 3, 9, padding=4), nn.Sigmoid())


def load_content_folder(folder: str, size: int, limit: int | None = None) -> np.ndarray:
    """Every PNG/JPEG image in ``folder`` as RGB floats in [0, 1], resized (bilinear) and
    centre-cropped to ``size`` x ``size``: (N, 3, size, size).

    Examples
    --------
    >>> from visiongrad.visualize import load_content_folder
    >>> import os, tempfile; from PIL import Image
    >>> folder = tempfile.mkdtemp()
    >>> Image.new('RGB', (20, 10), (255, 0, 0)).save(os.path.join(folder, 'a.png'))
    >>> images = load_content_folder(folder, size=8)
    >>> images.shape, images[0, :, 0, 0]
    ((1, 3, 8, 8), array([1., 0., 0.], dtype=float32))
    """
    from PIL import Image

    from ..data import image_to_array, open_image

    names = sorted(n for n in os.listdir(folder)
                   if n.lower().endswith((".png", ".jpg", ".jpeg")))[:limit]
    if not names:
        raise ValueError(f"no PNG or JPEG images in {folder}")
    images = []
    for name in names:
        picture = Image.fromarray(image_to_array(open_image(os.path.join(folder, name)), "RGB"))
        scale = size / min(picture.size)
        width = max(size, round(picture.width * scale))
        height = max(size, round(picture.height * scale))
        picture = picture.resize((width, height), Image.Resampling.BILINEAR)
        left, top = (width - size) // 2, (height - size) // 2
        images.append(np.asarray(picture.crop((left, top, left + size, top + size))))
    return np.stack(images).transpose(0, 3, 1, 2).astype(np.float32) / 255


def train_fast_style(style, content_images, network: FeatureNetwork | None = None,
                     width: int = 16, residual_blocks: int = 3, epochs: int = 2,
                     batch_size: int = 4, learning_rate: float = 1e-3,
                     content_weight: float = 1.0, style_weight: float = 5.0,
                     tv_weight: float = 1e-5, seed=0, log=None) -> TransformerNet:
    """Train a :class:`TransformerNet` with Adam to stylise ``content_images`` (N, 3, H, W)
    in [0, 1] (see :func:`load_content_folder`) like ``style``.

    Loss per batch, with the same scale-free weights as :func:`~.style.style_transfer`:

        content_weight |F(y) - F(x)|^2 / |F(x)|^2
        + style_weight sum_l |G_l(y) - G_l(style)|^2 / |G_l(style)|^2 + tv_loss(y)

    for y = net(x), summed over the batch (Gram targets repeated per image).

    Examples
    --------
    >>> from visiongrad.visualize import train_fast_style
    >>> rng = np.random.default_rng(0)
    >>> style = rng.random((3, 16, 16)).astype(np.float32)
    >>> content = rng.random((2, 3, 16, 16)).astype(np.float32)
    >>> net = train_fast_style(style, content, epochs=1, batch_size=2, width=4, residual_blocks=1)
    >>> type(net).__name__
    'TransformerNet'
    """
    from .. import optim

    style = _rgb_batch(style, "style")
    contents = np.asarray(content_images, dtype=np.float32)
    if contents.ndim != 4 or contents.shape[1] != 3 or contents.shape[2] % 4 or \
            contents.shape[3] % 4:
        raise ValueError(f"content_images must be (N, 3, H, W) with H and W divisible by 4, "
                         f"got {contents.shape}")
    network = network or feature_network()
    rng = as_generator(seed)
    net = TransformerNet(width, residual_blocks)
    optimizer = optim.Adam(net.parameters(), lr=learning_rate)
    with frozen(network.model):
        grams, weights = _style_targets(network, style, [style_weight] * len(network.style_layers))
        layers = list(range(len(grams)))
        for epoch in range(epochs):
            order = rng.permutation(len(contents))
            for start in range(0, len(contents), batch_size):
                batch = contents[order[start:start + batch_size]]
                with no_grad():
                    target = network.features(batch)[-1].data
                scale = content_weight / max(float((target.astype(np.float64) ** 2).sum()), 1e-30)
                output = net(Tensor(batch))
                feats = network.features(output)
                targets = [np.repeat(g, len(batch), axis=0) for g in grams]
                loss = (content_loss(scale, feats[-1], target)
                        + style_loss(feats, layers, targets, [w / len(batch) for w in weights])
                        + tv_loss(output, tv_weight))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if log is not None:
                    log(epoch, start, float(loss.data))
    return net.eval()


def stylize(net: TransformerNet, content) -> np.ndarray:
    """``net`` applied to RGB ``content`` in [0, 1] ((3, H, W) or (N, 3, H, W)).

    Examples
    --------
    >>> from visiongrad.visualize import stylize
    >>> from visiongrad.visualize import TransformerNet
    >>> _ = vg.manual_seed(0)
    >>> net = TransformerNet(width=4, residual_blocks=1)
    >>> out = stylize(net, np.zeros((3, 8, 8), np.float32))
    >>> out.shape, bool(out.min() >= 0 and out.max() <= 1)
    ((1, 3, 8, 8), True)
    """
    images = np.asarray(content, dtype=np.float32)
    images = images[None] if images.ndim == 3 else images
    with no_grad():
        return net.eval()(Tensor(images)).data
