"""Texture synthesis, style transfer and the fast style network on tiny images."""

import numpy as np
import pytest

import visiongrad as vg
from visiongrad import nn
from visiongrad.visualize import (
    FeatureNetwork,
    TransformerNet,
    feature_network,
    gram_matrix,
    load_content_folder,
    random_network,
    style_transfer,
    stylize,
    synthesize_texture,
    train_fast_style,
)

RNG = np.random.default_rng(0)


def _stripes(size=16):
    image = np.zeros((3, size, size), np.float32)
    image[0, :, ::4] = 1.0
    image[2, ::2] = 0.8
    return image


def _small_network():
    """The random multi-scale network, narrowed to two stages for speed."""
    return FeatureNetwork(random_network(1, (8, 16)), ("relu1", "relu2"), "relu2")


def _style_distance(network, x, style):
    with vg.no_grad():
        a = network.features(np.asarray(x).reshape(1, 3, *x.shape[-2:]))
        b = network.features(style[None])
    n = len(network.style_layers)
    return sum(float(((gram_matrix(f).data - gram_matrix(g).data) ** 2).sum()
                     / (gram_matrix(g).data ** 2).sum()) for f, g in zip(a[:n], b[:n], strict=True))


def test_texture_synthesis_reduces_the_gram_distance_with_both_optimizers():
    network, style = _small_network(), _stripes()
    start = synthesize_texture(style, network, iterations=0, optimizer="adam")
    for optimizer, lr in (("adam", 0.05), ("lbfgs", 1.0)):
        made = synthesize_texture(style, network, iterations=40, optimizer=optimizer,
                                  learning_rate=lr)
        assert made.shape == (1, 3, 16, 16) and made.min() >= 0 and made.max() <= 1
        assert _style_distance(network, made, style) < 0.5 * _style_distance(network, start,
                                                                             style)


def test_style_transfer_moves_towards_the_style_and_keeps_the_shape():
    network, style = _small_network(), _stripes()
    content = RNG.random((3, 16, 16)).astype(np.float32)
    made = style_transfer(content, style, network, iterations=40, style_weights=[5] * 2)
    assert made.shape == (1, 3, 16, 16)
    assert _style_distance(network, made, style) < _style_distance(network, content, style)
    with pytest.raises(ValueError, match="content must be one RGB image"):
        style_transfer(np.zeros((1, 16, 16)), style, network)
    with pytest.raises(ValueError, match="style_weights needs 2 weights"):
        style_transfer(content, style, network, style_weights=[1.0])
    with pytest.raises(ValueError, match="needs weights"):
        feature_network("vgg16")
    assert feature_network().style_layers == ("relu1", "relu2", "relu3", "relu4")


def test_fast_style_network_trains_and_stylises(tmp_path):
    from PIL import Image

    for i in range(3):
        Image.fromarray((RNG.random((20, 24, 3)) * 255).astype(np.uint8)).save(
            tmp_path / f"{i}.png")
    contents = load_content_folder(str(tmp_path), 16)
    assert contents.shape == (3, 3, 16, 16) and 0 <= contents.min() and contents.max() <= 1
    losses = []
    net = train_fast_style(_stripes(), contents, _small_network(), width=4,
                           residual_blocks=1, epochs=10, batch_size=3, learning_rate=0.01,
                           log=lambda epoch, start, loss: losses.append(loss))
    assert losses[-1] < 0.9 * losses[0]
    assert isinstance(net, TransformerNet) and stylize(net, contents[0]).shape == (1, 3, 16, 16)
    assert any(isinstance(m, nn.InstanceNorm2d) for m in net.modules())
    with pytest.raises(ValueError, match="divisible by 4"):
        train_fast_style(_stripes(), contents[:, :, :15, :15])
