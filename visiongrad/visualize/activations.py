"""What a layer responds to: maximally activating patches and nearest neighbours in a
layer's feature space (the course's first ways of looking inside a CNN)."""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor, no_grad
from .layers import as_batch, frozen, layer_output


def layer_features(model, layer: str, images, batch_size: int = 256) -> np.ndarray:
    """The output of ``layer`` for every image, computed in batches without a graph.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import visualize
    >>> import visiongrad as vg
    >>> from visiongrad import nn
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
    ...                       nn.Linear(4 * 8 * 8, 3))
    >>> x = np.random.default_rng(0).random((2, 1, 8, 8)).astype(np.float32)
    >>> visualize.layer_features(model, '0', x).shape
    (2, 4, 8, 8)
    """
    images = as_batch(images, "images")
    parts = []
    with frozen(model), no_grad():
        for start in range(0, len(images), batch_size):
            parts.append(layer_output(model, layer, Tensor(images[start:start + batch_size])).data)
    return np.concatenate(parts)


def max_activating_patches(model, layer: str, images, k: int = 9, channels=None):
    """For each channel of ``layer``, the ``k`` image positions that activate it most.

    Each position's patch is its receptive field in that image, found as the bounding box
    of the pixels its activation depends on (the support of d activation / d image), so
    it works for any architecture.

    Parameters
    ----------
    layer : str   a name in ``model.named_modules()``; output (N, C, H', W') or (N, C)
    images : (N, C_in, H, W) floating array
    k : int   positions per channel (across all images and locations)
    channels : sequence of int, optional   default: every channel

    Returns
    -------
    indices : (len(channels), k) int   the image of each patch
    values : (len(channels), k)   its activation, in decreasing order
    boxes : (len(channels), k, 4) int   (top, left, bottom, right), bottom/right exclusive

    Examples
    --------
    >>> from visiongrad.visualize import max_activating_patches
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
    ...                       nn.Flatten(), nn.Linear(4 * 8 * 8, 3))
    >>> x = np.random.default_rng(0).random((2, 1, 8, 8)).astype(np.float32)
    >>> indices, values, boxes = max_activating_patches(model, '1', x, k=2)
    >>> indices.shape, values.shape, boxes.shape
    ((4, 2), (4, 2), (4, 2, 4))
    """
    images = as_batch(images, "images")
    features = layer_features(model, layer, images)
    spatial = features.reshape(*features.shape[:2], -1)
    channels = range(features.shape[1]) if channels is None else list(channels)
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= spatial.shape[0] * spatial.shape[2]:
        raise ValueError(f"k must be an int in [1, {spatial.shape[0] * spatial.shape[2]}], "
                         f"got {k!r}")
    indices, values, boxes = [], [], []
    for channel in channels:
        if not 0 <= channel < features.shape[1]:
            raise ValueError(f"channel {channel} out of range for {features.shape[1]} channels")
        flat = spatial[:, channel].ravel()
        best = np.argsort(-flat, kind="stable")[:k]
        image_index, position = np.divmod(best, spatial.shape[2])
        indices.append(image_index)
        values.append(flat[best])
        boxes.append(_receptive_boxes(model, layer, images[image_index], channel, position))
    return np.array(indices), np.array(values), np.array(boxes)


def _receptive_boxes(model, layer, images, channel, positions) -> np.ndarray:
    """Bounding boxes of the input pixels each image's activation at ``positions`` reads."""
    with frozen(model):
        x = Tensor(images.copy(), requires_grad=True)
        out = layer_output(model, layer, x)
        flat = out.reshape(out.shape[0], out.shape[1], -1)
        flat[np.arange(len(images)), channel, positions].sum().backward()
    boxes = []
    for grad in np.abs(x.grad).max(axis=1):
        rows, cols = np.nonzero(grad)
        if rows.size == 0:  # no path (a dead unit): the whole image
            boxes.append((0, 0, grad.shape[0], grad.shape[1]))
        else:
            boxes.append((rows.min(), cols.min(), rows.max() + 1, cols.max() + 1))
    return np.array(boxes)


def feature_neighbours(model, layer: str, queries, gallery, k: int = 5):
    """The ``k`` gallery images nearest each query in ``layer``'s feature space (L2).

    Returns
    -------
    indices : (len(queries), k) int   gallery indices, nearest first
    distances : (len(queries), k)   their Euclidean distances

    Examples
    --------
    >>> from visiongrad.visualize import feature_neighbours
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
    ...                       nn.Flatten(), nn.Linear(4 * 8 * 8, 3))
    >>> x = np.random.default_rng(0).random((2, 1, 8, 8)).astype(np.float32)
    >>> indices, distances = feature_neighbours(model, '1', x, x, k=2)
    >>> indices[:, 0], distances[:, 0].round(4)     # each image is its own nearest
    (array([0, 1]), array([0., 0.]))
    """
    query_codes = layer_features(model, layer, queries).reshape(len(queries), -1)
    gallery_codes = layer_features(model, layer, gallery).reshape(len(gallery), -1)
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= len(gallery_codes):
        raise ValueError(f"k must be an int in [1, {len(gallery_codes)}], got {k!r}")
    q, g = query_codes.astype(np.float64), gallery_codes.astype(np.float64)
    squared = np.maximum((q * q).sum(1)[:, None] + (g * g).sum(1)[None] - 2 * q @ g.T, 0)
    order = np.argsort(squared, axis=1, kind="stable")[:, :k]
    return order, np.sqrt(np.take_along_axis(squared, order, axis=1))
