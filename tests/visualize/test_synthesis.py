"""Images made by gradient ascent: each does what it promises on a tiny model."""

import itertools

import numpy as np
import pytest

import visiongrad as vg
from visiongrad import functional as F
from visiongrad import models, optim
from visiongrad.visualize import (
    brightness_allowance,
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


@pytest.fixture(scope="module")
def trained_convnet():
    """A small convnet trained to tell three bright bars apart (rows 0-2, 2-4, 4-6) on
    8x8 images in [0, 1]: (model, images, labels)."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 40)
    images = 0.2 * rng.random((120, 1, 8, 8))
    for i, label in enumerate(labels):
        images[i, 0, 2 * label:2 * label + 3] += 0.6 + 0.2 * rng.random()
    images = np.clip(images, 0, 1)
    vg.manual_seed(0)
    model = models.create("three_layer_convnet", input_shape=(1, 8, 8), num_classes=3,
                          num_filters=4, filter_size=3, hidden_dim=16).to(np.float64)
    solver = optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        solver.zero_grad()
        F.cross_entropy(model(vg.tensor(images)), labels).backward()
        solver.step()
    assert (_scores(model, images).argmax(1) == labels).mean() > 0.95
    return model, images, labels


def test_min_norm_fooling_changes_less_than_least_norm_on_a_trained_model(trained_convnet):
    model, images, labels = trained_convnet
    x, targets = images[::12], (labels[::12] + 1) % 3
    first = fooling_image(model, x, targets, method="least_norm", clamp=(0, 1), max_iter=200)
    walked = fooling_image(model, x, targets, clamp=(0, 1), max_iter=200)
    for fooled in (first, walked):
        assert (_scores(model, fooled).argmax(1) == targets).all()
        assert fooled.min() >= 0 and fooled.max() <= 1
    ratio = _change(walked, x) / _change(first, x)
    assert (ratio < 1).all() and ratio.mean() < 0.985


def _least_change(gaps: np.ndarray, margins: np.ndarray) -> float:
    """The exact least |d| with gaps @ d >= margins (a few rows): the smallest feasible
    projection onto the solution set of some subset of the constraints held as equalities."""
    best = np.inf
    for size in range(1, len(gaps) + 1):
        for rows in itertools.combinations(range(len(gaps)), size):
            a, b = gaps[list(rows)], margins[list(rows)]
            d = a.T @ np.linalg.solve(a @ a.T, b)
            if (gaps @ d >= margins - 1e-9).all():
                best = min(best, float(np.linalg.norm(d)))
    return best


@pytest.mark.parametrize("seed", range(5))
def test_min_norm_fooling_of_a_linear_model_finds_the_least_change(linear_model, seed):
    """For scores W x the target t wins where (w_t - w_c) . (x + d) >= 0 for every other
    class c: a polytope whose nearest point the first crossing often misses."""
    rng = np.random.default_rng(seed)
    weight = rng.standard_normal((4, 12))
    x = rng.standard_normal((1, 3, 2, 2))
    target = int((weight @ x.ravel()).argmin())
    others = [c for c in range(4) if c != target]
    gaps = weight[target] - weight[others]
    least = _least_change(gaps, -gaps @ x.ravel())
    walked = fooling_image(linear_model(weight), x, target)
    assert (weight @ walked.ravel()).argmax() == target
    assert least <= _change(walked, x)[0] <= 1.01 * least
    assert _change(fooling_image(linear_model(weight), x, target, method="least_norm"),
                   x)[0] >= least


def test_allowance_keeps_pixels_and_weights_the_change(trained_convnet):
    """Pixels with allowance 0 never change; the rest still reach the target."""
    model, images, labels = trained_convnet
    x, targets = images[::20], (labels[::20] + 2) % 3
    mask = np.zeros((1, 1, 8, 8))
    mask[..., 1:7, 1:7] = 1.0
    fooled = fooling_image(model, x, targets, clamp=(0, 1), max_iter=300, allowance=mask)
    assert (_scores(model, fooled).argmax(1) == targets).all()
    np.testing.assert_array_equal(fooled[mask.repeat(len(x), 0) == 0],
                                  x[mask.repeat(len(x), 0) == 0])


def test_brightness_allowance_follows_its_formula():
    x = np.array([[[[0.0, 1.0], [0.5, 2.0]]], [[[-1.0, 0.25], [0.75, 1.0]]]])
    expected = (np.clip(x, 0, 1) + 0.1) / 1.1
    np.testing.assert_allclose(brightness_allowance(x, (0, 1)), expected)
    rgb = np.stack([np.full((2, 2), 0.0), np.full((2, 2), 3.0), np.full((2, 2), 1.0)])[None]
    low, high = np.zeros((1, 3, 1, 1)), np.array([1.0, 4.0, 2.0])[None, :, None, None]
    np.testing.assert_allclose(brightness_allowance(rgb, (low, high), floor=0.5),
                               np.full((1, 1, 2, 2), ((0 + 0.75 + 0.5) / 3 + 0.5) / 1.5))
    with pytest.raises(ValueError, match="clamp"):
        brightness_allowance(x, None)
    with pytest.raises(ValueError, match="floor"):
        brightness_allowance(x, (0, 1), floor=0)


@pytest.mark.parametrize("options, message", [
    ({"method": "fgsm"}, "method"),
    ({"overshoot": -0.1}, "overshoot"),
    ({"learning_rate": 0.0}, "learning_rate"),
    ({"refine_steps": -1}, "refine_steps"),
    ({"refine_steps": 2.5}, "refine_steps"),
    ({"allowance": -np.ones((1, 1, 8, 8))}, "allowance"),
    ({"allowance": np.ones((1, 1, 7, 7))}, "allowance"),
    ({"allowance": np.zeros((3, 1, 1, 1))}, "allowance"),
    ({"target": 3}, "target"),
])
def test_fooling_rejects_bad_arguments(tiny_convnet, images, options, message):
    options = {"target": 0, **options}
    with pytest.raises(ValueError, match=message):
        fooling_image(tiny_convnet, images, **options)


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
