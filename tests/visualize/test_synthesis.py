"""Images made by gradient ascent: each does what it promises on a tiny model."""

import numpy as np
import pytest

import visiongrad as vg
from visiongrad.visualize import (
    class_visualization,
    deep_dream,
    fooling_image,
    gaussian_blur,
    invert_features,
    layer_features,
    resize,
)


def _scores(model, x):
    with vg.no_grad():
        return model(vg.tensor(x)).data


def test_fooling_images_are_classified_as_the_target_and_stay_close(tiny_convnet, images):
    predicted = _scores(tiny_convnet, images).argmax(1)
    targets = (predicted + 1) % 3
    fooled = fooling_image(tiny_convnet, images, targets, learning_rate=0.1, max_iter=500)
    assert (_scores(tiny_convnet, fooled).argmax(1) == targets).all()
    assert fooled.shape == images.shape and not np.array_equal(fooled, images)


def test_class_visualization_raises_each_target_score(tiny_convnet):
    start = class_visualization(tiny_convnet, [0, 1, 2], (1, 8, 8), iterations=0, seed=3)
    made = class_visualization(tiny_convnet, [0, 1, 2], (1, 8, 8), iterations=30,
                               learning_rate=1.0, l2_reg=0.0, blur_every=0, seed=3,
                               clamp=(-3, 3))
    assert made.shape == (3, 1, 8, 8) and np.abs(made).max() <= 3
    assert (np.diag(_scores(tiny_convnet, made)) > np.diag(_scores(tiny_convnet, start))).all()


def test_deep_dream_amplifies_the_layer(tiny_convnet, images):
    dream = deep_dream(tiny_convnet, "1", images[:1], octaves=2, iterations=5,
                       learning_rate=0.05, max_jitter=1)
    assert dream.shape == (1, 1, 8, 8)
    before = layer_features(tiny_convnet, "1", images[:1])
    after = layer_features(tiny_convnet, "1", dream)
    assert (after ** 2).sum() > 1.5 * (before ** 2).sum()
    with pytest.raises(ValueError, match="octave_scale"):
        deep_dream(tiny_convnet, "1", images[:1], octave_scale=1.0)


def test_inversion_moves_the_features_towards_the_target(tiny_convnet, images):
    target = layer_features(tiny_convnet, "1", images[:1])
    start = invert_features(tiny_convnet, "1", images[:1], iterations=0, tv_weight=0)
    made = invert_features(tiny_convnet, "1", images[:1], iterations=60, tv_weight=0,
                           learning_rate=0.1)
    distance = lambda x: ((layer_features(tiny_convnet, "1", x) - target) ** 2).sum()  # noqa: E731
    assert distance(made) < 0.3 * distance(start)


def test_blur_keeps_constants_and_resize_keeps_the_mean():
    flat = np.full((1, 2, 6, 7), 3.0)
    np.testing.assert_allclose(gaussian_blur(flat, 1.0), flat)
    x = np.random.default_rng(0).random((1, 1, 8, 8))
    assert gaussian_blur(x, 1.0).std() < x.std()
    assert resize(x, 16, 16).shape == (1, 1, 16, 16)
    assert abs(resize(x, 16, 16).mean() - x.mean()) < 0.05


def test_float64_clamp_bounds_keep_a_float32_model_running():
    from visiongrad import models

    model = models.create("three_layer_convnet", input_shape=(1, 8, 8), num_classes=3,
                          num_filters=2, filter_size=3, hidden_dim=4)
    low, high = np.float64(-1.5), np.float64(2.0)
    made = class_visualization(model, [0], (1, 8, 8), iterations=3, blur_every=2,
                               clamp=(low, high))
    assert made.dtype == np.float32 and made.min() >= low and made.max() <= high
