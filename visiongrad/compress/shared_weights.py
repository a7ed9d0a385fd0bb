"""Weight sharing (Han et al., 2016, section 3): each layer's surviving weights are clustered
by 1-D k-means and replaced by their centroid; the layer then stores a small codebook and
one index per weight, and fine-tuning updates the codebook with the summed gradients of
each cluster's members.

Index 0 of a layer's indices is reserved for zero (a pruned weight, or the format's filler),
so ``cluster_bits`` b allow ``2**b - 1`` centroids and every index fits in b bits.

>>> centroids, indices = cluster_weights(weight, bits=5, init="linear")  # doctest: +SKIP
>>> layers = share_weights(model, bits=5)      # fine-tune: the centroids are Parameters
>>> materialize(model)                          # back to plain layers with shared values
"""

from __future__ import annotations

import numpy as np

from .. import nn
from ..autograd import Function, Tensor
from ..backend import xp
from .pruning import prunable_weights

INITS = ("linear", "density", "random")


class SharedWeight(Function):
    """A weight made of a codebook and per-weight indices; index 0 means zero.

    Forward:  W[j] = c[idx[j] - 1] if idx[j] > 0 else 0
    Backward: dc[k] = sum of dW[j] over the j with idx[j] = k + 1   (each centroid gets
              the summed gradient of its cluster; zeros get none)
    Shapes:   centroids c (K,) float; indices idx (any shape) integers in [0, K] ->
              W of the indices' shape

    Examples
    --------
    >>> from visiongrad.compress import SharedWeight
    >>> SharedWeight.apply(vg.tensor([-1.0, 2.0]), indices=np.array([0, 1, 2]))
    Tensor([ 0. -1.  2.])
    """

    def forward(self, centroids, indices):
        if indices.dtype.kind not in "iu":
            raise ValueError(f"shared_weight: indices must be integers, got {indices.dtype}")
        if indices.size and (indices.min() < 0 or indices.max() > centroids.size):
            raise ValueError(f"shared_weight: indices must lie in [0, {centroids.size}], got "
                             f"[{indices.min()}, {indices.max()}]")
        self.indices, self.count = indices, centroids.size
        padded = xp.concatenate([xp.zeros(1, dtype=centroids.dtype), centroids])
        return padded[indices]

    def backward(self, grad_out):
        summed = xp.bincount(self.indices.ravel(), weights=grad_out.ravel(),
                             minlength=self.count + 1)
        return summed[1:].astype(grad_out.dtype), None


def shared_weight(centroids, indices) -> Tensor:
    """``SharedWeight``: the weight ``centroids[indices - 1]`` (0 where ``indices == 0``).

    Examples
    --------
    >>> from visiongrad.compress import shared_weight
    >>> shared_weight(vg.tensor([-1.0, 2.0]), np.array([[0, 1], [2, 2]]))
    Tensor([[ 0. -1.]
     [ 2.  2.]])
    """
    return SharedWeight.apply(centroids, indices)


def initial_centroids(values: np.ndarray, count: int, init: str = "linear",
                      rng: np.random.Generator | None = None) -> np.ndarray:
    """The paper's three k-means initialisations (section 3.1).

    ``"linear"``: evenly spaced between min and max of the values; ``"density"``: evenly
    spaced along the values' cumulative distribution (its quantiles); ``"random"``:
    ``count`` of the values drawn without replacement (``rng``, seeded by default).

    Examples
    --------
    >>> from visiongrad.compress import initial_centroids
    >>> initial_centroids(np.array([-1.0, 0.0, 0.5, 3.0]), 3)
    array([-1.,  1.,  3.])
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    if init == "linear":
        return np.linspace(values.min(), values.max(), count)
    if init == "density":
        return np.quantile(values, np.linspace(0.0, 1.0, count))
    rng = np.random.default_rng(0) if rng is None else rng
    return np.sort(rng.choice(values, size=count, replace=False))


def kmeans_1d(values: np.ndarray, centroids: np.ndarray, max_iter: int = 100
              ) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means on scalars from sorted initial ``centroids``.

    Each value joins its nearest centroid (the boundaries are the midpoints of sorted
    centroids); each centroid moves to its members' mean; a centroid without members
    stays. Stops when no assignment changes. Returns ``(centroids, labels)``.

    Examples
    --------
    >>> from visiongrad.compress import kmeans_1d
    >>> centroids, labels = kmeans_1d(np.array([0.0, 0.1, 0.9, 1.0]), np.array([0.0, 1.0]))
    >>> centroids, labels
    (array([0.05, 0.95]), array([0, 0, 1, 1]))
    """
    centroids = np.sort(np.asarray(centroids, dtype=np.float64))
    labels = None
    for _ in range(max_iter):
        new_labels = np.searchsorted((centroids[1:] + centroids[:-1]) / 2, values)
        if labels is not None and np.array_equal(new_labels, labels):
            break
        labels = new_labels
        sums = np.bincount(labels, weights=values, minlength=centroids.size)
        counts = np.bincount(labels, minlength=centroids.size)
        filled = counts > 0
        centroids[filled] = sums[filled] / counts[filled]
        order = np.argsort(centroids, kind="stable")  # keep the sorted order for searchsorted
        centroids, labels = centroids[order], np.argsort(order)[labels]
    return centroids, labels


