"""Is an image like the ones a classifier was trained on? Four statistics of each
training image, their range stored in the checkpoint, and the check ``predict`` runs.

A classifier answers for any input, and as confidently for a photo or a blank image as
for the clothes it learned (softmax scores say nothing about how far an input is from the
training data). ``predict`` therefore warns when an image lies outside what the training
images looked like, by four statistics of the pixels scaled to [0, 1]:

==================  ===============================================================
brightness          the mean pixel value
contrast            the standard deviation of the pixel values (0 for a blank image)
roughness           the mean absolute difference of horizontally and vertically
                    neighbouring pixels (high for noise, which photos and clothes lack)
edge brightness     the mean of the outermost two rows and columns (the background:
                    dark for Fashion-MNIST, rarely for a photo)
==================  ===============================================================

The rule: an image is unlike the training images when one statistic lies outside the
training images' range of it [min, max], widened by :data:`MARGIN` of the range's width
on each side. Why the range: for an image drawn like the n training images, the chance
that it falls outside their range of one statistic is at most 2 / (n + 1) (of n + 1
exchangeable values, each is the largest or the smallest with probability 1 / (n + 1)),
whatever the statistic's distribution (brightness and edge brightness are skewed, so a
z-score's normal tails would mislead); the margin makes a false alarm rarer still. On
Fashion-MNIST (60,000 training images) none of the 10,000 test images is flagged, while a
blank image (contrast 0), uniform noise (roughness 0.34 against at most 0.28) and a white
image are. A photo is flagged when its border is brighter than any training image's (of
five scikit-image sample photos made 28x28 grey, one as they are and four inverted), so no
warning is no proof that an image is like the training images: four statistics see only
so much.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

STATISTICS = {
    "brightness": "mean pixel value",
    "contrast": "standard deviation of the pixels",
    "roughness": "mean difference of neighbouring pixels",
    "edge brightness": "mean of the two-pixel border",
}
"""The statistics, by name, with what each measures (pixels scaled to [0, 1])."""

MARGIN = 0.1
"""The training range of a statistic is widened by this fraction of its width on each
side before an image is called unlike the training images."""

_CHUNK = 4096  # images per pass, so that a large training set is never copied at once


def image_statistics(images: np.ndarray, scale: float = 255.0) -> dict[str, np.ndarray]:
    """The :data:`STATISTICS` of each image of ``images`` (N, C, H, W) divided by ``scale``.

    Returns
    -------
    dict of str to ndarray, shape (N,)

    Examples
    --------
    >>> blank = np.full((1, 1, 8, 8), 255, dtype=np.uint8)
    >>> {name: float(value[0]) for name, value in image_statistics(blank).items()}
    {'brightness': 1.0, 'contrast': 0.0, 'roughness': 0.0, 'edge brightness': 1.0}
    """
    images = np.asarray(images)
    if images.ndim != 4 or not len(images):
        raise ValueError(f"image_statistics needs images (N, C, H, W), got shape {images.shape}")
    parts = [_statistics(images[start:start + _CHUNK].astype(np.float32) / np.float32(scale))
             for start in range(0, len(images), _CHUNK)]
    return {name: np.concatenate([part[name] for part in parts]) for name in STATISTICS}


def _statistics(x: np.ndarray) -> dict[str, np.ndarray]:
    flat = x.reshape(len(x), -1)
    across = np.abs(np.diff(x, axis=-1)).mean(axis=(1, 2, 3)) if x.shape[-1] > 1 else 0
    down = np.abs(np.diff(x, axis=-2)).mean(axis=(1, 2, 3)) if x.shape[-2] > 1 else 0
    border = np.ones(x.shape[-2:], dtype=bool)
    border[2:-2, 2:-2] = False
    return {"brightness": flat.mean(axis=1), "contrast": flat.std(axis=1),
            "roughness": np.broadcast_to((across + down) / 2, (len(x),)),
            "edge brightness": x[..., border].reshape(len(x), -1).mean(axis=1)}


def input_ranges(images: np.ndarray, scale: float = 255.0) -> dict[str, list[float]]:
    """Each statistic's [min, max] over the training ``images``, JSON-ready (stored in a
    checkpoint's config as ``input_ranges``)."""
    return {name: [float(values.min()), float(values.max())]
            for name, values in image_statistics(images, scale).items()}


def unlike_training(images: np.ndarray, ranges: Mapping, scale: float = 255.0) -> list[str]:
    """For each image of ``images`` that is unlike the training images (see the module's
    rule), one phrase naming the first statistic out of range, its value and the range;
    an empty string for an image that is not. A ``ranges`` that is not the mapping
    :func:`input_ranges` writes (an older checkpoint has none) checks nothing."""
    names = [name for name in STATISTICS if _is_range(ranges, name)] if isinstance(
        ranges, Mapping) else []
    if not names:
        return [""] * len(images)
    statistics = image_statistics(images, scale)
    phrases = []
    for index in range(len(images)):
        phrase = ""
        for name in names:
            low, high = ranges[name]
            margin = MARGIN * (high - low)
            value = float(statistics[name][index])
            if not low - margin <= value <= high + margin:
                phrase = (f"its {name} ({STATISTICS[name]}) {value:.3f} is outside the "
                          f"training images' {low:.3f} to {high:.3f}")
                break
        phrases.append(phrase)
    return phrases


def _is_range(ranges: Mapping, name: str) -> bool:
    value = ranges.get(name)
    return (isinstance(value, list) and len(value) == 2
            and all(isinstance(v, (int, float)) and np.isfinite(v) for v in value)
            and value[0] <= value[1])
