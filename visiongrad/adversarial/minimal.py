"""Minimal-perturbation attacks: DeepFool (Moosavi-Dezfooli et al., 2016) and Carlini &
Wagner's L2 attack (2017). Neither has a budget eps: each looks for the smallest L2 change
that flips the decision, and is scored by its success rate and the size of its changes.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import optim
from ..autograd import Tensor
from .arguments import (
    attacking,
    check_batch,
    check_classes,
    check_count,
    check_positive,
    into_box,
    model_dtype,
    model_input,
    per_image,
    predict_scores,
)


def deepfool(model, images, labels, steps: int = 50, overshoot: float = 0.02,
             box=(0.0, 1.0)) -> np.ndarray:
    """DeepFool: step to the nearest boundary of the model linearised at the current image.

    With s the scores, y the true class, f_k = s_k - s_y and w_k = grad_x f_k at x_i, the
    nearest linearised boundary is l = argmin_{k != y} |f_k| / |w_k|_2, and

        r_i = |f_l| w_l / |w_l|_2^2,   x_{i+1} = clip(x + (1 + overshoot) sum r, lo, hi)

    until the image is misclassified or ``steps`` steps are done (the overshoot scales the
    total change, as in the paper, and is what carries an image across; sum r keeps only
    what the clipping left). The components of w_k that
    would push a pixel already at a bound of the box past it are dropped first (clipping
    would undo them), as ``visualize.fooling_image`` does. All images go at once: one
    forward and backward pass of the K copies of the still-correct images gives every
    w_k (the Jacobian).

    Returns
    -------
    ndarray, the shape and dtype of ``images``

    Examples
    --------
    >>> from visiongrad.adversarial import deepfool
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3)).eval()
    >>> images, labels = np.full((2, 1, 2, 2), 0.5, np.float32), np.array([0, 2])
    >>> adversarial = deepfool(model, images, labels)
    >>> model(vg.tensor(adversarial)).data.argmax(axis=1) != labels
    array([ True,  True])
    """
    x, y, lo, hi = check_batch(images, labels, box)
    steps = check_count("steps", steps)
    overshoot = check_positive("overshoot", overshoot)
    adv = x.copy()
    total = np.zeros(x.shape, dtype=np.float64)
    active = np.arange(len(x))
    with attacking(model):
        classes = predict_scores(model, x[:1]).shape[-1]
        for _ in range(steps):
            scores, jacobian = _scores_and_jacobian(model, adv[active], y[active], classes)
            correct = scores.argmax(axis=1) == y[active]
            active, scores, jacobian = active[correct], scores[correct], jacobian[correct]
            if not len(active):
                break
            rows, true = np.arange(len(active)), y[active]
            f = scores - scores[rows, true][:, None]
            w = _inward(jacobian - jacobian[rows, true][:, None], adv[active][:, None], lo, hi)
            w_norms = np.sqrt((w * w).reshape(*w.shape[:2], -1).sum(axis=2))
            distance = np.abs(f) / np.maximum(w_norms, 1e-12)
            distance[rows, true] = np.inf
            nearest = distance.argmin(axis=1)
            length = np.abs(f[rows, nearest]) / np.maximum(w_norms[rows, nearest], 1e-12) ** 2
            total[active] += per_image(length) * w[rows, nearest]
            adv[active] = into_box(x[active] + (1 + overshoot) * total[active], lo, hi, x.dtype)
            total[active] = (adv[active] - x[active]) / (1 + overshoot)  # what clipping left
    return adv


def _inward(grad: np.ndarray, images: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``grad`` without the components that push pixels already at a bound past it."""
    return np.where(((images <= lo) & (grad < 0)) | ((images >= hi) & (grad > 0)), 0, grad)


def _scores_and_jacobian(model, images: np.ndarray, labels: np.ndarray, classes: int):
    """Scores (n, K) and their gradients (n, K, C, H, W), float64, in one pass: the batch
    repeated K times, copy k back-propagating its score of class k."""
    copies = model_input(model, np.repeat(images[None], classes, axis=0).reshape(
        -1, *images.shape[1:]), requires_grad=True)
    scores = model(copies)
    check_classes(scores, np.repeat(labels, classes))
    n = len(images)
    picked = scores[np.arange(classes * n), np.repeat(np.arange(classes), n)]
    picked.sum().backward()
    jacobian = copies.grad.reshape(classes, n, *images.shape[1:]).swapaxes(0, 1)
    return scores.data[:n].astype(np.float64), jacobian.astype(np.float64)


