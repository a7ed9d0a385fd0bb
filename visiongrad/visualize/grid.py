"""The course's image-grid view of an embedding: every image snapped to a grid cell by its
2-D coordinates, drawn as one picture."""

from __future__ import annotations

import numpy as np


def embedding_grid(points, images, cells: int = 30) -> np.ndarray:
    """One picture of ``cells`` x ``cells`` tiles: the tile of grid cell (r, c) shows the
    image whose point, scaled into the unit square, lies in that cell nearest its centre
    (blank, 1.0, where no point falls).

    Parameters
    ----------
    points : (N, 2) embedding
    images : (N, H, W) or (N, H, W, 3) in [0, 1]

    Returns
    -------
    ndarray (cells H, cells W) or (cells H, cells W, 3)
    """
    points, images = np.asarray(points, dtype=np.float64), np.asarray(images)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) != len(images):
        raise ValueError(f"points must be (N, 2) for the N images, got {points.shape} and "
                         f"{len(images)} images")
    low, span = points.min(axis=0), np.ptp(points, axis=0)
    unit = (points - low) / np.where(span > 0, span, 1)
    cell = np.minimum((unit * cells).astype(np.int64), cells - 1)
    offset = ((unit * cells - cell - 0.5) ** 2).sum(axis=1)
    keys = cell[:, 0] * cells + cell[:, 1]
    order = np.lexsort((offset, keys))  # by cell, nearest the centre first
    first = order[np.r_[True, keys[order][1:] != keys[order][:-1]]]
    height, width = images.shape[1:3]
    canvas = np.ones((cells * height, cells * width, *images.shape[3:]), dtype=np.float64)
    for index in first:
        row, col = cell[index]
        canvas[(cells - 1 - col) * height:(cells - col) * height,
               row * width:(row + 1) * width] = images[index]
    return canvas
