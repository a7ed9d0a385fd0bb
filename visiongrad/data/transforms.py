"""Batch transforms and data augmentation for images of shape (N, C, H, W).

Every transform acts on a whole batch at once, with no Python loop over the images: flips
select images with a boolean mask, random crops gather per-image windows from a
``sliding_window_view`` by fancy indexing, and rotation, shear, translation, scaling and
resized crops are one batched affine warp (:func:`warp_affine`) with a 2x3 matrix per image.

Contract of every random transform
----------------------------------
- Input: an array (N, C, H, W) of any real dtype; it is never modified.
- Output: a new array with the same dtype and value range (integers are rounded and
  clipped back into their dtype), the same N, in the same order, so labels stay aligned.
- Randomness: the transform's own generator when it was built with ``rng=`` (a
  ``numpy.random.Generator`` or an int seed), else the ``rng`` passed to the call
  (:class:`~visiongrad.data.loader.DataLoader` passes one per epoch), else
  ``visiongrad.random.get_generator()``. NumPy's global random state is never used.

Compose them with :class:`Compose`; any callable ``images -> images`` (for example a
fitted preprocessing object from :mod:`visiongrad.data.preprocessing`) may be a step.

NOTE: unlike torchvision, transforms take and return batches, never single images, and
``ColorJitter`` applies brightness, contrast and saturation in that fixed order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..random import GeneratorLike, as_generator, optional_generator

__all__ = [
    "Compose", "RandomTransform", "RandomHorizontalFlip", "RandomVerticalFlip", "RandomCrop",
    "RandomResizedCrop", "RandomAffine", "RandomRotation", "RandomTranslation", "RandomShear",
    "ColorJitter", "RandomErasing", "Cutout", "warp_affine", "apply_transform",
]


def _check_batch(images) -> np.ndarray:
    if not isinstance(images, np.ndarray) or images.ndim != 4:
        shape = getattr(images, "shape", None)
        raise ValueError(f"transforms take a batch of images of shape (N, C, H, W), got "
                         f"{type(images).__name__} of shape {shape}")
    return images


def _pair(value, name: str) -> tuple:
    """``value`` as a pair: a number ``v`` means ``(v, v)``."""
    pair = (value, value) if np.isscalar(value) else tuple(value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be a number or a pair, got {value!r}")
    return pair


def _interval(value, name: str, centre: float = 0.0, lowest: float = -np.inf) -> tuple:
    """A sampling range: a number ``v`` means ``(centre - v, centre + v)`` (floored at
    ``lowest``), a pair is taken as is; ``lo <= hi`` is checked."""
    if np.isscalar(value):
        if value < 0:
            raise ValueError(f"{name} must be non-negative, got {value}")
        low, high = max(centre - value, lowest), centre + value
    else:
        low, high = _pair(value, name)
    if not low <= high:
        raise ValueError(f"{name} range must have low <= high, got ({low}, {high})")
    return float(low), float(high)


def _cast_like(values: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``values`` in ``like``'s dtype: integers rounded and clipped into the dtype's range."""
    if np.issubdtype(like.dtype, np.integer):
        info = np.iinfo(like.dtype)
        values = np.clip(np.rint(values), info.min, info.max)
    return values.astype(like.dtype, copy=False)


def _float_dtype(images: np.ndarray) -> np.dtype:
    """float64 for float64 images, else float32: the precision transforms compute in."""
    return np.dtype(np.float64 if images.dtype == np.float64 else np.float32)


