import functools

import numpy as np
import pytest

from visiongrad.classic import FeaturePipeline, Softmax, color_histogram, hog, rgb_to_hue


def test_hue_of_primary_and_secondary_colours():
    colours = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1], [0, 0, 1], [1, 0, 1],
                        [0.5, 0.5, 0.5]], dtype=float)
    images = colours.T.reshape(1, 3, 1, 7)
    np.testing.assert_allclose(rgb_to_hue(images)[0, 0], [0, 1/6, 2/6, 3/6, 4/6, 5/6, 0])


def test_hue_matches_scikit_image():
    color = pytest.importorskip("skimage.color", reason="scikit-image not installed")
    images = np.random.default_rng(0).random((4, 3, 6, 5))
    reference = color.rgb2hsv(images.transpose(0, 2, 3, 1))[..., 0]
    np.testing.assert_allclose(rgb_to_hue(images), reference, atol=1e-12)


def test_color_histogram_counts_fractions_of_pixels():
    images = np.zeros((2, 3, 2, 2))
    images[0, 0] = 1  # all red: hue 0
    images[1, 2, 0] = 1  # top row blue (hue 2/3), bottom row black (hue 0)
    hist = color_histogram(images, n_bins=3)
    np.testing.assert_allclose(hist, [[1, 0, 0], [0.5, 0, 0.5]])


@pytest.mark.parametrize("cells, norm", [(1, "L1"), (2, "L2-Hys"), (2, "L2"), (3, "L1-sqrt")])
def test_hog_matches_scikit_image(cells, norm):
    feature = pytest.importorskip("skimage.feature", reason="scikit-image not installed")
    images = np.random.default_rng(0).random((3, 30, 27))
    ours = hog(images, orientations=9, pixels_per_cell=6, cells_per_block=cells,
               block_norm=norm)
    reference = np.stack([feature.hog(im, 9, (6, 6), (cells, cells), block_norm=norm)
                          for im in images])
    np.testing.assert_allclose(ours, reference, atol=1e-6)


def test_raw_hog_cells_of_a_vertical_edge():
    image = np.zeros((1, 8, 8))
    image[:, :, 4:] = 1  # intensity rises along columns: gradient angle 0 degrees
    cells = hog(image, orientations=4, pixels_per_cell=8, cells_per_block=None)
    # columns 3 and 4 see a centred difference of 1 on each of 8 rows; divided by 64 pixels
    np.testing.assert_allclose(cells, [[16 / 64, 0, 0, 0]])


def test_hog_of_rgb_uses_the_luminance():
    rng = np.random.default_rng(1)
    rgb = rng.random((2, 3, 16, 16))
    gray = np.einsum("nchw,c->nhw", rgb, [0.299, 0.587, 0.114])
    np.testing.assert_allclose(hog(rgb), hog(gray))
    with pytest.raises(ValueError, match="no 8x8 cell"):
        hog(rng.random((1, 5, 5)))


def test_pipeline_concatenates_and_standardises_with_training_statistics():
    rng = np.random.default_rng(2)
    train, test = rng.random((20, 3, 16, 16)), rng.random((5, 3, 16, 16))
    hue = functools.partial(color_histogram, n_bins=6)
    pipeline = FeaturePipeline(extractors=(hog, hue))
    features = pipeline.fit_transform(train)
    raw = np.hstack([hog(train), hue(train)])
    assert features.shape == raw.shape
    np.testing.assert_allclose(features.mean(axis=0), 0, atol=1e-12)
    varying = raw.std(axis=0) > 0
    np.testing.assert_allclose(features.std(axis=0)[varying], 1)
    expected = (np.hstack([hog(test), hue(test)]) - raw.mean(0)) / np.where(
        varying, raw.std(0), 1)
    np.testing.assert_allclose(pipeline.transform(test), expected)
    with pytest.raises(ValueError, match="these images give"):
        pipeline.transform(rng.random((2, 3, 24, 24)))


def test_features_feed_a_linear_classifier():
    rng = np.random.default_rng(3)
    y = np.arange(120) % 2
    images = rng.random((120, 3, 16, 16)) * 0.2
    images[y == 0, :, :, ::4] += 0.8  # class 0: vertical stripes; class 1: horizontal
    images[y == 1, :, ::4, :] += 0.8
    features = FeaturePipeline().fit_transform(images)
    model = Softmax(learning_rate=0.01, n_epochs=10, seed=0).fit(features[:80], y[:80])
    assert model.score(features[80:], y[80:]) == 1.0
