"""Magnitude pruning (Han et al., 2015): zero the smallest weights, keep them zero while the
rest retrain, and repeat.

A mask is a boolean array of a weight's shape (True = kept). :func:`magnitude_masks` chooses
them: per layer or with one global threshold, to a target sparsity or with the paper's
threshold ``quality * std(W)``, and optionally structured (whole output filters or input
channels, ranked by their L1 norm). :func:`apply_masks` zeros the pruned weights;
:class:`MaskedOptimizer` keeps them zero through every optimizer step, momentum buffers and
Adam moments included. :func:`geometric_sparsities` is the iterative schedule and
:func:`sparsity_table` reports what is left.

>>> masks = magnitude_masks(model, sparsity=0.9)               # doctest: +SKIP
>>> apply_masks(model, masks); optimizer = MaskedOptimizer(optim.SGD(...), model, masks)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .. import nn

PRUNABLE = (nn.Linear, nn.Conv2d)
"""The layers whose ``weight`` is pruned, clustered and coded (biases stay float32)."""

SCOPES = ("global", "layer")
STRUCTURES = (None, "filters", "channels")


def prunable_weights(model) -> dict[str, nn.Parameter]:
    """``{"<layer name>.weight": weight}`` of every :data:`PRUNABLE` layer, in model order
    (not those whose weight a ``SharedWeightLayer`` computes).

    Examples
    --------
    >>> from visiongrad.compress import prunable_weights
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> {name: weight.shape for name, weight in prunable_weights(model).items()}
    {'1.weight': (8, 4), '3.weight': (3, 8)}
    """
    return {f"{name}.weight" if name else "weight": module.weight
            for name, module in model.named_modules()
            if isinstance(module, PRUNABLE)
            and isinstance(getattr(module, "weight", None), nn.Parameter)}


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}")


def _scores(weight: np.ndarray, structure: str | None) -> np.ndarray:
    """Per-weight |w|, or per filter (axis 0) / input channel (axis 1) L1 norms."""
    if structure is None:
        return np.abs(weight)
    axes = tuple(i for i in range(weight.ndim) if i != (0 if structure == "filters" else 1))
    return np.abs(weight).sum(axis=axes)


def _expand(kept: np.ndarray, shape: tuple[int, ...], structure: str | None) -> np.ndarray:
    """A per-weight mask from per-weight, per-filter or per-channel decisions."""
    if structure is None:
        return kept
    view = [1] * len(shape)
    view[0 if structure == "filters" else 1] = kept.size
    return np.broadcast_to(kept.reshape(view), shape).copy()


def _threshold_for(scores: np.ndarray, sparsity: float) -> float:
    """The score below which ``sparsity`` of ``scores`` lie (ties broken by keeping)."""
    count = int(round(sparsity * scores.size))
    if count == 0:
        return -np.inf
    return float(np.partition(scores.ravel(), count - 1)[count - 1])


def magnitude_masks(model, sparsity: float | Mapping[str, float] | None = None, *,
                    quality: float | None = None, scope: str = "global",
                    structure: str | None = None) -> dict[str, np.ndarray]:
    """Boolean keep-masks of the :data:`PRUNABLE` weights by magnitude.

    Parameters
    ----------
    model : nn.Module
    sparsity : float in [0, 1), or {weight name: float}, optional
        Fraction of weights (or filters/channels) to remove. With ``scope="global"`` one
        threshold over all layers' scores removes that fraction of all of them together;
        with ``scope="layer"`` (or a dict, always per layer) each layer loses its own
        fraction. The weights at or below the threshold are pruned.
    quality : float, optional
        Instead of ``sparsity``: the paper's threshold, prune ``|w| <= quality * std(W)``
        per layer (std of that layer's weights; not with ``structure``).
    scope : {"global", "layer"}
    structure : {None, "filters", "channels"}
        ``None`` prunes single weights; ``"filters"`` whole output filters/rows (axis 0),
        ``"channels"`` whole input channels/columns (axis 1), ranked by their L1 norm.

    Returns
    -------
    dict of str to ndarray of bool
        Keyed by weight name (``prunable_weights``), True where the weight is kept.

    Examples
    --------
    >>> from visiongrad.compress import magnitude_masks
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> masks = magnitude_masks(model, 0.5)
    >>> {name: float(mask.mean()) for name, mask in masks.items()}
    {'1.weight': 0.5625, '3.weight': 0.4166666666666667}
    """
    if (sparsity is None) == (quality is None):
        raise ValueError("give exactly one of sparsity and quality")
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
    if structure not in STRUCTURES:
        raise ValueError(f"structure must be one of {STRUCTURES}, got {structure!r}")
    weights = {name: w.data for name, w in prunable_weights(model).items()}
    if quality is not None:
        if structure is not None or quality < 0:
            raise ValueError(f"quality must be non-negative and goes with unstructured "
                             f"pruning, got quality={quality}, structure={structure!r}")
        return {name: np.abs(w) > quality * float(w.std()) for name, w in weights.items()}
    scores = {name: _scores(w, structure) for name, w in weights.items()}
    if isinstance(sparsity, Mapping):
        unknown = sorted(set(sparsity) - set(weights))
        if unknown:
            raise ValueError(f"no prunable weight named {unknown} (have {sorted(weights)})")
        per_layer = {name: float(sparsity.get(name, 0.0)) for name in weights}
    else:
        per_layer = dict.fromkeys(weights, float(sparsity))
    for name, fraction in per_layer.items():
        _check_fraction(f"sparsity of {name}", fraction)
    if scope == "global" and not isinstance(sparsity, Mapping):
        everything = np.concatenate([s.ravel() for s in scores.values()])
        cut = _threshold_for(everything, float(sparsity))
        thresholds = dict.fromkeys(weights, cut)
    else:
        thresholds = {name: _threshold_for(scores[name], per_layer[name]) for name in weights}
    return {name: _expand(scores[name] > thresholds[name], weights[name].shape, structure)
            for name in weights}


def current_masks(model) -> dict[str, np.ndarray]:
    """The masks a pruned model carries implicitly: True where its weight is non-zero.

    Examples
    --------
    >>> from visiongrad.compress import current_masks
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> model[1].weight.data[0] = 0.0
    >>> int((~current_masks(model)['1.weight']).sum())
    4
    """
    return {name: w.data != 0 for name, w in prunable_weights(model).items()}


def apply_masks(model, masks: Mapping[str, np.ndarray]) -> None:
    """Zero the pruned weights of ``model`` in place (``weight *= mask``).

    Examples
    --------
    >>> from visiongrad.compress import apply_masks
    >>> _ = vg.manual_seed(0)
    >>> from visiongrad.compress import magnitude_masks
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> apply_masks(model, magnitude_masks(model, 0.75))
    >>> float((model[1].weight.data == 0).mean())
    0.59375
    """
    weights = prunable_weights(model)
    for name, mask in masks.items():
        if name not in weights or weights[name].shape != mask.shape:
            raise ValueError(f"mask {name!r} of shape {mask.shape} fits no weight of the model")
        weights[name].data *= mask


class MaskedOptimizer:
    """An optimizer whose pruned weights stay exactly zero through every step.

    Each ``step`` (1) zeros the gradient at pruned positions, so no state (momentum
    buffers, Adam's first and second moments) accumulates there, (2) runs the wrapped
    optimizer's step, (3) zeros the pruned weights again (weight decay and momentum
    terms cannot revive them) and every state array of the weight's shape at the pruned
    positions. Everything else (``zero_grad``, ``param_groups``, ``state_dict``, schedules)
    is the wrapped optimizer's.

    Parameters
    ----------
    optimizer : optim.Optimizer
    model : nn.Module
    masks : {weight name: bool array}
        As :func:`magnitude_masks` returns.

    Examples
    --------
    >>> from visiongrad.compress import MaskedOptimizer
    >>> _ = vg.manual_seed(0)
    >>> from visiongrad.compress import apply_masks, magnitude_masks
    >>> from visiongrad.optim import SGD
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> masks = magnitude_masks(model, 0.5)
    >>> apply_masks(model, masks)
    >>> optimizer = MaskedOptimizer(SGD(model.parameters(), lr=0.1), model, masks)
    >>> model(vg.ones(2, 1, 2, 2)).sum().backward()
    >>> optimizer.step()
    >>> float((model[1].weight.data == 0).mean())
    0.4375
    """

    def __init__(self, optimizer, model, masks: Mapping[str, np.ndarray]):
        weights = prunable_weights(model)
        unknown = sorted(set(masks) - set(weights))
        if unknown:
            raise ValueError(f"masks {unknown} fit no prunable weight of the model")
        self.optimizer = optimizer
        self.masked = [(weights[name], np.asarray(mask, dtype=bool))
                       for name, mask in masks.items()]

    def __getattr__(self, name: str):
        return getattr(self.optimizer, name)

    def step(self, closure=None):
        for param, mask in self.masked:
            if param.grad is not None:
                param.grad = param.grad * mask
        loss = self.optimizer.step(closure)
        for param, mask in self.masked:
            param.data *= mask
            for value in self.optimizer.state.get(id(param), {}).values():
                if isinstance(value, np.ndarray) and value.shape == mask.shape:
                    value *= mask
        return loss


def geometric_sparsities(final: float, steps: int) -> list[float]:
    """The iterative schedule ``s_i = 1 - (1 - final)^(i / steps)``, i = 1..steps: each
    round removes the same fraction of the weights still there, ending at ``final``.

    Examples
    --------
    >>> from visiongrad.compress import geometric_sparsities
    >>> [round(s, 3) for s in geometric_sparsities(0.9, 3)]
    [0.536, 0.785, 0.9]
    """
    _check_fraction("final sparsity", final)
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    return [1.0 - (1.0 - final) ** (i / steps) for i in range(1, steps + 1)]


def sparsity_table(model) -> list[dict]:
    """Per prunable weight: ``{"name", "shape", "weights", "nonzero", "density"}``, and a
    last row ``"total"`` over all of them.

    Examples
    --------
    >>> from visiongrad.compress import sparsity_table
    >>> _ = vg.manual_seed(0)
    >>> from visiongrad.compress import apply_masks, magnitude_masks
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> apply_masks(model, magnitude_masks(model, 0.5))
    >>> [(row['name'], round(row['density'], 2)) for row in sparsity_table(model)]
    [('1.weight', 0.56), ('3.weight', 0.42), ('total', 0.5)]
    """
    rows = []
    for name, weight in prunable_weights(model).items():
        nonzero = int(np.count_nonzero(weight.data))
        rows.append({"name": name, "shape": tuple(weight.shape), "weights": weight.data.size,
                     "nonzero": nonzero, "density": nonzero / weight.data.size})
    total = sum(row["weights"] for row in rows)
    nonzero = sum(row["nonzero"] for row in rows)
    rows.append({"name": "total", "shape": (), "weights": total, "nonzero": nonzero,
                 "density": nonzero / max(total, 1)})
    return rows
