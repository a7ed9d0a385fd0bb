import numpy as np
import pytest
from helpers import assert_gradcheck

from visiongrad.autograd import Tensor
from visiongrad.detection.boxes import box_iou
from visiongrad.detection.single_shot import SingleShotDetector, centred_anchors, multibox_loss

from .models_helpers import SIZE, TINY, assert_detections, losses_over_steps, scenes


def test_anchors_are_centred_on_their_cells():
    anchors = centred_anchors((8,), (1.0,), (2, 3), 8)
    centres = (anchors[:, :2] + anchors[:, 2:]) / 2
    assert np.allclose(centres, [[4, 4], [12, 4], [20, 4], [4, 12], [12, 12], [20, 12]])
    assert np.allclose(anchors[:, 2:] - anchors[:, :2], 8)


def test_shapes_and_assignment():
    model = SingleShotDetector(image_size=SIZE, channels=TINY, sizes=((8, 12), (16, 24)))
    data = scenes(2)
    logits, deltas = model(data.images)
    anchors = len(model.anchors)
    assert anchors == (4 * 4 + 2 * 2) * 6
    assert logits.shape == (2, anchors, 11) and deltas.shape == (2, anchors, 4)
    labels, targets = model.assign([{"boxes": b, "labels": lab}
                                    for b, lab in zip(data.boxes, data.labels, strict=True)])
    for i in range(2):
        # every ground-truth box has its best anchor among the positives, with its label
        best = box_iou(data.boxes[i], model.anchors).argmax(1)
        assert np.array_equal(labels[i, best], data.labels[i])
        decoded = model.coder.decode_single(targets[i, best], model.anchors[best])
        assert np.allclose(decoded, data.boxes[i], atol=1e-3)
        assert np.all(targets[i, labels[i] <= 0] == 0)


def test_loss_decreases_and_predict_handles_empty_images():
    model = SingleShotDetector(image_size=SIZE, channels=TINY, sizes=((8, 12), (16, 24)))
    values = losses_over_steps(model, scenes(4))
    assert values[-1] < 0.8 * values[0]
    blank = np.zeros((2, 1, SIZE, SIZE), np.uint8)
    assert_detections(model.predict(blank), 2)
    # an image with no objects trains too: all anchors are background
    loss, parts = model.loss(blank, [{"boxes": np.zeros((0, 4)), "labels": []}] * 2)
    assert np.isfinite(loss.item()) and parts["box"] == 0


def test_bad_input_is_named():
    model = SingleShotDetector(image_size=SIZE, channels=TINY)
    with pytest.raises(ValueError, match="32x32"):
        model(np.zeros((1, 1, 16, 16)))
    with pytest.raises(ValueError, match="images"):
        model(np.zeros((1, 3, SIZE, SIZE)))
    with pytest.raises(ValueError, match="multiple of 16"):
        SingleShotDetector(image_size=40)
    with pytest.raises(ValueError, match="labels"):
        model.loss(np.zeros((1, 1, SIZE, SIZE)), [{"boxes": [[0, 0, 4, 4]], "labels": [0]}])


def test_multibox_loss_by_hand_and_gradcheck_float64():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(2, 6, 3))
    deltas = rng.normal(size=(2, 6, 4))
    labels = np.array([[1, 0, 0, 0, 0, -1], [0, 0, 0, 0, 0, 0]])
    targets = np.where(labels[..., None] > 0, rng.normal(size=(2, 6, 4)), 0)
    classifier, box = multibox_loss(Tensor(logits), Tensor(deltas), labels, targets, 2)
    # by hand: image 0 keeps its positive and its 2 background anchors of highest CE,
    # image 1 (no positive) its 2 highest; all over one positive
    ce = -np.log(np.exp(logits[..., 0]) / np.exp(logits).sum(-1))
    top0 = np.sort(ce[0, 1:5])[-2:].sum()
    positive_ce = -np.log(np.exp(logits[0, 0, 1]) / np.exp(logits[0, 0]).sum())
    assert classifier.item() == pytest.approx(positive_ce + top0 + np.sort(ce[1])[-2:].sum())
    d = np.abs(deltas[0, 0] - targets[0, 0])
    assert box.item() == pytest.approx(np.where(d < 1, 0.5 * d * d, d - 0.5).sum())

    def total(x, y):
        parts = multibox_loss(x, y, labels, targets, 2)
        return parts[0] + parts[1]

    assert_gradcheck(total, [logits, deltas])