def cluster_weights(weight: np.ndarray, bits: int, init: str = "linear",
                    rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Cluster a weight's non-zero values into at most ``2**bits - 1`` centroids.

    Returns
    -------
    centroids : ndarray (K,) of the weight's dtype, sorted
    indices : ndarray of the weight's shape, uint8 or uint16, 0 where the weight is zero
        and k + 1 for centroid k elsewhere.

    Examples
    --------
    >>> from visiongrad.compress import cluster_weights
    >>> weight = np.array([[0.0, 0.1, 0.11], [0.9, 1.0, 0.0]])
    >>> centroids, indices = cluster_weights(weight, bits=2)
    >>> centroids.round(3), indices
    (array([0.105, 0.55 , 0.95 ]), array([[0, 1, 1],
           [3, 3, 0]], dtype=uint8))
    """
    if not 1 <= bits <= 16:
        raise ValueError(f"cluster bits must be in [1, 16], got {bits}")
    nonzero = weight != 0
    values = weight[nonzero].astype(np.float64)
    count = min(2 ** bits - 1, np.unique(values).size)
    indices = np.zeros(weight.shape, dtype=np.uint8 if bits <= 8 else np.uint16)
    if count == 0:
        return np.zeros(0, dtype=weight.dtype), indices
    centroids, labels = kmeans_1d(values, initial_centroids(values, count, init, rng))
    indices[nonzero] = labels + 1
    return centroids.astype(weight.dtype), indices


class SharedWeightLayer(nn.Module):
    """A Linear or Conv2d layer whose weight is ``shared_weight(centroids, indices)``.

    The wrapped layer's ``weight`` Parameter is removed; each forward pass computes the
    weight from the codebook (a Parameter, so an optimizer fine-tunes it) and runs the
    layer with it. :func:`materialize` turns it back into the plain layer.

    Examples
    --------
    >>> from visiongrad.compress import SharedWeightLayer
    >>> _ = vg.manual_seed(0)
    >>> from visiongrad.compress import cluster_weights
    >>> layer = nn.Linear(4, 2)
    >>> centroids, indices = cluster_weights(layer.weight.data, bits=2)
    >>> shared = SharedWeightLayer(layer, centroids, indices)
    >>> shared(vg.ones(3, 4)).shape
    (3, 2)
    """

    def __init__(self, layer: nn.Module, centroids: np.ndarray, indices: np.ndarray):
        super().__init__()
        del layer.weight
        self.layer = layer
        self.centroids = nn.Parameter(centroids)
        self.register_buffer("indices", indices)

    def weight(self) -> Tensor:
        return shared_weight(self.centroids, self.indices)

    def forward(self, x):
        self.layer.weight = self.weight()  # a plain attribute now, recomputed every pass
        return self.layer(x)


def _replace(model, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = _submodule(model, parent_name) if parent_name else model
    setattr(parent, child, module)


def _submodule(model, name: str) -> nn.Module:
    return dict(model.named_modules())[name]


def share_weights(model, bits: int | dict, init: str = "linear",
                  rng: np.random.Generator | None = None) -> dict[str, SharedWeightLayer]:
    """Replace every prunable layer of ``model`` by a :class:`SharedWeightLayer` whose
    codebook clusters its weights (``bits`` for all layers, or {weight name: bits}).

    Zero weights (pruned) stay zero through fine-tuning. Returns the new layers by name.

    Examples
    --------
    >>> from visiongrad.compress import share_weights
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> shared = share_weights(model, bits=2)
    >>> sorted(shared), model(vg.ones(1, 1, 2, 2)).shape
    (['1', '3'], (1, 3))
    """
    shared = {}
    for weight_name, weight in prunable_weights(model).items():
        name = weight_name.removesuffix(".weight")
        layer_bits = bits[weight_name] if isinstance(bits, dict) else bits
        centroids, indices = cluster_weights(weight.data, layer_bits, init, rng)
        layer = SharedWeightLayer(_submodule(model, name), centroids, indices)
        _replace(model, name, layer)
        shared[name] = layer
    return shared


def materialize(model) -> None:
    """Undo :func:`share_weights`: each shared layer becomes its plain layer again, with
    the weight its codebook gives (a Parameter).

    Examples
    --------
    >>> from visiongrad.compress import materialize
    >>> _ = vg.manual_seed(0)
    >>> from visiongrad.compress import share_weights
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> _ = share_weights(model, bits=2)
    >>> materialize(model)
    >>> len(np.unique(model[1].weight.data)) <= 3
    True
    """
    for name, module in list(model.named_modules()):
        if isinstance(module, SharedWeightLayer):
            layer = module.layer
            weight = module.weight().data
            layer.__dict__.pop("weight", None)  # set by forward, if it ran
            layer.weight = nn.Parameter(weight)
            _replace(model, name, layer)
