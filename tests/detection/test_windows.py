import numpy as np
import pytest

from visiongrad.detection.boxes import box_iou
from visiongrad.detection.windows import (
    WindowDetector,
    connected_components,
    grouping_proposals,
    sliding_windows,
)

from .models_helpers import SIZE, assert_detections, losses_over_steps, scenes


def test_sliding_windows_tile_the_image():
    windows = sliding_windows(32, sizes=(16,), aspect_ratios=(1.0,), step=8)
    assert len(windows) == 9
    assert windows.min() == 0 and windows.max() == 32
    assert np.all(windows[:, 2:] - windows[:, :2] == 16)
    tall = sliding_windows(32, sizes=(16,), aspect_ratios=(4.0,), step=8)
    assert np.all(tall[:, 3] - tall[:, 1] == 32) and np.all(tall[:, 2] - tall[:, 0] == 8)


def test_connected_components_match_scikit_image():
    measure = pytest.importorskip("skimage.measure", reason="scikit-image is a test reference")
    rng = np.random.default_rng(0)
    for _ in range(5):
        mask = rng.random((12, 15)) < 0.45
        ours, theirs = connected_components(mask), measure.label(mask, connectivity=1)
        assert ours.max() == theirs.max()
        # the same partition: each of our components is exactly one of theirs
        pairs = {(a, b) for a, b in zip(ours.ravel(), theirs.ravel(), strict=True)}
        assert len(pairs) == ours.max() + 1


def test_grouping_proposes_each_bright_region_and_their_union():
    image = np.zeros((32, 32), np.uint8)
    image[2:10, 3:7] = 200
    image[4:12, 8:14] = 200  # a second region one pixel away
    image[20:30, 20:28] = 200
    proposals = grouping_proposals(image)
    for box in ([3, 2, 7, 10], [8, 4, 14, 12], [3, 2, 14, 12], [20, 20, 28, 30]):
        assert box_iou(np.array([box], float), proposals).max() == 1.0
    with pytest.raises(ValueError, match="2-D"):
        grouping_proposals(np.zeros((1, 4, 4)))


@pytest.mark.parametrize("proposals", ["sliding", "grouping"])
def test_loss_decreases_and_empty_images_work(proposals):
    model = WindowDetector(image_size=SIZE, proposals=proposals, channels=(4, 8), hidden=16,
                           windows_per_image=16)
    values = losses_over_steps(model, scenes(3), steps=5)
    assert values[-1] < values[0]
    assert_detections(model.predict(np.zeros((2, 1, SIZE, SIZE), np.uint8)), 2)


def test_bad_proposals_named():
    with pytest.raises(ValueError, match="proposals"):
        WindowDetector(proposals="selective")
