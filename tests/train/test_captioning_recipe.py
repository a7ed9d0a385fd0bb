"""The captioning recipe's attention measure, by hand."""

import numpy as np

from visiongrad.data.scenes import SceneSet
from visiongrad.train.captioning import attention_on_items


def test_attention_share_inside_the_named_box():
    images = np.zeros((1, 1, 64, 64), np.uint8)
    # a bag (class 8) in the top-left 32x32 quarter
    scenes = SceneSet(images, [np.array([[0, 0, 32, 32]])], [np.array([8])], [[["a", "bag"]]])
    weights = np.zeros((1, 3, 8, 8))
    weights[0, :, 0, 0] = 0.5  # half on a cell inside the box, half outside
    weights[0, :, 7, 7] = 0.5
    result = attention_on_items(weights, ["a bag", ], scenes)
    assert result["share_inside_box"] == 0.5 and result["uniform_share"] == 0.25
    assert result["item_words"] == 1 and result["words_naming_absent_items"] == 0
    assert attention_on_items(weights, ["a coat"], scenes)["words_naming_absent_items"] == 1
