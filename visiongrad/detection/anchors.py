"""Anchor boxes over a feature map's grid, as torchvision's ``AnchorGenerator``.

For each feature map, cell anchors of every size s and aspect ratio r (height / width)
are centred on 0:  h_ratio = sqrt(r), w_ratio = 1 / h_ratio, w = w_ratio s, h = h_ratio s,
cell anchor = round((-w, -h, w, h) / 2) (round half to even, as torch.round). They are
shifted to every grid cell (i, j) by (j stride_w, i stride_h, j stride_w, i stride_h),
stride = image size // grid size, and listed cell by cell in row-major order, the anchors
of one cell together (ratios outer, sizes inner): anchor index = (i W + j) A + a.
"""

from __future__ import annotations

import numpy as np


def cell_anchors(sizes, aspect_ratios, dtype=np.float32) -> np.ndarray:
    """(len(ratios) * len(sizes), 4) anchors centred on 0 (see the module).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import detection
    >>> detection.cell_anchors((32,), (0.5, 1.0, 2.0)).shape
    (3, 4)
    """
    sizes = np.asarray(sizes, dtype=dtype)
    ratios = np.asarray(aspect_ratios, dtype=dtype)
    if sizes.ndim != 1 or not sizes.size or np.any(sizes <= 0):
        raise ValueError(f"sizes must be a non-empty sequence of positive numbers, got {sizes}")
    if ratios.ndim != 1 or not ratios.size or np.any(ratios <= 0):
        raise ValueError("aspect_ratios must be a non-empty sequence of positive numbers, "
                         f"got {ratios}")
    h_ratios = np.sqrt(ratios)
    w_ratios = 1 / h_ratios
    widths = (w_ratios[:, None] * sizes[None, :]).reshape(-1)
    heights = (h_ratios[:, None] * sizes[None, :]).reshape(-1)
    return np.round(np.stack([-widths, -heights, widths, heights], axis=1) / 2)


def grid_anchors(base_anchors, grid_size, stride) -> np.ndarray:
    """``base_anchors`` (A, 4) shifted to every cell of a (H, W) grid with (stride_h,
    stride_w): (H W A, 4), cell by cell in row-major order.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import detection
    >>> base = detection.cell_anchors((16,), (1.0,))
    >>> detection.grid_anchors(base, (2, 3), (8, 8)).shape
    (6, 4)
    """
    (height, width), (stride_h, stride_w) = grid_size, stride
    shift_x = np.arange(width, dtype=base_anchors.dtype) * stride_w
    shift_y = np.arange(height, dtype=base_anchors.dtype) * stride_h
    shift_y, shift_x = np.meshgrid(shift_y, shift_x, indexing="ij")
    shifts = np.stack([shift_x, shift_y, shift_x, shift_y], axis=-1).reshape(-1, 1, 4)
    return (shifts + base_anchors[None]).reshape(-1, 4)


class AnchorGenerator:
    """Anchors for one or several feature maps (torchvision's ``AnchorGenerator``).

    Parameters
    ----------
    sizes : tuple of tuples
        Anchor sizes (square roots of areas, in image pixels), one tuple per feature map.
    aspect_ratios : tuple of tuples
        Height / width ratios, one tuple per feature map (or one tuple for all).

    Examples
    --------
    >>> from visiongrad.detection import AnchorGenerator
    >>> anchors = AnchorGenerator(sizes=((16,),), aspect_ratios=((1.0,),))
    >>> anchors((64, 64), [(2, 2)])
    array([[-8., -8.,  8.,  8.],
           [24., -8., 40.,  8.],
           [-8., 24.,  8., 40.],
           [24., 24., 40., 40.]], dtype=float32)
    """

    def __init__(self, sizes=((128, 256, 512),), aspect_ratios=((0.5, 1.0, 2.0),)):
        sizes = tuple(tuple(s) if np.ndim(s) else (s,) for s in sizes)
        aspect_ratios = tuple(tuple(r) if np.ndim(r) else (r,) for r in aspect_ratios)
        if len(aspect_ratios) == 1 and len(sizes) > 1:
            aspect_ratios = aspect_ratios * len(sizes)
        if len(sizes) != len(aspect_ratios):
            raise ValueError(f"sizes and aspect_ratios must have one entry per feature map, "
                             f"got {len(sizes)} and {len(aspect_ratios)}")
        self.sizes, self.aspect_ratios = sizes, aspect_ratios

    def num_anchors_per_location(self) -> list[int]:
        """A = len(sizes) * len(aspect_ratios) for each feature map."""
        return [len(s) * len(r) for s, r in zip(self.sizes, self.aspect_ratios, strict=True)]

    def __call__(self, image_size, grid_sizes, dtype=np.float32) -> np.ndarray:
        """All anchors of one image of ``image_size`` (H, W) for feature maps of
        ``grid_sizes`` [(h, w), ...], concatenated in feature-map order."""
        if len(grid_sizes) != len(self.sizes):
            raise ValueError(f"got {len(grid_sizes)} feature maps for {len(self.sizes)} "
                             "anchor settings")
        anchors = []
        for (h, w), sizes, ratios in zip(grid_sizes, self.sizes, self.aspect_ratios,
                                         strict=True):
            stride = (image_size[0] // h, image_size[1] // w)
            anchors.append(grid_anchors(cell_anchors(sizes, ratios, dtype), (h, w), stride))
        return np.concatenate(anchors)
