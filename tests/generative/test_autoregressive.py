"""Masked convolutions, PixelCNN and PixelRNN (generative/autoregressive.py)."""

import numpy as np
import pytest
from helpers import assert_gradcheck, torch_or_skip

import visiongrad as vg
from visiongrad.generative import MaskedConv2d, PixelCNN, PixelRNN, causal_mask


def test_causal_masks():
    np.testing.assert_array_equal(causal_mask((3, 3), "A"), [[1, 1, 1], [1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(causal_mask((3, 3), "B"), [[1, 1, 1], [1, 1, 0], [0, 0, 0]])
    np.testing.assert_array_equal(causal_mask((1, 3), "B"), [[1, 1, 0]])
    with pytest.raises(ValueError, match="mask_type"):
        causal_mask((3, 3), "C")
    with pytest.raises(ValueError, match="odd kernel_size"):
        MaskedConv2d(1, 2, 4, "A")


@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_masked_conv_gradcheck(mask_type):
    """Gradient wrt x by gradcheck; wrt the weight and bias by centred differences of the
    layer's own output (the masked entries' gradient is exactly zero)."""
    layer = MaskedConv2d(2, 3, 3, mask_type).to(np.float64)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 2, 5, 5))
    assert_gradcheck(layer, [x])
    g = rng.standard_normal((2, 3, 5, 5))
    layer.zero_grad()
    (layer(x) * g).sum().backward()
    for param in (layer.weight, layer.bias):
        numerical = vg.numerical_gradient(lambda: float((layer(x).data * g).sum()), param.data)
        np.testing.assert_allclose(param.grad, numerical, rtol=1e-6, atol=1e-8)
    assert np.all(layer.weight.grad[:, :, causal_mask((3, 3), mask_type) == 0] == 0)


def test_masked_conv_matches_torch_with_masked_weight():
    torch = torch_or_skip()
    layer = MaskedConv2d(3, 4, 5, "A").to(np.float64)
    x = np.random.default_rng(1).standard_normal((2, 3, 6, 7))
    mask = torch.tensor(causal_mask((5, 5), "A"), dtype=torch.float64)
    ref = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(layer.weight.data) * mask,
                                     torch.tensor(layer.bias.data), padding=2)
    np.testing.assert_allclose(layer(x).data, ref.numpy(), rtol=1e-10, atol=1e-12)


def _earliest_changed(model, images, row, col):
    changed = images.copy()
    changed[:, 0, row, col] = 255 - changed[:, 0, row, col]
    diff = np.abs(model(images).data - model(changed).data).max(axis=(0, 1))
    return np.flatnonzero(diff.reshape(-1) > 0).min()


@pytest.mark.parametrize("model_class", [PixelCNN, PixelRNN])
def test_the_mask_hides_the_future(model_class):
    """Changing pixel (r, c) changes no output at (r, c) or before it in raster order, and
    does change the one right after it."""
    model = model_class(image_size=7, channels=8)
    images = np.random.default_rng(2).integers(0, 256, (2, 1, 7, 7))
    for row, col in [(0, 0), (3, 4), (6, 5)]:
        assert _earliest_changed(model, images, row, col) == row * 7 + col + 1


@pytest.mark.parametrize("model_class", [PixelCNN, PixelRNN])
def test_model_input_gradcheck(model_class):
    """The features (masked A conv, residual blocks or Row LSTM) gradchecked wrt their input."""
    model = model_class(image_size=4, channels=4).to(np.float64)
    x = np.random.default_rng(3).standard_normal((2, 1, 4, 4))
    assert_gradcheck(model.features, [x])


def test_nll_is_the_per_pixel_cross_entropy_and_bits_per_dim():
    model = PixelCNN(image_size=5, channels=4, blocks=1)
    images = np.random.default_rng(4).integers(0, 256, (3, 1, 5, 5))
    logits = model(images).data.astype(np.float64)
    log_p = logits - logits.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    per_image = -np.take_along_axis(log_p, images.astype(np.int64), axis=1).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(model.nll(images, reduction="none").data, per_image, rtol=1e-5)
    assert model.bits_per_dim(images, batch_size=2) == pytest.approx(
        per_image.mean() / (25 * np.log(2)), rel=1e-5)


@pytest.mark.parametrize("model_class", [PixelCNN, PixelRNN])
def test_sampling_shapes_and_seed(model_class):
    model = model_class(image_size=4, channels=4)
    a = model.sample(3, rng=0)
    assert a.shape == (3, 1, 4, 4) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, model.sample(3, rng=0))
    assert not np.array_equal(a, model.sample(3, rng=1))


def test_sampling_follows_the_model():
    """A model whose every logit favours level 200 samples mostly 200 at low temperature."""
    model = PixelCNN(image_size=3, channels=4, blocks=1)
    last = model.head[-1]
    last.weight.data[...] = 0
    last.bias.data[...] = 0
    last.bias.data[200] = 5.0
    assert np.all(model.sample(2, rng=0, temperature=0.1) == 200)


def test_bad_images_are_refused():
    model = PixelCNN(image_size=4, channels=4, blocks=1)
    with pytest.raises(ValueError, match="shape"):
        model(np.zeros((1, 1, 5, 5), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"\[0, 255\]"):
        model(np.full((1, 1, 4, 4), 0.5))
