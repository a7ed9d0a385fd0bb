import numpy as np
import pytest

from visiongrad.detection.faster_rcnn import FasterRCNN, rois_of

from .models_helpers import SIZE, TINY, assert_detections, losses_over_steps, scenes


def small(masks=False):
    model = FasterRCNN(image_size=SIZE, channels=TINY, masks=masks, roi_batch=16, hidden=16)
    model.rpn.anchors = model.rpn.anchors / 2  # 8..16-pixel anchors for 8..16-pixel items
    return model


def test_rois_of_numbers_the_images():
    rois = rois_of([np.ones((2, 4)), np.zeros((0, 4)), 2 * np.ones((1, 4))])
    assert np.array_equal(rois[:, 0], [0, 0, 2]) and np.array_equal(rois[2, 1:], [2] * 4)
    assert rois_of([]).shape == (0, 5)


def test_proposals_are_clipped_and_few():
    model = small()
    c8, _ = model.features(scenes(2).images)
    logits, deltas = model.rpn(c8)
    assert logits.shape == (2, len(model.rpn.anchors))
    proposals = model.rpn.proposals(logits.data, deltas.data)
    for boxes in proposals:
        assert 0 < len(boxes) <= model.rpn.post_nms_top_n
        assert np.all(boxes >= 0) and np.all(boxes <= SIZE)


@pytest.mark.parametrize("masks", [False, True])
def test_losses_decrease_and_empty_images_work(masks):
    model = small(masks)
    data = scenes(4)
    values = losses_over_steps(model, data, steps=5)
    assert values[-1] < values[0]
    blank = np.zeros((2, 1, SIZE, SIZE), np.uint8)
    found = model.predict(blank)
    assert_detections(found, 2)
    if masks:
        assert all(f["masks"].shape == (len(f["boxes"]), SIZE, SIZE) for f in found)
    empty = {"boxes": np.zeros((0, 4)), "labels": [], "masks": np.zeros((0, SIZE, SIZE), bool)}
    loss, parts = model.loss(blank, [empty, empty])
    assert np.isfinite(loss.item()) and parts["box"] == 0 and parts["rpn_box"] == 0


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="multiple of 8"):
        FasterRCNN(image_size=36)
    with pytest.raises(ValueError, match="one entry per image"):
        small().loss(np.zeros((2, 1, SIZE, SIZE)), [])
