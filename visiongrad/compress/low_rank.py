"""Low-rank factorisation: a layer's weight replaced by its truncated SVD, as two thinner
layers (Denton et al., 2014; the efficient-methods lecture).

A Linear layer W (out, in) ~ U_r S_r V_r^T becomes ``Linear(in, r, bias=False)`` with
weight ``sqrt(S_r) V_r^T`` followed by ``Linear(r, out)`` with weight ``U_r sqrt(S_r)`` and
the old bias: r (in + out) weights instead of in x out. A Conv2d layer's weight
(out, in, kh, kw), seen as the matrix (out, in kh kw), factors the same way into a
``Conv2d(in, r, (kh, kw))`` with the old stride, padding and dilation, then a 1x1
``Conv2d(r, out)``. The rank r is the smallest whose singular values keep ``energy`` of the
squared Frobenius norm: ``sum(S[:r]**2) >= energy * sum(S**2)``.
"""

from __future__ import annotations

import numpy as np

from .. import nn
from .pruning import prunable_weights
from .shared_weights import _replace, _submodule


def rank_for_energy(singular_values: np.ndarray, energy: float) -> int:
    """Smallest r with ``sum(S[:r]**2) >= energy * sum(S**2)`` (S sorted descending).

    Examples
    --------
    >>> from visiongrad.compress import rank_for_energy
    >>> rank_for_energy(np.array([3.0, 2.0, 1.0]), energy=0.9)
    2
    """
    if not 0.0 < energy <= 1.0:
        raise ValueError(f"energy must be in (0, 1], got {energy}")
    kept = np.cumsum(np.asarray(singular_values, dtype=np.float64) ** 2)
    if kept[-1] == 0:
        return 1
    return int(np.searchsorted(kept, energy * kept[-1] * (1 - 1e-12)) + 1)


def low_rank_layer(layer: nn.Module, energy: float) -> tuple[nn.Sequential, int]:
    """The two-layer factorisation of a Linear or Conv2d (groups 1) layer; and its rank.

    Examples
    --------
    >>> from visiongrad.compress import low_rank_layer
    >>> _ = vg.manual_seed(0)
    >>> pair, rank = low_rank_layer(nn.Linear(16, 16), energy=0.5)
    >>> rank, [layer.weight.shape for layer in pair]
    (4, [(4, 16), (16, 4)])
    """
    weight = layer.weight.data
    matrix = weight.reshape(weight.shape[0], -1).astype(np.float64)
    left, values, right = np.linalg.svd(matrix, full_matrices=False)
    rank = rank_for_energy(values, energy)
    root = np.sqrt(values[:rank])
    first_weight = (root[:, None] * right[:rank]).astype(weight.dtype)
    second_weight = (left[:, :rank] * root).astype(weight.dtype)
    bias = layer.bias is not None
    if isinstance(layer, nn.Linear):
        first, second = nn.Linear(layer.in_features, rank, bias=False), nn.Linear(
            rank, layer.out_features, bias=bias)
    elif isinstance(layer, nn.Conv2d) and layer.groups == 1:
        first = nn.Conv2d(layer.in_channels, rank, layer.kernel_size, layer.stride,
                          layer.padding, layer.dilation, bias=False)
        second = nn.Conv2d(rank, layer.out_channels, 1, bias=bias)
    else:
        raise ValueError(f"cannot factorise a {type(layer).__name__} (Linear and Conv2d with "
                         f"groups=1 only)")
    first.weight.data[...] = first_weight.reshape(first.weight.shape)
    second.weight.data[...] = second_weight.reshape(second.weight.shape)
    if bias:
        second.bias.data[...] = layer.bias.data
    return nn.Sequential(first, second), rank


def factorize(model, energy: float) -> dict[str, int]:
    """Replace every Linear and Conv2d layer of ``model`` whose factorisation at ``energy``
    has fewer weights by its two thinner layers; return ``{layer name: rank}`` of those.

    Examples
    --------
    >>> from visiongrad.compress import factorize
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))
    >>> factorize(model, energy=0.5)
    {'1': 12, '3': 2}
    """
    ranks = {}
    for weight_name in prunable_weights(model):
        name = weight_name.removesuffix(".weight")
        layer = _submodule(model, name)
        if getattr(layer, "groups", 1) != 1:
            continue
        pair, rank = low_rank_layer(layer, energy)
        if sum(p.data.size for p in pair.parameters()) < sum(
                p.data.size for p in layer.parameters()):
            _replace(model, name, pair)
            ranks[name] = rank
    return ranks
