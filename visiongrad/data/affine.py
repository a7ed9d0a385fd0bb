"""Affine augmentations: one batched warp (:func:`warp_affine`) with a 2x3 matrix per image
for rotation, translation, scaling, shear and resized crops. Re-exported by
:mod:`visiongrad.data.transforms`, whose docstring states the contract they follow."""

from __future__ import annotations

import numpy as np

from ..random import GeneratorLike
from .transform_base import (
    RandomTransform,
    _cast_like,
    _check_batch,
    _float_dtype,
    _interval,
    _pair,
)

__all__ = ["warp_affine", "RandomAffine", "RandomRotation", "RandomTranslation",
           "RandomShear", "RandomResizedCrop"]


def warp_affine(images: np.ndarray, matrices: np.ndarray, output_size: tuple | None = None,
                fill=0, interpolation: str = "bilinear", padding_mode: str = "constant"
                ) -> np.ndarray:
    """Sample every image at the points its affine matrix maps the output grid to.

    ``out[n, c, i, j] = x[n, c, y, x]`` with ``(x, y) = A_n (j, i, 1)^T``: ``A_n`` maps
    output pixel coordinates (column ``j``, row ``i``, pixel centres at integers) to input
    coordinates, i.e. it is the *inverse* of the geometric transform applied to the image.
    Bilinear interpolation weights the four neighbours,
    ``out = (1-fy)((1-fx) x[y0, x0] + fx x[y0, x0+1]) + fy((1-fx) x[y0+1, x0] + fx x[y0+1, x0+1])``
    with ``x0 = floor(x)``, ``fx = x - x0`` (likewise for y).

    Parameters
    ----------
    images : numpy.ndarray, shape (N, C, H, W)
    matrices : numpy.ndarray, shape (N, 2, 3)
    output_size : (Ho, Wo), optional
        Default (H, W).
    fill : number
        Value of the points outside the image (``padding_mode="constant"``).
    interpolation : {"bilinear", "nearest"}
    padding_mode : {"constant", "border"}
        Outside points read ``fill``, or the nearest edge pixel.

    Returns
    -------
    numpy.ndarray, shape (N, C, Ho, Wo)
        Same dtype as ``images`` (integers rounded and clipped).
    """
    images = _check_batch(images)
    if interpolation not in ("bilinear", "nearest"):
        raise ValueError(f"interpolation must be 'bilinear' or 'nearest', got {interpolation!r}")
    if padding_mode not in ("constant", "border"):
        raise ValueError(f"padding_mode must be 'constant' or 'border', got {padding_mode!r}")
    n, channels, height, width = images.shape
    matrices = np.asarray(matrices)
    if matrices.shape != (n, 2, 3):
        raise ValueError(f"matrices must have shape {(n, 2, 3)} for images of shape "
                         f"{images.shape}, got {matrices.shape}")
    out_height, out_width = output_size or (height, width)
    dtype = _float_dtype(images)
    rows, cols = np.mgrid[0:out_height, 0:out_width].astype(dtype)
    a = matrices.astype(dtype)[:, :, :, None, None]
    x = a[:, 0, 0] * cols + a[:, 0, 1] * rows + a[:, 0, 2]           # (N, Ho, Wo)
    y = a[:, 1, 0] * cols + a[:, 1, 1] * rows + a[:, 1, 2]
    if padding_mode == "border":
        x, y = np.clip(x, 0, width - 1), np.clip(y, 0, height - 1)
    # One pixel of `fill` around each image; indices are clipped into it, so any point
    # outside the image reads `fill`.
    padded = np.pad(images.astype(dtype), ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=fill)
    flat = padded.reshape(n, channels, -1)

    def gather(yi: np.ndarray, xi: np.ndarray) -> np.ndarray:
        yi = np.clip(yi, -1, height).astype(np.intp)
        xi = np.clip(xi, -1, width).astype(np.intp)
        index = ((yi + 1) * (width + 2) + xi + 1).reshape(n, 1, -1)
        return np.take_along_axis(flat, index, axis=2)               # (N, C, Ho * Wo)

    if interpolation == "nearest":
        out = gather(np.floor(y + 0.5), np.floor(x + 0.5))
    else:
        x0, y0 = np.floor(x), np.floor(y)
        fx = (x - x0).reshape(n, 1, -1)
        fy = (y - y0).reshape(n, 1, -1)
        top = (1 - fx) * gather(y0, x0) + fx * gather(y0, x0 + 1)
        bottom = (1 - fx) * gather(y0 + 1, x0) + fx * gather(y0 + 1, x0 + 1)
        out = (1 - fy) * top + fy * bottom
    return _cast_like(out.reshape(n, channels, out_height, out_width), images)


