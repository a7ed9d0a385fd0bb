import numpy as np
import pytest

from visiongrad.detection.fcn import FCN

from .models_helpers import SIZE, TINY, losses_over_steps, scenes


def test_scores_cover_every_pixel_and_loss_decreases():
    model = FCN(channels=TINY)
    data = scenes(3)
    assert model(data.images).shape == (3, 11, SIZE, SIZE)
    values = losses_over_steps(model, data, steps=6, lr=1e-2)
    assert values[-1] < 0.9 * values[0]
    labels = model.predict(data.images)
    assert labels.shape == (3, SIZE, SIZE) and labels.dtype == np.int64
    assert labels.min() >= 0 and labels.max() < 11


def test_skips_carry_detail_to_full_resolution():
    """A change in one input pixel reaches its own score through the full-resolution skip
    even though the deepest map is 8 times coarser."""
    model = FCN(channels=TINY)
    model.eval()
    image = np.zeros((1, 1, 16, 16), np.float32)
    moved = image.copy()
    moved[0, 0, 5, 5] = 255
    change = np.abs(model(moved).data - model(image).data).sum(axis=1)[0]
    assert change[5, 5] > 0
    assert change[5, 5] >= change[0, 15]


def test_bad_input_is_named():
    model = FCN(channels=TINY)
    with pytest.raises(ValueError, match="multiples of 8"):
        model(np.zeros((1, 1, 12, 16)))
    with pytest.raises(ValueError, match="semantic labels"):
        model.loss(np.zeros((1, 1, 16, 16)), [{"semantic": np.full((16, 16), 11)}])
    with pytest.raises(ValueError, match="multiples of 16"):
        FCN(channels=(4, 8, 8, 8, 8))(np.zeros((1, 1, 24, 24)))
    with pytest.raises(ValueError, match="at least two encoder stages"):
        FCN(channels=(4,))


def test_scores_are_fine_plus_upsampled_coarse_as_the_docstring_says():
    """scores = conv1x1(D_1) + bilinear 4x upsampling of conv1x1(D_4), with the decoder
    D_s = fuse_s(ReLU(convT_s(D_2s)) + E_s) recomputed here from the modules."""
    from visiongrad import functional as F
    from visiongrad.detection.nets import image_tensor

    model = FCN(channels=(4, 8, 8, 8, 8))
    model.eval()
    images = scenes(2).images
    encoded = model.backbone(image_tensor(images))
    decoded, maps = encoded[-1], {}
    for level in (3, 2, 1, 0):
        decoded = model.fuses[level](F.relu(model.ups[level](decoded)) + encoded[level])
        maps[level] = decoded
    coarse = F.interpolate(model.coarse_classifier(maps[2]), scale_factor=4, mode="bilinear",
                           align_corners=False)
    expected = model.classifier(maps[0]).data + coarse.data
    np.testing.assert_allclose(model(images).data, expected, rtol=1e-5, atol=1e-6)
    assert np.abs(coarse.data).max() > 0