class RandomTransform:
    """Base of the random transforms: resolves the generator, checks the batch.

    Subclasses implement ``apply(images, rng) -> images`` for a checked (N, C, H, W) batch.
    """

    def __init__(self, rng: GeneratorLike = None):
        self.rng = optional_generator(rng)

    def __call__(self, images: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        generator = self.rng if self.rng is not None else as_generator(rng)
        return self.apply(_check_batch(images), generator)

    def apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        shown = {key: value for key, value in vars(self).items() if key != "rng"}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


class Compose:
    """Apply ``transforms`` in order: ``Compose([a, b])(x) == b(a(x))``.

    Random transforms (and nested ``Compose``) receive the call's ``rng``; any other step
    is called as ``step(images)``.
    """

    def __init__(self, transforms: Sequence[Callable]):
        self.transforms = list(transforms)
        for step in self.transforms:
            if not callable(step):
                raise TypeError(f"every step of Compose must be callable, got {step!r}")

    def __call__(self, images: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        for step in self.transforms:
            images = apply_transform(step, images, rng)
        return images

    def __repr__(self) -> str:
        return "Compose([" + ", ".join(map(repr, self.transforms)) + "])"


def apply_transform(transform: Callable, images: np.ndarray,
                    rng: np.random.Generator | None = None) -> np.ndarray:
    """``transform(images, rng)`` for random transforms and ``Compose``, else
    ``transform(images)`` (any plain callable, e.g. a fitted preprocessing object)."""
    if isinstance(transform, (RandomTransform, Compose)):
        return transform(images, rng)
    return transform(images)


# ----------------------------------------------------------------------------- flips

class _RandomFlip(RandomTransform):
    axis: int

    def __init__(self, p: float = 0.5, rng: GeneratorLike = None):
        super().__init__(rng)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p}")
        self.p = p

    def apply(self, images, rng):
        flip = (rng.random(len(images)) < self.p)[:, None, None, None]
        return np.where(flip, np.flip(images, axis=self.axis), images)


class RandomHorizontalFlip(_RandomFlip):
    """Mirror each image left-right with probability ``p``: ``out[n, c, i, j] =
    x[n, c, i, W - 1 - j]`` for the chosen images, a copy of the rest."""

    axis = -1


class RandomVerticalFlip(_RandomFlip):
    """Flip each image upside down with probability ``p``: ``out[n, c, i, j] =
    x[n, c, H - 1 - i, j]`` for the chosen images, a copy of the rest."""

    axis = -2


# ----------------------------------------------------------------------------- crops

class RandomCrop(RandomTransform):
    """Pad each image, then cut a window of ``size`` at a random place (per image).

    ``out[n] = pad(x[n])[:, t_n : t_n + h, l_n : l_n + w]`` with ``t_n`` uniform in
    ``0 .. H + 2p - h`` and ``l_n`` in ``0 .. W + 2p - w``. All windows are gathered at once
    from a ``sliding_window_view`` of the padded batch.

    Parameters
    ----------
    size : int or (h, w)
        Output size; ``RandomCrop((H, W), padding=4)`` is the usual CIFAR augmentation.
    padding : int
        Pixels added on every side before cropping.
    padding_mode : {"constant", "edge", "reflect"}
        As in ``numpy.pad``; "constant" pads with ``fill``.
    fill : number
        The constant padding value.
    """

    def __init__(self, size, padding: int = 0, padding_mode: str = "constant", fill=0,
                 rng: GeneratorLike = None):
        super().__init__(rng)
        self.size = tuple(int(side) for side in _pair(size, "size"))
        if padding < 0:
            raise ValueError(f"padding must be non-negative, got {padding}")
        if padding_mode not in ("constant", "edge", "reflect"):
            raise ValueError(f"padding_mode must be 'constant', 'edge' or 'reflect', got "
                             f"{padding_mode!r}")
        self.padding, self.padding_mode, self.fill = int(padding), padding_mode, fill

    def apply(self, images, rng):
        p = self.padding
        extra = {"constant_values": self.fill} if self.padding_mode == "constant" else {}
        padded = np.pad(images, ((0, 0), (0, 0), (p, p), (p, p)), mode=self.padding_mode,
                        **extra) if p else images
        height, width = self.size
        rows, cols = padded.shape[2:]
        if height > rows or width > cols:
            raise ValueError(f"crop size {self.size} is larger than the padded images "
                             f"{(rows, cols)} (images {images.shape[2:]}, padding {p})")
        n = len(images)
        top = rng.integers(0, rows - height + 1, n)
        left = rng.integers(0, cols - width + 1, n)
        windows = sliding_window_view(padded, (height, width), axis=(2, 3))
        return windows[np.arange(n), :, top, left]


# ----------------------------------------------------------------------------- affine warps

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


# ----------------------------------------------------------------------------- colour

#: ITU-R BT.601 luma weights for R, G, B (as PIL and torchvision).
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])


def _luminance(x: np.ndarray) -> np.ndarray:
    """Grayscale (N, 1, H, W): luma-weighted for C=3, the channel mean otherwise."""
    if x.shape[1] == 3:
        return np.einsum("c,nchw->nhw", LUMA_WEIGHTS.astype(x.dtype), x)[:, None]
    return x.mean(axis=1, keepdims=True)


