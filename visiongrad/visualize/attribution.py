"""Which pixels a classifier's answer depends on: saliency maps (Simonyan et al., 2014),
guided backpropagation (Springenberg et al., 2015) and occlusion (Zeiler & Fergus, 2014).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from ..autograd import Function, Tensor, no_grad
from ..backend import xp
from .layers import as_batch, check_targets, class_scores, frozen


def input_gradient(model, x, target) -> np.ndarray:
    """d score[n, target[n]] / d x[n] for each image (N, C, H, W): the gradient of each
    image's target class score with respect to its pixels, with the model frozen.

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
    >>> visualize.input_gradient(model, x, np.array([0, 2])).shape
    (2, 1, 8, 8)
    """
    images = as_batch(x)
    targets = check_targets(target, len(images))
    with frozen(model):
        inputs = Tensor(images.copy(), requires_grad=True)
        class_scores(model, inputs, targets).backward()
    return inputs.grad


def saliency(model, x, target) -> np.ndarray:
    """Saliency map: |d score_target / d x| maximised over the channels, as in the course.

    Parameters
    ----------
    model : Module mapping (N, C, H, W) images to (N, classes) scores
    x : array or Tensor (N, C, H, W), floating
    target : int or N ints, the class of each image whose score is explained

    Returns
    -------
    ndarray (N, H, W): S[n, h, w] = max_c |d s_{n, target_n} / d x[n, c, h, w]|

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
    >>> visualize.saliency(model, x, np.array([0, 2])).shape
    (2, 8, 8)
    """
    return np.abs(input_gradient(model, x, target)).max(axis=1)


class GuidedReLU(Function):
    """ReLU whose backward passes only positive gradients through positive inputs.

    Forward:  y = max(x, 0)
    Backward: dx = dy * [x > 0] * [dy > 0]   (the ReLU mask and the "deconvnet" mask)

    Examples
    --------
    >>> from visiongrad.visualize import GuidedReLU
    >>> x = vg.tensor([-1.0, 2.0, 3.0], requires_grad=True)
    >>> y = GuidedReLU.apply(x)
    >>> (y * vg.tensor([1.0, 1.0, -1.0])).sum().backward()
    >>> y, x.grad
    (Tensor([0. 2. 3.], requires_grad=True), array([ 0.,  1., -0.], dtype=float32))
    """

    def forward(self, x):
        self.positive = x > 0
        return xp.maximum(x, 0)

    def backward(self, grad_out):
        return grad_out * (self.positive & (grad_out > 0))


@contextlib.contextmanager
def guided_relus(model) -> Iterator:
    """Within the block every ``nn.ReLU`` of ``model`` back-propagates as
    :class:`GuidedReLU`; the model is unchanged afterwards.

    The ReLU modules' ``forward`` is swapped on the instances, so models that call
    ``F.relu`` directly instead of an ``nn.ReLU`` module are not guided: a model with no
    ``nn.ReLU`` is refused with a ValueError.

    Examples
    --------
    >>> from visiongrad.visualize import guided_relus
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
    ...                       nn.Flatten(), nn.Linear(4 * 8 * 8, 3))
    >>> x = vg.randn(2, 1, 8, 8, requires_grad=True)
    >>> with guided_relus(model):
    ...     model(x)[:, 0].sum().backward()
    >>> x.grad.shape
    (2, 1, 8, 8)
    """
    from ..nn import ReLU

    relus = [module for module in model.modules() if isinstance(module, ReLU)]
    if not relus:
        raise ValueError(f"{type(model).__name__} has no nn.ReLU module to guide")
    for relu in relus:
        relu.forward = GuidedReLU.apply
    try:
        yield model
    finally:
        for relu in relus:
            del relu.forward


def guided_backprop(model, x, target) -> np.ndarray:
    """Guided backpropagation: the input gradient of the target score with every ReLU
    replaced by :class:`GuidedReLU` in the backward pass; (N, C, H, W).

    Examples
    --------
    >>> from visiongrad.visualize import guided_backprop
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
    ...                       nn.Flatten(), nn.Linear(4 * 8 * 8, 3))
    >>> x = np.random.default_rng(0).random((2, 1, 8, 8)).astype(np.float32)
    >>> guided_backprop(model, x, np.array([0, 2])).shape
    (2, 1, 8, 8)
    """
    with guided_relus(model):
        return input_gradient(model, x, target)


def occlusion(model, x, target, patch: int = 4, stride: int = 2, fill: float = 0.0,
              batch_size: int = 256) -> np.ndarray:
    """Occlusion sensitivity: how much the target class probability drops when a
    ``patch`` x ``patch`` square (set to ``fill``: one value, or one per channel, in the
    model's input space, e.g. what a black pixel becomes after normalisation) covers each
    position.

    Returns
    -------
    ndarray (N, H', W'), H' = (H - patch) // stride + 1 (and W' alike):
    D[n, i, j] = p(target_n | x_n) - p(target_n | x_n with the square at
    (i stride, j stride) filled); large where the answer depends on the pixels.

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
    >>> visualize.occlusion(model, x, np.array([0, 2]), patch=4, stride=4).shape
    (2, 2, 2)
    """
    images = as_batch(x)
    targets = check_targets(target, len(images))
    n, c, h, w = images.shape
    for name, value in (("patch", patch), ("stride", stride)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if patch > min(h, w):
        raise ValueError(f"patch ({patch}) must fit in the {h}x{w} image")
    fill = np.broadcast_to(np.asarray(fill, dtype=images.dtype).reshape(-1, 1, 1), (c, 1, 1))
    tops = np.arange(0, h - patch + 1, stride)
    lefts = np.arange(0, w - patch + 1, stride)
    positions = [(top, left) for top in tops for left in lefts]
    drops = np.empty((n, len(positions)))
    with frozen(model), no_grad():
        for i, (image, label) in enumerate(zip(images, targets, strict=True)):
            base = _probabilities(model, image[None])[0, label]
            for start in range(0, len(positions), batch_size):
                chunk = positions[start:start + batch_size]
                covered = np.repeat(image[None], len(chunk), axis=0)
                for k, (top, left) in enumerate(chunk):
                    covered[k, :, top:top + patch, left:left + patch] = fill
                drops[i, start:start + len(chunk)] = (
                    base - _probabilities(model, covered)[:, label])
    return drops.reshape(n, len(tops), len(lefts))


def _probabilities(model, images: np.ndarray) -> np.ndarray:
    scores = model(Tensor(images)).data.astype(np.float64)
    scores = np.exp(scores - scores.max(axis=1, keepdims=True))
    return scores / scores.sum(axis=1, keepdims=True)