class RandomAffine(RandomTransform):
    """Random rotation, translation, scaling and shear about the image centre, per image.

    A point ``p = (x, y)`` of an image moves to ``p' = c + t + M (p - c)`` with
    ``c = ((W - 1) / 2, (H - 1) / 2)`` and

        M = s R(theta) S,  R(theta) = [[cos theta, sin theta], [-sin theta, cos theta]],
        S = [[1, tan phi_x], [0, 1]] [[1, 0], [tan phi_y, 1]]

    (y points down, so a positive ``theta`` turns the picture counter-clockwise as seen,
    as in torchvision; a positive ``phi_x`` moves rows below the centre to the right).
    The output is sampled at ``p = c + M^-1 (p' - c - t)`` by :func:`warp_affine`.

    Parameters
    ----------
    degrees : float or (min, max)
        Rotation angle ``theta`` in degrees, uniform in ``(-degrees, degrees)`` or the range.
    translate : (fx, fy), optional
        ``t = (tx, ty)`` in whole pixels, ``tx`` uniform in ``[-fx W, fx W]`` and rounded.
    scale : (min, max), optional
        ``s`` uniform in the range (default 1).
    shear : float, (min, max) or (x_min, x_max, y_min, y_max), optional
        Shear angles in degrees; a number or pair shears along x only.
    interpolation : {"bilinear", "nearest"}
    fill : number
        Value of the pixels that come from outside the image.
    """

    def __init__(self, degrees=0.0, translate=None, scale=None, shear=None,
                 interpolation: str = "bilinear", fill=0,
                 rng: GeneratorLike = None):
        super().__init__(rng)
        self.degrees = _interval(degrees, "degrees")
        self.translate = None if translate is None else _pair(translate, "translate")
        if self.translate is not None and not all(0 <= f <= 1 for f in self.translate):
            raise ValueError(f"translate fractions must lie in [0, 1], got {translate}")
        self.scale = None if scale is None else _interval(scale, "scale")
        if self.scale is not None and self.scale[0] <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        if shear is None or np.isscalar(shear) or len(shear) == 2:
            self.shear = (0.0, 0.0, 0.0, 0.0) if shear is None \
                else (*_interval(shear, "shear"), 0.0, 0.0)
        else:
            self.shear = (*_interval(shear[:2], "shear x"), *_interval(shear[2:], "shear y"))
        self.interpolation, self.fill = interpolation, fill

    def matrices(self, n: int, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` transforms; return the sampling matrices (N, 2, 3) for warp_affine."""
        theta = np.deg2rad(rng.uniform(*self.degrees, n))
        shear_x = np.tan(np.deg2rad(rng.uniform(*self.shear[:2], n)))
        shear_y = np.tan(np.deg2rad(rng.uniform(*self.shear[2:], n)))
        s = rng.uniform(*self.scale, n) if self.scale is not None else np.ones(n)
        shift = np.zeros((n, 2))
        if self.translate is not None:
            limit = np.array(self.translate) * (width, height)
            shift = np.rint(rng.uniform(-limit, limit, (n, 2)))
        cos, sin = np.cos(theta), np.sin(theta)
        rotation = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], -2)
        ones, zeros = np.ones(n), np.zeros(n)
        shear_matrix = (np.stack([np.stack([ones, shear_x], -1), np.stack([zeros, ones], -1)], -2)
                        @ np.stack([np.stack([ones, zeros], -1),
                                    np.stack([shear_y, ones], -1)], -2))
        forward = s[:, None, None] * rotation @ shear_matrix                 # M, (N, 2, 2)
        inverse = np.linalg.inv(forward)
        centre = np.array([(width - 1) / 2, (height - 1) / 2])
        offset = centre - np.einsum("nij,nj->ni", inverse, centre + shift)  # c - M^-1 (c + t)
        return np.concatenate([inverse, offset[:, :, None]], axis=2)

    def apply(self, images, rng):
        n, _, height, width = images.shape
        return warp_affine(images, self.matrices(n, height, width, rng), fill=self.fill,
                           interpolation=self.interpolation)


class RandomRotation(RandomAffine):
    """Rotate each image by an angle uniform in ``(-degrees, degrees)`` (or the given range),
    counter-clockwise for positive angles, about its centre. See :class:`RandomAffine`."""

    def __init__(self, degrees, interpolation: str = "bilinear", fill=0,
                 rng: GeneratorLike = None):
        super().__init__(degrees=degrees, interpolation=interpolation, fill=fill, rng=rng)


class RandomTranslation(RandomAffine):
    """Shift each image by whole pixels, up to ``translate = (fx, fy)`` of its width and
    height; uncovered pixels get ``fill``. See :class:`RandomAffine`."""

    def __init__(self, translate, fill=0, rng: GeneratorLike = None):
        super().__init__(translate=translate, interpolation="nearest", fill=fill, rng=rng)


class RandomShear(RandomAffine):
    """Shear each image by angles (degrees) drawn from ``shear``; see :class:`RandomAffine`."""

    def __init__(self, shear, interpolation: str = "bilinear", fill=0,
                 rng: GeneratorLike = None):
        super().__init__(shear=shear, interpolation=interpolation, fill=fill, rng=rng)


class RandomResizedCrop(RandomTransform):
    """Cut a random box of random area and aspect ratio from each image, resize it to ``size``.

    Per image: area fraction ``a ~ U(scale)``, aspect ratio ``r = w / h`` log-uniform in
    ``ratio``, box ``w = sqrt(a H W r)``, ``h = sqrt(a H W / r)`` (clipped to the image),
    its corner uniform over the positions that keep it inside. Output pixel ``(i, j)``
    samples ``x = left + (j + 1/2) w / Wo - 1/2``, ``y = top + (i + 1/2) h / Ho - 1/2``
    (pixel-centre alignment, edges clamped), bilinearly by default.

    NOTE: unlike torchvision, a box that does not fit is clipped rather than re-drawn.
    """

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3),
                 interpolation: str = "bilinear", rng: GeneratorLike = None):
        super().__init__(rng)
        self.size = tuple(int(side) for side in _pair(size, "size"))
        self.scale = _interval(scale, "scale")
        self.ratio = _interval(ratio, "ratio")
        if not 0 < self.scale[0] <= self.scale[1] <= 1 or self.ratio[0] <= 0:
            raise ValueError(f"scale must lie in (0, 1] and ratio be positive, got scale={scale}, "
                             f"ratio={ratio}")
        self.interpolation = interpolation

    def apply(self, images, rng):
        n, _, height, width = images.shape
        area = height * width * rng.uniform(*self.scale, n)
        aspect = np.exp(rng.uniform(*np.log(self.ratio), n))
        box_w = np.clip(np.sqrt(area * aspect), 1, width)
        box_h = np.clip(np.sqrt(area / aspect), 1, height)
        left = rng.uniform(0, 1, n) * (width - box_w)
        top = rng.uniform(0, 1, n) * (height - box_h)
        out_h, out_w = self.size
        step_x, step_y = box_w / out_w, box_h / out_h
        matrices = np.zeros((n, 2, 3))
        matrices[:, 0, 0], matrices[:, 0, 2] = step_x, left + step_x / 2 - 0.5
        matrices[:, 1, 1], matrices[:, 1, 2] = step_y, top + step_y / 2 - 0.5
        return warp_affine(images, matrices, self.size, interpolation=self.interpolation,
                           padding_mode="border")
