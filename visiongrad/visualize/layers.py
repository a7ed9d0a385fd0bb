"""Naming a layer of any model and reading its output, through forward hooks.

A layer is named as in ``dict(model.named_modules())``: ``"0"``, ``"features.3"``,
``"layer2.1.conv1"``; the empty name ``""`` is the model itself. Every layer-based method
of :mod:`visiongrad.visualize` takes such a name.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from ..autograd import Tensor
from ..nn.frozen import frozen  # noqa: F401  (visualize.frozen, used across visualize)


def get_layer(model, name: str):
    """The submodule of ``model`` called ``name`` in ``model.named_modules()``.

    Raises
    ------
    ValueError
        For an unknown name, listing the model's layer names.

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
    >>> visualize.get_layer(model, '1')
    ReLU()
    """
    layers = dict(model.named_modules())
    if not isinstance(name, str) or name not in layers:
        known = ", ".join(repr(n) for n in layers if n)
        raise ValueError(f"layer must name a submodule of {type(model).__name__}, got "
                         f"{name!r} (layers: {known})")
    return layers[name]


@contextlib.contextmanager
def recording(model, layer: str) -> Iterator[list]:
    """Within the block, every output of ``layer`` is appended to the yielded list.

    Examples
    --------
    >>> import visiongrad as vg
    >>> from visiongrad import nn
    >>> model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    >>> with recording(model, "1") as outputs:
    ...     scores = model(vg.randn(5, 4))
    >>> outputs[-1].shape
    (5, 3)
    """
    outputs: list = []
    handle = get_layer(model, layer).register_forward_hook(
        lambda module, inputs, output: outputs.append(output))
    try:
        yield outputs
    finally:
        handle.remove()


class _AllRecorded(Exception):
    """Raised by a hook once every asked-for layer has run: the rest need not run."""


def layer_outputs(model, layers, x) -> list[Tensor]:
    """The outputs of each layer in ``layers`` when ``model`` runs on ``x``, in that order.

    They are part of x's graph, so a loss built on them back-propagates to ``x``. The
    forward pass stops as soon as every layer has produced its output, so the layers
    after them (a VGG's classifier) do not run.

    Examples
    --------
    >>> from visiongrad.visualize import layer_outputs
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
    ...                       nn.Flatten(), nn.Linear(4 * 8 * 8, 3))
    >>> x = np.random.default_rng(0).random((2, 1, 8, 8)).astype(np.float32)
    >>> [y.shape for y in layer_outputs(model, ['0', '3'], vg.tensor(x))]
    [(2, 4, 8, 8), (2, 3)]
    """
    names = [layers] if isinstance(layers, str) else list(layers)
    modules = [get_layer(model, name) for name in names]
    found: dict[str, Tensor] = {}

    def hook_for(name):
        def hook(module, inputs, output):
            found.setdefault(name, output)
            if len(found) == len(set(names)):
                raise _AllRecorded
        return hook

    handles = [module.register_forward_hook(hook_for(name))
               for name, module in zip(names, modules, strict=True)]
    try:
        model(x)
    except _AllRecorded:
        pass
    finally:
        for handle in handles:
            handle.remove()
    missing = [name for name in names if name not in found]
    if missing:
        raise ValueError(f"layer(s) {missing} did not run in the forward pass of "
                         f"{type(model).__name__}")
    return [found[name] for name in names]


def layer_output(model, layer: str, x) -> Tensor:
    """The output of ``layer`` when ``model`` runs on ``x`` (see :func:`layer_outputs`).

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
    >>> visualize.layer_output(model, '1', vg.tensor(x)).shape
    (2, 4, 8, 8)
    """
    return layer_outputs(model, [layer], x)[0]


def as_batch(images, name: str = "x") -> np.ndarray:
    """``images`` (a tensor or array, (N, C, H, W)) as a floating NumPy array."""
    array = images.data if isinstance(images, Tensor) else np.asarray(images)
    if array.ndim != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got {array.shape}")
    if array.dtype.kind != "f":
        raise TypeError(f"{name} must be a floating array, got {array.dtype}")
    return array


def check_targets(target, n: int, name: str = "target") -> np.ndarray:
    """``target`` (one class or one per image) as an int array of length ``n``."""
    targets = np.broadcast_to(np.asarray(target), (n,)) if np.ndim(target) == 0 \
        else np.asarray(target)
    if targets.shape != (n,) or targets.dtype.kind not in "iu":
        raise ValueError(f"{name} must be an int or {n} ints, got {target!r}")
    return targets.astype(np.int64)


def model_dtype(model) -> np.dtype:
    """The dtype of the model's first parameter (float32 for a model without any)."""
    param = next(iter(model.parameters()), None)
    return np.dtype(np.float32) if param is None else param.data.dtype


def class_scores(model, x: Tensor, targets: np.ndarray) -> Tensor:
    """The sum over the batch of each image's score (logit) for its target class."""
    scores = model(x)
    if scores.ndim != 2:
        raise ValueError(f"the model must return scores of shape (N, classes), got "
                         f"{scores.shape}")
    if targets.min() < 0 or targets.max() >= scores.shape[1]:
        raise ValueError(f"target classes must lie in [0, {scores.shape[1]}), got "
                         f"{sorted(set(targets.tolist()))}")
    return scores[np.arange(len(targets)), targets].sum()
