"""Texture synthesis (Gatys et al., 2015) and neural style transfer (Gatys et al., 2016)
by optimising the pixels against a feature network's Gram matrices.

Feature networks (:func:`feature_network`):

* ``"random"`` (the default, no download): a seeded random-weight multi-scale convnet,
  four 3x3 conv + ReLU stages with average pooling between them. Random, untrained
  filters already carry enough statistics to synthesise textures and transfer style
  (Ustyuzhaninov et al., 2016; He, Wang & Hopcroft, 2016).
* ``"vgg16"`` / ``"vgg19"``: ``models.create`` with the user's torchvision weights
  (a ``.pth`` read by ``visiongrad.io.load_torch_checkpoint``, or a safetensors file):
  Gatys et al.'s layers relu1_1 ... relu5_1 for style and relu4_2 for content.

Losses are the course's (:mod:`.losses`) with scale-free weights: each style layer's
term is divided by the squared norm of its target Gram matrix and the content term by the
squared norm of the content features, so that a weight of 1 means "as important as the
image's own statistics" whatever the network.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import nn
from ..autograd import Tensor, no_grad
from ..random import as_generator
from .layers import frozen, layer_outputs
from .losses import content_loss, gram_matrix, style_loss, tv_loss
from .synthesis import optimise_image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

VGG_LAYERS = {
    "vgg16": (("features.1", "features.6", "features.11", "features.18", "features.25"),
              "features.20"),
    "vgg19": (("features.1", "features.6", "features.11", "features.20", "features.29"),
              "features.22"),
}


class Normalize(nn.Module):
    """Per-channel standardisation of the input: (x - mean_c) / std_c."""

    def __init__(self, mean, std):
        super().__init__()
        self.mean = np.asarray(mean, dtype=np.float32).reshape(1, -1, 1, 1)
        self.std = np.asarray(std, dtype=np.float32).reshape(1, -1, 1, 1)

    def forward(self, x):
        return (x - self.mean) / self.std


@dataclass
class FeatureNetwork:
    """A frozen network, the layers whose Gram matrices define style, the content layer,
    and the per-channel mean/std its inputs (RGB in [0, 1]) are normalised with.

    Examples
    --------
    >>> from visiongrad.visualize import FeatureNetwork
    >>> from visiongrad.visualize import feature_network
    >>> network = feature_network('random', seed=0)
    >>> isinstance(network, FeatureNetwork), network.mean
    (True, (0.485, 0.456, 0.406))
    """

    model: nn.Module
    style_layers: tuple
    content_layer: str
    mean: tuple = IMAGENET_MEAN
    std: tuple = IMAGENET_STD

    def pipeline(self) -> nn.Sequential:
        """The model behind its input normalisation, taking RGB in [0, 1]: layer ``name``
        of the model is ``"net." + name`` in it."""
        return nn.Sequential(OrderedDict(normalize=Normalize(self.mean, self.std),
                                         net=self.model))

    def features(self, images) -> list:
        """Outputs of the style layers then the content layer, for RGB images in [0, 1]."""
        images = images if isinstance(images, Tensor) else Tensor(np.asarray(images))
        return layer_outputs(self.model, [*self.style_layers, self.content_layer],
                             Normalize(self.mean, self.std)(images))


def random_network(seed=0, widths=(32, 64, 128, 256)) -> nn.Sequential:
    """The random multi-scale feature network: ``conv{i}``/``relu{i}`` stages (3x3, He
    initialisation from ``seed``) with 2x2 average pooling ``pool{i}`` between them.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import visualize
    >>> net = visualize.random_network(seed=0, widths=(4, 8))
    >>> import visiongrad as vg
    >>> net(vg.randn(1, 3, 16, 16)).shape[1]
    8
    """
    rng = as_generator(seed)
    layers: OrderedDict = OrderedDict()
    channels = 3
    for i, width in enumerate(widths, start=1):
        conv = nn.Conv2d(channels, width, 3, padding=1)
        conv.weight.data[...] = rng.standard_normal(conv.weight.shape) * np.sqrt(2 / (9 * channels))
        conv.bias.data[...] = 0
        layers[f"conv{i}"], layers[f"relu{i}"] = conv, nn.ReLU()
        if i < len(widths):
            layers[f"pool{i}"] = nn.AvgPool2d(2)
        channels = width
    return nn.Sequential(layers)


def feature_network(name: str = "random", weights=None, seed=0) -> FeatureNetwork:
    """``"random"`` (seeded, no weights) or ``"vgg16"``/``"vgg19"`` with ``weights`` (a
    state_dict or a path to a torchvision ``.pth`` / safetensors file).

    Examples
    --------
    >>> from visiongrad.visualize import feature_network
    >>> network = feature_network('random', seed=0)
    >>> network.style_layers, network.content_layer
    (('relu1', 'relu2', 'relu3', 'relu4'), 'relu3')
    """
    if name == "random":
        if weights is not None:
            raise ValueError("the random feature network takes no weights")
        return FeatureNetwork(random_network(seed), ("relu1", "relu2", "relu3", "relu4"),
                              "relu3")
    if name not in VGG_LAYERS:
        raise ValueError(f"network must be 'random', 'vgg16' or 'vgg19', got {name!r}")
    if weights is None:
        raise ValueError(f"{name} needs weights (a torchvision .pth or safetensors file); "
                         "no ImageNet weights are downloaded")
    from .. import models

    model = models.create(name, num_classes=1000)
    model.load_state_dict(_read_weights(weights))
    style_layers, content_layer = VGG_LAYERS[name]
    return FeatureNetwork(model, style_layers, content_layer)


def _read_weights(weights):
    if not isinstance(weights, (str, bytes)) and hasattr(weights, "keys"):
        return weights
    path = str(weights)
    if path.endswith(".safetensors"):
        from safetensors.numpy import load_file

        return load_file(path)
    from ..io import load_torch_checkpoint

    return load_torch_checkpoint(path)


def _rgb_batch(image, name: str) -> np.ndarray:
    array = np.asarray(image.data if isinstance(image, Tensor) else image, dtype=np.float32)
    array = array[None] if array.ndim == 3 else array
    if array.ndim != 4 or array.shape[:2] != (1, 3):
        raise ValueError(f"{name} must be one RGB image (3, H, W) or (1, 3, H, W) with values "
                         f"in [0, 1], got shape {array.shape}")
    return array


def _style_targets(network: FeatureNetwork, style: np.ndarray, style_weights):
    count = len(network.style_layers)
    weights = [1.0] * count if style_weights is None else list(style_weights)
    if len(weights) != count:
        raise ValueError(f"style_weights needs {count} weights (one per style layer), got "
                         f"{len(weights)}")
    with no_grad():
        grams = [gram_matrix(f).data for f in network.features(style)[:count]]
    scaled = [w / max(float((g.astype(np.float64) ** 2).sum()), 1e-30)
              for w, g in zip(weights, grams, strict=True)]
    return grams, scaled


def synthesize_texture(style, network: FeatureNetwork | None = None, size=None,
                       style_weights=None, tv_weight: float = 0.0, iterations: int = 200,
                       optimizer: str = "lbfgs", learning_rate: float = 1.0,
                       seed=0, on_step: Callable[[int, int], None] | None = None
                       ) -> np.ndarray:
    """A new image with ``style``'s Gram statistics, optimised from noise (``on_step`` as
    :func:`~visiongrad.visualize.optimise_image`'s).

    minimise sum_l w_l |G_l(x) - G_l(style)|^2 / |G_l(style)|^2 + tv_loss(x, tv_weight)

    ``size`` = (H, W) of the result (default: the style image's). Returns (1, 3, H, W)
    in [0, 1].

    Examples
    --------
    >>> from visiongrad.visualize import synthesize_texture
    >>> style = np.random.default_rng(0).random((3, 16, 16)).astype(np.float32)
    >>> synthesize_texture(style, size=(8, 8), iterations=2).shape
    (1, 3, 8, 8)
    """
    style = _rgb_batch(style, "style")
    network = network or feature_network()
    height, width = size or style.shape[2:]
    start = as_generator(seed).uniform(0.4, 0.6, (1, 3, height, width)).astype(np.float32)
    with frozen(network.model):
        grams, weights = _style_targets(network, style, style_weights)
        layers = list(range(len(grams)))

        def loss(x):
            return (style_loss(network.features(x), layers, grams, weights)
                    + tv_loss(x, tv_weight))

        return optimise_image(start, loss, iterations, optimizer, learning_rate, (0.0, 1.0),
                              on_step)


def style_transfer(content, style, network: FeatureNetwork | None = None,
                   content_weight: float = 1.0, style_weights=None, tv_weight: float = 1e-4,
                   iterations: int = 200, optimizer: str = "lbfgs",
                   learning_rate: float = 1.0, init: str = "content", seed=0,
                   on_step: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Gatys et al.'s style transfer: ``content``'s layout in ``style``'s textures
    (``on_step`` as :func:`~visiongrad.visualize.optimise_image`'s).

    minimise content_weight |F(x) - F(content)|^2 / |F(content)|^2
             + sum_l w_l |G_l(x) - G_l(style)|^2 / |G_l(style)|^2 + tv_loss(x, tv_weight)

    over the pixels, from the content image (``init="content"``) or noise, with L-BFGS or
    Adam (``optimizer``). Images are RGB in [0, 1]; returns (1, 3, H, W) like ``content``.

    Examples
    --------
    >>> from visiongrad.visualize import style_transfer
    >>> _ = vg.manual_seed(0)
    >>> rng = np.random.default_rng(0)
    >>> content, style = rng.random((2, 3, 16, 16)).astype(np.float32)
    >>> style_transfer(content, style, iterations=2).shape
    (1, 3, 16, 16)
    """
    content, style = _rgb_batch(content, "content"), _rgb_batch(style, "style")
    network = network or feature_network()
    if init == "content":
        start = content
    elif init == "noise":
        start = as_generator(seed).uniform(0, 1, content.shape).astype(np.float32)
    else:
        raise ValueError(f"init must be 'content' or 'noise', got {init!r}")
    with frozen(network.model):
        loss = style_transfer_loss(network, content, style, content_weight, style_weights,
                                   tv_weight)
        return optimise_image(start, loss, iterations, optimizer, learning_rate, (0.0, 1.0),
                              on_step)


def style_transfer_loss(network: FeatureNetwork, content, style, content_weight: float = 1.0,
                        style_weights=None, tv_weight: float = 1e-4):
    """The objective :func:`style_transfer` minimises, as a function of the image x
    (a Tensor (1, 3, H, W), RGB in [0, 1]) returning the scalar loss Tensor.

    The targets (the style image's Gram matrices, the content image's features) are
    computed once, here; run the returned function inside ``frozen(network.model)`` so
    that back-propagation reaches only the image.

    Examples
    --------
    >>> from visiongrad.visualize import style_transfer_loss
    >>> from visiongrad.visualize import feature_network, frozen
    >>> rng = np.random.default_rng(0)
    >>> content, style = rng.random((2, 3, 16, 16)).astype(np.float32)
    >>> network = feature_network('random', seed=0)
    >>> loss = style_transfer_loss(network, content, style)
    >>> with frozen(network.model):
    ...     value = loss(vg.tensor(content[None]))
    >>> value.shape
    ()
    """
    content, style = _rgb_batch(content, "content"), _rgb_batch(style, "style")
    grams, weights = _style_targets(network, style, style_weights)
    with no_grad():
        target = network.features(content)[-1].data
    scale = content_weight / max(float((target.astype(np.float64) ** 2).sum()), 1e-30)
    layers = list(range(len(grams)))

    def loss(x):
        feats = network.features(x)
        return (content_loss(scale, feats[-1], target)
                + style_loss(feats, layers, grams, weights) + tv_loss(x, tv_weight))

    return loss
