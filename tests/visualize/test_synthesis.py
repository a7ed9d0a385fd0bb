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
    for method in ("least_norm", "ascent"):
        fooled = fooling_image(tiny_convnet, images, targets, learning_rate=0.1, max_iter=500,
                               method=method)
        assert (_scores(tiny_convnet, fooled).argmax(1) == targets).all()
        assert fooled.shape == images.shape and not np.array_equal(fooled, images)


def _change(fooled, images):
    return np.linalg.norm((fooled - images).reshape(len(images), -1), axis=1)


def test_default_fooling_changes_less_than_the_course_method(tiny_convnet, images):
    targets = (_scores(tiny_convnet, images).argmax(1) + 1) % 3
    small = fooling_image(tiny_convnet, images, targets, learning_rate=0.1, max_iter=500)
    course = fooling_image(tiny_convnet, images, targets, learning_rate=0.1, max_iter=500,
                           method="ascent")
    assert (_scores(tiny_convnet, small).argmax(1) == targets).all()
    assert (_change(small, images) < _change(course, images)).all()


def test_least_norm_fooling_of_a_linear_model_crosses_at_the_boundary(linear_model):
    """For scores W x the least change that makes class t beat class o is
    (s_o - s_t) / |w_t - w_o| along w_t - w_o: one step of the default method."""
    rng = np.random.default_rng(1)
    weight = rng.standard_normal((2, 12))
    x = rng.standard_normal((1, 3, 2, 2))
    scores = weight @ x.ravel()
    target = int(scores.argmin())
    fooled = fooling_image(linear_model(weight), x, target, learning_rate=100.0, overshoot=0.0)
    distance = abs(scores[0] - scores[1]) / np.linalg.norm(weight[0] - weight[1])
    assert (weight @ fooled.ravel()).argmax() == target
    np.testing.assert_allclose(_change(fooled, x), distance, rtol=1e-3)


def test_least_norm_fooling_stays_inside_clamp(tiny_convnet, images):
    """Many pixels start on the bounds (as a black background does); the images still
    reach the target, and stay inside the bounds."""
    bounded = np.clip(images, -0.5, 0.5)
    targets = (_scores(tiny_convnet, bounded).argmax(1) + 2) % 3
    fooled = fooling_image(tiny_convnet, bounded, targets, max_iter=500, clamp=(-0.5, 0.5))
    assert (_scores(tiny_convnet, fooled).argmax(1) == targets).all()
    assert fooled.min() >= -0.5 and fooled.max() <= 0.5


def test_fooling_rejects_an_unknown_method(tiny_convnet, images):
    with pytest.raises(ValueError, match="method"):
        fooling_image(tiny_convnet, images, 0, method="fgsm")


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
