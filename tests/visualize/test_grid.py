"""The image-grid view of an embedding."""

import numpy as np
import pytest

from visiongrad.visualize import embedding_grid


def test_each_cell_shows_the_image_nearest_its_centre():
    points = np.array([[0.0, 0.0], [1.0, 1.0], [0.1, 0.9], [0.05, 0.05], [0.9, 0.1]])
    images = np.stack([np.full((2, 3), v) for v in (0.1, 0.2, 0.3, 0.4, 0.5)])
    grid = embedding_grid(points, images, cells=2)
    assert grid.shape == (4, 6)
    # x grows to the right, y upwards; points 0 and 3 share the bottom-left cell, and 3
    # (at 0.05, 0.05, cell centre 0.25, 0.25) is nearer its centre than 0 (at the corner)
    np.testing.assert_array_equal(grid[2:, :3], 0.4)
    np.testing.assert_array_equal(grid[:2, 3:], 0.2)
    np.testing.assert_array_equal(grid[:2, :3], 0.3)
    np.testing.assert_array_equal(grid[2:, 3:], 0.5)


def test_empty_cells_are_blank_and_colour_images_work():
    points = np.array([[0.0, 0.0], [1.0, 1.0]])
    grid = embedding_grid(points, np.zeros((2, 2, 2, 3)), cells=3)
    assert grid.shape == (6, 6, 3) and grid[2:4, 2:4].min() == 1.0 and grid[4:, :2].max() == 0
    with pytest.raises(ValueError, match="points must be"):
        embedding_grid(np.zeros((3, 2)), np.zeros((2, 2, 2)))