class ColorJitter(RandomTransform):
    """Random brightness, contrast and saturation, one factor of each per image.

    With factors ``b, k, s`` drawn uniformly from their ranges and ``gray(x)`` the luma
    (C=3) or channel mean::

        x <- b x                                    (brightness)
        x <- k (x - m) + m,  m = mean(gray(x))      (contrast, per image)
        x <- s (x - gray(x)) + gray(x)              (saturation; no effect when C = 1)

    then clipped to ``value_range``.

    Parameters
    ----------
    brightness, contrast, saturation : float or (min, max)
        A number ``v`` draws the factor from ``[max(0, 1 - v), 1 + v]``; 0 leaves it out.
    value_range : (low, high), optional
        Default (0, 255) for integer images and (0, 1) for float images; give it for other
        ranges (apply jitter before standardising).
    """

    def __init__(self, brightness=0.0, contrast=0.0, saturation=0.0, value_range=None,
                 rng: GeneratorLike = None):
        super().__init__(rng)
        self.brightness = _interval(brightness, "brightness", centre=1.0, lowest=0.0)
        self.contrast = _interval(contrast, "contrast", centre=1.0, lowest=0.0)
        self.saturation = _interval(saturation, "saturation", centre=1.0, lowest=0.0)
        self.value_range = value_range

    def apply(self, images, rng):
        n = len(images)
        factors = [rng.uniform(*span, n).reshape(n, 1, 1, 1)
                   for span in (self.brightness, self.contrast, self.saturation)]
        brightness, contrast, saturation = (f.astype(_float_dtype(images)) for f in factors)
        x = images.astype(_float_dtype(images)) * brightness
        mean = _luminance(x).mean(axis=(1, 2, 3), keepdims=True)
        x = contrast * (x - mean) + mean
        gray = _luminance(x)
        x = saturation * (x - gray) + gray
        low, high = self.value_range or ((0, 255) if np.issubdtype(images.dtype, np.integer)
                                         else (0.0, 1.0))
        return _cast_like(np.clip(x, low, high), images)


# ----------------------------------------------------------------------------- erasing

class _RectangleErase(RandomTransform):
    """Fill one axis-aligned rectangle per image with ``value``; subclasses draw them."""

    def __init__(self, p: float, value, rng):
        super().__init__(rng)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p}")
        self.p, self.value = p, value

    def rectangles(self, n: int, height: int, width: int, rng: np.random.Generator):
        """``(top, bottom, left, right)``, each (N,): rows ``top <= i < bottom`` etc."""
        raise NotImplementedError

    def apply(self, images, rng):
        n, _, height, width = images.shape
        top, bottom, left, right = self.rectangles(n, height, width, rng)
        erase = rng.random(n) < self.p
        rows, cols = np.arange(height), np.arange(width)
        inside_rows = (rows >= top[:, None]) & (rows < bottom[:, None])        # (N, H)
        inside_cols = (cols >= left[:, None]) & (cols < right[:, None])        # (N, W)
        mask = erase[:, None, None] & inside_rows[:, :, None] & inside_cols[:, None, :]
        return np.where(mask[:, None], np.asarray(self.value).astype(images.dtype), images)


class RandomErasing(_RectangleErase):
    """Random erasing (Zhong et al. 2017): with probability ``p`` fill a random rectangle of
    area fraction ``U(scale)`` and aspect ratio (w / h) log-uniform in ``ratio``
    (clipped to the image) with ``value``.

    NOTE: unlike torchvision, a rectangle that does not fit is clipped rather than re-drawn.
    """

    def __init__(self, p: float = 0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0,
                 rng: GeneratorLike = None):
        super().__init__(p, value, rng)
        self.scale, self.ratio = _interval(scale, "scale"), _interval(ratio, "ratio")

    def rectangles(self, n, height, width, rng):
        area = height * width * rng.uniform(*self.scale, n)
        aspect = np.exp(rng.uniform(*np.log(self.ratio), n))
        box_h = np.clip(np.rint(np.sqrt(area / aspect)), 1, height).astype(int)
        box_w = np.clip(np.rint(np.sqrt(area * aspect)), 1, width).astype(int)
        top = rng.integers(0, height - box_h + 1)
        left = rng.integers(0, width - box_w + 1)
        return top, top + box_h, left, left + box_w


class Cutout(_RectangleErase):
    """Cutout (DeVries & Taylor 2017): fill a ``size`` x ``size`` square centred on a uniformly
    random pixel with ``value``; the part outside the image is dropped. Probability ``p``."""

    def __init__(self, size: int, p: float = 1.0, value=0,
                 rng: GeneratorLike = None):
        super().__init__(p, value, rng)
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        self.size = int(size)

    def rectangles(self, n, height, width, rng):
        top = rng.integers(0, height, n) - self.size // 2
        left = rng.integers(0, width, n) - self.size // 2
        return top, top + self.size, left, left + self.size