def carlini_wagner_l2(model, images, labels, c: float = 1.0, kappa: float = 0.0,
                      steps: int = 100, lr: float = 0.01, binary_search_steps: int = 5,
                      box=(0.0, 1.0), *, targeted: bool = False) -> np.ndarray:
    """Carlini & Wagner's L2 attack with the tanh change of variables and a binary search
    over the trade-off constant c.

    The image is x' = lo + (hi - lo) (tanh(w) + 1) / 2, always inside the box, and Adam
    (learning rate ``lr``, ``steps`` steps) minimises over w, per image,

        |x' - x|_2^2 + c f(x'),   f = max(s_y - max_{j != y} s_j, -kappa)

    (targeted, y the target: f = max(max_{j != y} s_j - s_y, -kappa)). After each of the
    ``binary_search_steps`` rounds c is halved towards the last failure for the images
    fooled in it (a smaller change may do) and moved up (x10 until a success bounds it) for
    the others. The smallest fooling x' seen is kept; an image never fooled is returned
    unchanged.

    Returns
    -------
    ndarray, the shape and dtype of ``images``

    Examples
    --------
    >>> from visiongrad.adversarial import carlini_wagner_l2
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3)).eval()
    >>> images, labels = np.full((2, 1, 2, 2), 0.5, np.float32), np.array([0, 2])
    >>> adversarial = carlini_wagner_l2(model, images, labels, c=10.0, steps=50,
    ...                                 binary_search_steps=2)
    >>> adversarial.shape, bool(adversarial.min() >= 0 and adversarial.max() <= 1)
    ((2, 1, 2, 2), True)
    """
    x, y, lo, hi = check_batch(images, labels, box)
    c, kappa, lr = (check_positive(name, value, allow_zero=name == "kappa") for name, value
                    in (("c", c), ("kappa", kappa), ("lr", lr)))
    steps = check_count("steps", steps)
    rounds = check_count("binary_search_steps", binary_search_steps)
    scaled = np.clip(2 * (x.astype(np.float64) - lo) / (hi - lo) - 1, -1, 1) * (1 - 1e-6)
    start = np.arctanh(scaled).astype(model_dtype(model))
    best, best_size = x.copy(), np.full(len(x), np.inf)
    lower, upper, constant = np.zeros(len(x)), np.full(len(x), np.inf), np.full(len(x), c)
    with attacking(model):
        for _ in range(rounds):
            fooled = _minimise(model, x, y, start, constant, kappa, steps, lr, lo, hi,
                               targeted, best, best_size)
            upper = np.where(fooled, np.minimum(upper, constant), upper)
            lower = np.where(fooled, lower, np.maximum(lower, constant))
            constant = np.where(np.isfinite(upper), (lower + upper) / 2, constant * 10)
    return best


def _minimise(model, x, y, start, constant, kappa, steps, lr, lo, hi, targeted, best,
              best_size) -> np.ndarray:
    """One round of Adam on w at fixed c; updates ``best``/``best_size`` in place; returns
    which images were fooled at some step."""
    w = Tensor(start.copy(), requires_grad=True)
    solver = optim.Adam([w], lr=lr)
    dtype = start.dtype
    weight, target = Tensor(constant.astype(dtype)), Tensor(x.astype(dtype))
    one_hot = np.eye(1, dtype=dtype)  # replaced once the class count is known
    fooled = np.zeros(len(x), dtype=bool)
    for _ in range(steps):
        solver.zero_grad()
        adv = (F.tanh(w) + 1) * ((hi - lo) / 2) + lo
        change = adv - target
        size = (change * change).sum(axis=(1, 2, 3))
        scores = model(adv)
        if one_hot.shape[1] != scores.shape[1]:
            check_classes(scores, y)
            one_hot = np.eye(scores.shape[1], dtype=dtype)[y]
        true = (scores * Tensor(one_hot)).sum(axis=1)
        other = (scores - Tensor(one_hot * 1e9)).max(axis=1)
        gap = other - true if targeted else true - other
        (size + weight * (F.relu(gap + kappa) - kappa)).sum().backward()
        solver.step()
        success = gap.data < 0 if kappa == 0 else gap.data <= -kappa
        better = success & (size.data < best_size)
        best[better] = into_box(adv.data[better], lo, hi, x.dtype)
        best_size[better] = size.data[better]
        fooled |= success
    return fooled
