"""Every detector's loss refuses a ground-truth box that would make its targets NaN or
infinite (a degenerate, empty or non-finite box) with one clear error, instead of
training on a NaN loss."""

import numpy as np
import pytest

from visiongrad.recipes.detect import DETECTORS, build_model, make_scenes
from visiongrad.recipes.detect import Config as SceneConfig


@pytest.mark.parametrize("model_name", DETECTORS)
@pytest.mark.parametrize("box", [[10, 10, 5, 30], [10, 10, 10, 10], [4, 4, 20, 4],
                                 [np.nan, 1, 20, 20], [1, 1, np.inf, 20]])
def test_a_degenerate_or_non_finite_box_is_refused(model_name, box):
    config = SceneConfig(model=model_name, size=32)
    model = build_model(config)
    images = make_scenes(config, "train", 2).images
    targets = [{"boxes": np.zeros((0, 4), np.float32), "labels": np.zeros(0, np.int64)},
               {"boxes": np.array([[2, 2, 12, 12], box], np.float32),
                "labels": np.array([1, 3])}]
    for target in targets:  # the mask head's targets carry masks too
        target["masks"] = np.zeros((len(target["boxes"]), 32, 32), bool)
    with pytest.raises(ValueError, match=r"target 1's box .* must be finite with x2 > x1"):
        model.loss(images, targets)
