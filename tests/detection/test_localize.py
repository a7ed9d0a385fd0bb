import numpy as np
import pytest

from visiongrad.detection.localize import Localizer

from .models_helpers import SIZE, TINY, assert_detections, losses_over_steps, scenes


def test_one_box_inside_the_image_per_image():
    model = Localizer(image_size=SIZE, channels=TINY, hidden=16)
    logits, boxes = model(scenes(3, max_items=1).images)
    assert logits.shape == (3, 11) and boxes.shape == (3, 4)
    assert np.all((boxes.data > 0) & (boxes.data < 1))
    found = model.predict(np.zeros((2, 1, SIZE, SIZE), np.uint8))  # no object: still one guess
    assert_detections(found, 2)
    assert all(len(f["boxes"]) == 1 and f["labels"][0] >= 1 for f in found)


def test_multitask_loss_decreases():
    model = Localizer(image_size=SIZE, channels=TINY, hidden=16)
    values = losses_over_steps(model, scenes(4, max_items=1), steps=6)
    assert values[-1] < 0.8 * values[0]


def test_one_object_per_image_is_required():
    model = Localizer(image_size=SIZE, channels=TINY, hidden=16)
    target = {"boxes": [[0, 0, 4, 4], [2, 2, 8, 8]], "labels": [1, 2]}
    with pytest.raises(ValueError, match="exactly one object"):
        model.loss(np.zeros((1, 1, SIZE, SIZE)), [target])
