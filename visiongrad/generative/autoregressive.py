"""Explicit-density models of 8-bit grey images: PixelCNN and PixelRNN (Row LSTM).

Both factor p(x) = prod_i p(x_i | x_1, ..., x_{i-1}) over the pixels in raster order (row by
row, left to right) and score each pixel by a 256-way softmax. The conditioning on the past
only comes from masked convolutions: a type-A mask hides the centre pixel and everything
after it, a type-B mask (every later layer) lets a position see its own features, which
already depend only on earlier pixels. Training is one pass over a whole image; sampling
is 784 passes, one pixel at a time.
"""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .. import nn
from ..autograd import Tensor, as_tensor, concat, no_grad
from ..random import as_generator
from .masked_conv import causal_conv2d

LEVELS = 256


def causal_mask(kernel_size: tuple[int, int], mask_type: str) -> np.ndarray:
    """The (kh, kw) mask of a raster-order causal kernel: 1 above the centre row, 1 left of
    the centre in its row, the centre itself 1 for type "B" and 0 for type "A", 0 after it.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import generative
    >>> generative.causal_mask((3, 3), 'A')
    array([[1., 1., 1.],
           [1., 0., 0.],
           [0., 0., 0.]], dtype=float32)
    """
    if mask_type not in ("A", "B"):
        raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
    kh, kw = kernel_size
    mask = np.ones((kh, kw), dtype=np.float32)
    mask[kh // 2, kw // 2 + (mask_type == "B"):] = 0.0
    mask[kh // 2 + 1:, :] = 0.0
    return mask


class MaskedConv2d(nn.Conv2d):
    """A "same"-padded convolution whose weight is multiplied by a fixed causal mask.

    y = conv2d(x, W * M, b) with M = :func:`causal_mask` broadcast over (F, C): the output
    at (r, c) sees input positions before (r, c) in raster order (and (r, c) itself for
    type "B"). The gradient is W's gradient times M (the product rule of ``W * M``), so a
    masked weight stays zero under any optimizer without weight decay. The kernel rows
    below the centre, all zero, are never multiplied (``masked_conv.causal_conv2d``).
    NOTE: grey images only: unlike the paper's RGB masks, channels are not split into groups.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import generative
    >>> import visiongrad as vg
    >>> conv = generative.MaskedConv2d(1, 4, 3, mask_type='A')
    >>> conv(vg.randn(1, 1, 5, 5)).shape
    (1, 4, 5, 5)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, mask_type: str,
                 bias: bool = True):
        kernel = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        if kernel[0] % 2 == 0 or kernel[1] % 2 == 0:
            raise ValueError(f"MaskedConv2d needs an odd kernel_size, got {kernel_size!r}")
        super().__init__(in_channels, out_channels, kernel,
                         padding=(kernel[0] // 2, kernel[1] // 2), bias=bias)
        self.mask_type = mask_type
        self.register_buffer("mask", causal_mask(self.kernel_size, mask_type), persistent=False)

    def forward(self, x):
        return causal_conv2d(x, self.weight, self.bias, self.mask)


class ResidualBlock(nn.Module):
    """PixelCNN's residual block: x + conv1x1(relu(maskedB3x3(relu(conv1x1(relu(x))))))
    with h/2 channels inside."""

    def __init__(self, channels: int):
        super().__init__()
        self.reduce = nn.Conv2d(channels, channels // 2, 1)
        self.masked = MaskedConv2d(channels // 2, channels // 2, 3, "B")
        self.expand = nn.Conv2d(channels // 2, channels, 1)

    def forward(self, x):
        return x + self.expand(F.relu(self.masked(F.relu(self.reduce(F.relu(x))))))


def output_head(channels: int) -> nn.Sequential:
    """ReLU, 1x1 conv, ReLU, 1x1 conv to the 256 logits of each pixel (pointwise: causal)."""
    return nn.Sequential(nn.ReLU(), nn.Conv2d(channels, channels, 1), nn.ReLU(),
                         nn.Conv2d(channels, LEVELS, 1))


class AutoregressiveModel(nn.Module):
    """What PixelCNN and PixelRNN share: 8-bit input scaling, the per-pixel softmax
    likelihood, bits per dimension and raster-order sampling. Subclasses define
    ``features(x)`` (N, 1, H, W) scaled to [-1, 1] -> (N, channels, H, W), causal, and
    set ``head`` (:func:`output_head`) after their feature layers."""

    def __init__(self, image_size: int, channels: int):
        super().__init__()
        if image_size < 2 or channels < 2:
            raise ValueError(f"image_size and channels must be >= 2, got {image_size}, "
                             f"{channels}")
        self.image_size = image_size

    def features(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def _check(self, images) -> np.ndarray:
        images = np.asarray(images)
        shape = (1, self.image_size, self.image_size)
        if images.ndim != 4 or images.shape[1:] != shape:
            raise ValueError(f"images must have shape (N, {shape[0]}, {shape[1]}, {shape[2]}), "
                             f"got {images.shape}")
        if images.dtype.kind not in "ui" or images.min(initial=0) < 0 or images.max(
                initial=0) >= LEVELS:
            raise ValueError("images must be integers in [0, 255]")
        return images

    def forward(self, images) -> Tensor:
        """Logits (N, 256, H, W) of p(x_rc | pixels before (r, c)) for 8-bit images (N, 1, H, W)."""
        images = self._check(images)
        x = images.astype(np.float32) * (2.0 / (LEVELS - 1)) - 1.0
        return self.head(self.features(as_tensor(x)))

    def nll(self, images, reduction: str = "mean") -> Tensor:
        """-log p(x) in nats per pixel: cross-entropy of the logits against the pixels;
        reduction "none" gives (N,) nats per image."""
        images = self._check(images)
        logits = self(images).permute(0, 2, 3, 1).reshape(-1, LEVELS)
        labels = images.reshape(-1).astype(np.int64)
        if reduction == "none":
            losses = F.cross_entropy(logits, labels, reduction="none")
            return losses.reshape(len(images), -1).sum(axis=1)
        return F.cross_entropy(logits, labels, reduction=reduction)

    def bits_per_dim(self, images, batch_size: int = 100) -> float:
        """Test negative log-likelihood in bits per dimension, -log2 p(x) / (H W)."""
        total = 0.0
        with no_grad():
            for start in range(0, len(images), batch_size):
                batch = images[start:start + batch_size]
                total += self.nll(batch, reduction="sum").item()
        return total / (len(images) * self.image_size ** 2 * math.log(2.0))

    def sample(self, n: int, rng=None, temperature: float = 1.0) -> np.ndarray:
        """n images (N, 1, H, W) uint8, drawn pixel by pixel in raster order from the
        softmax of logits / temperature (H * W forward passes)."""
        if n < 1 or temperature <= 0:
            raise ValueError(f"need n >= 1 and temperature > 0, got {n}, {temperature}")
        rng = as_generator(rng)
        size = self.image_size
        images = np.zeros((n, 1, size, size), dtype=np.uint8)
        was_training = self.training
        self.eval()
        with no_grad():
            for row in range(size):
                for col in range(size):
                    logits = self(images).data[:, :, row, col].astype(np.float64) / temperature
                    p = np.exp(logits - logits.max(axis=1, keepdims=True))
                    p /= p.sum(axis=1, keepdims=True)
                    cumulative = np.cumsum(p, axis=1)
                    u = rng.random((n, 1)) * cumulative[:, -1:]
                    images[:, 0, row, col] = np.minimum((cumulative < u).sum(axis=1), LEVELS - 1)
        self.train(was_training)
        return images


class PixelCNN(AutoregressiveModel):
    """masked A 7x7 (1 -> h) -> ``blocks`` residual blocks (masked B 3x3 inside) -> ReLU,
    1x1, ReLU, 1x1 -> 256 logits per pixel (plain residual blocks, not gated).

    Examples
    --------
    >>> from visiongrad.generative import PixelCNN
    >>> _ = vg.manual_seed(0)
    >>> model = PixelCNN(image_size=8, channels=8, blocks=1)
    >>> model(np.zeros((2, 1, 8, 8), np.uint8)).shape
    (2, 256, 8, 8)
    """

    def __init__(self, image_size: int = 28, channels: int = 64, blocks: int = 5):
        super().__init__(image_size, channels)
        self.input = MaskedConv2d(1, channels, 7, "A")
        self.blocks = nn.Sequential(*(ResidualBlock(channels) for _ in range(blocks)))
        self.head = output_head(channels)

    def features(self, x):
        return self.blocks(self.input(x))


class RowLSTM(nn.Module):
    """The Row LSTM layer, computed one row at a time.

    Input-to-state: a type-B masked 1 x 3 convolution over each row of the input features,
    K_is * x (all rows at once). State-to-state: an unmasked 1 x 3 convolution over the
    previous row's hidden state, K_ss * h_{r-1}. With [i, f, o, g] = the two summed and
    split into four along the channels,
    c_r = sigmoid(f) * c_{r-1} + sigmoid(i) * tanh(g),  h_r = sigmoid(o) * tanh(c_r),
    h_0 = c_0 = 0. Row r sees all of rows < r (through h_{r-1}, whose receptive field
    widens by one column per row: the triangular context of the paper) and row r's features
    up to column c.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import generative
    >>> import visiongrad as vg
    >>> generative.RowLSTM(4, 6)(vg.randn(1, 4, 5, 5)).shape
    (1, 6, 5, 5)
    """

    def __init__(self, in_channels: int, hidden: int):
        super().__init__()
        self.hidden = hidden
        self.input_to_state = MaskedConv2d(in_channels, 4 * hidden, (1, 3), "B")
        self.state_to_state = nn.Conv2d(hidden, 4 * hidden, (1, 3), padding=(0, 1))

    def forward(self, x):
        n, _, rows, width = x.shape
        hidden = self.hidden
        gates_from_input = self.input_to_state(x)
        h = as_tensor(np.zeros((n, hidden, 1, width), dtype=x.data.dtype))
        c = h
        outputs = []
        for row in range(rows):
            gates = gates_from_input[:, :, row:row + 1, :] + self.state_to_state(h)
            i, f, o = (F.sigmoid(gates[:, k * hidden:(k + 1) * hidden]) for k in range(3))
            g = F.tanh(gates[:, 3 * hidden:])
            c = f * c + i * g
            h = o * F.tanh(c)
            outputs.append(h)
        return concat(outputs, axis=2)


class PixelRNN(AutoregressiveModel):
    """masked A 7x7 (1 -> h) -> Row LSTM layers (residual) -> ReLU, 1x1, ReLU, 1x1 -> 256 logits.

    Examples
    --------
    >>> from visiongrad.generative import PixelRNN
    >>> _ = vg.manual_seed(0)
    >>> model = PixelRNN(image_size=8, channels=8)
    >>> model(np.zeros((2, 1, 8, 8), np.uint8)).shape
    (2, 256, 8, 8)
    """

    def __init__(self, image_size: int = 28, channels: int = 32, layers: int = 1):
        super().__init__(image_size, channels)
        self.input = MaskedConv2d(1, channels, 7, "A")
        self.rows = nn.ModuleList([RowLSTM(channels, channels) for _ in range(layers)])
        self.head = output_head(channels)

    def features(self, x):
        x = self.input(x)
        for layer in self.rows:
            x = x + layer(x)
        return x
