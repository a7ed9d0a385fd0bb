"""The statistics an image is compared on with the training images, and the range rule."""

from __future__ import annotations

import numpy as np
import pytest

from visiongrad.recipes import input_check
from visiongrad.recipes.input_check import (
    MARGIN,
    image_statistics,
    input_ranges,
    unlike_training,
)


def test_statistics_by_hand():
    image = np.zeros((1, 1, 6, 6))
    image[0, 0, :, 3:] = 255  # left half black, right half white
    stats = {name: float(values[0]) for name, values in image_statistics(image).items()}
    assert stats["brightness"] == pytest.approx(0.5)
    assert stats["contrast"] == pytest.approx(0.5)
    # one jump of 1 among the 5 horizontal differences of each row; none vertically
    assert stats["roughness"] == pytest.approx((1 / 5 + 0) / 2)
    # the border: every pixel but the 2 x 2 centre (whose left half is black)
    assert stats["edge brightness"] == pytest.approx(16 / 32)


def test_chunks_give_the_statistics_of_the_whole(monkeypatch):
    images = np.random.default_rng(0).integers(0, 256, (7, 3, 9, 9))
    whole = image_statistics(images)
    monkeypatch.setattr(input_check, "_CHUNK", 2)
    for name, values in image_statistics(images).items():
        np.testing.assert_allclose(values, whole[name], rtol=1e-6)


def test_the_range_widened_by_the_margin():
    ranges = {"brightness": [0.2, 0.6]}  # the other statistics unknown: not checked
    inside = 0.6 + 0.9 * MARGIN * 0.4
    outside = 0.6 + 1.1 * MARGIN * 0.4
    images = np.stack([np.full((1, 4, 4), 255 * value) for value in (inside, outside)])
    phrases = unlike_training(images, ranges)
    assert phrases[0] == ""
    assert phrases[1].startswith(f"its brightness (mean pixel value) {outside:.3f} is outside "
                                 f"the training images' 0.200 to 0.600")


def test_training_images_are_inside_their_own_ranges():
    images = np.random.default_rng(1).integers(0, 256, (20, 1, 8, 8))
    assert unlike_training(images, input_ranges(images)) == [""] * 20


@pytest.mark.parametrize("ranges", [None, {}, {"contrast": [0.5, 0.1]},
                                    {"contrast": "wide"}, {"contrast": [0, float("nan")]}])
def test_missing_or_damaged_ranges_check_nothing(ranges):
    blank = np.zeros((2, 1, 8, 8))
    assert unlike_training(blank, ranges) == ["", ""]


def test_bad_images_are_refused():
    with pytest.raises(ValueError, match="N, C, H, W"):
        image_statistics(np.zeros((8, 8)))
