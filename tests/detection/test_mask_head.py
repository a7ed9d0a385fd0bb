import numpy as np

from visiongrad.detection.mask_head import MASK_SIZE, MaskHead, mask_targets, paste_masks


def test_paste_fills_exactly_the_box():
    probabilities = np.ones((2, MASK_SIZE, MASK_SIZE), np.float32)
    pasted = paste_masks(probabilities, np.array([[2, 3, 10, 7], [-4, 20, 5, 40]]), (24, 16))
    expected = np.zeros((2, 24, 16), bool)
    expected[0, 3:7, 2:10] = True
    expected[1, 20:24, 0:5] = True
    assert np.array_equal(pasted, expected)


def test_paste_keeps_the_left_half():
    probabilities = np.zeros((1, MASK_SIZE, MASK_SIZE), np.float32)
    probabilities[:, :, :MASK_SIZE // 2] = 1
    pasted = paste_masks(probabilities, np.array([[0.0, 0.0, 8.0, 8.0]]), (8, 8))[0]
    assert pasted[:, :4].all() and not pasted[:, 4:].any()


def test_mask_targets_resample_the_matched_mask():
    masks = np.zeros((2, 16, 16), bool)
    masks[1, 4:12, 4:8] = True  # the left half of the box (4, 4, 12, 12)
    rois = np.array([[0, 4, 4, 12, 12]], np.float32)
    targets = mask_targets(rois, np.array([1]), [masks])
    assert targets.shape == (1, MASK_SIZE, MASK_SIZE)
    # the corners read a quarter of the mask (bilinear): only the inside is sure
    assert targets[0, 1:-1, 1:MASK_SIZE // 2 - 1].all()
    assert not targets[0, :, MASK_SIZE // 2 + 1:].any()


def test_head_shapes_and_class_choice():
    head = MaskHead(4, 3, width=4)
    p4 = np.random.default_rng(0).normal(size=(2, 4, 8, 8)).astype(np.float32)
    rois = np.array([[0, 0, 0, 16, 16], [1, 4, 4, 20, 28]], np.float32)
    logits = head(p4, rois)
    assert logits.shape == (2, 3, MASK_SIZE, MASK_SIZE)
    chosen = head.class_logits(p4, rois, [2, 0]).data
    assert np.allclose(chosen, logits.data[[0, 1], [2, 0]])
    assert head.probabilities(p4, np.zeros((0, 5), np.float32), []).shape == (0, 28, 28)
