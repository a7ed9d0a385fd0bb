"""visiongrad/imaging.py, the one home of pictures: grid layout, PNG pixels, overlays."""

import numpy as np
from PIL import Image

from visiongrad import imaging


def test_image_grid_places_each_image_in_its_tile_with_white_between():
    images = np.arange(3)[:, None, None, None] / 4 * np.ones((3, 1, 2, 3))
    grid = imaging.image_grid(images, columns=2, padding=1)
    assert grid.shape == (2 * 3 + 1, 2 * 4 + 1)
    assert (grid[1:3, 1:4] == 0).all() and (grid[1:3, 5:8] == 0.25).all()
    assert (grid[4:6, 1:4] == 0.5).all() and (grid[4:6, 5:8] == 1).all()  # empty tile white
    assert (grid[0] == 1).all() and (grid[:, 4] == 1).all()
    assert imaging.image_grid(np.zeros((4, 3, 2, 2))).shape == (10, 10, 3)  # padding 2


def test_save_png_writes_rounded_clipped_pixels_enlarged(tmp_path):
    image = np.array([[0.0, 0.5], [1.2, -1.0]])
    path = imaging.save_png(image, tmp_path / "x.png", scale=2)
    with Image.open(path) as written:
        pixels = np.asarray(written)
    np.testing.assert_array_equal(pixels, np.array([[0, 0, 128, 128], [0, 0, 128, 128],
                                                    [255, 255, 0, 0], [255, 255, 0, 0]]))


def test_overlay_blends_the_label_colour_into_the_mask_only():
    rgb = imaging.grey_to_rgb(np.zeros((2, 2)), scale=2)
    mask = np.array([[True, False], [False, False]])
    out = imaging.overlay_masks(rgb, [mask], [1], scale=2, alpha=0.5)
    np.testing.assert_array_equal(out[:2, :2], np.broadcast_to(imaging.PALETTE[1] // 2,
                                                               (2, 2, 3)))
    assert (out[2:] == 0).all() and (out[:, 2:] == 0).all()
