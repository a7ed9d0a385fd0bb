"""Gradient attacks inside an eps-ball: FGSM (Goodfellow et al., 2015), BIM (Kurakin et
al., 2017), PGD under L-inf and L2 (Madry et al., 2018) and MI-FGSM (Dong et al., 2018).

The first-order view of the lecture: J(x + d) ~ J(x) + d^T grad_x J(x), so the step that
raises the loss most within |d|_inf <= eps is d = eps sign(grad_x J), and within
|d|_2 <= eps it is d = eps grad_x J / |grad_x J|_2. Iterating small steps of that kind and
projecting back onto the ball (and the box) after each one is PGD.

The arithmetic (order of operations, float32 throughout for float32 images) follows
torchattacks', so that the same model and batch give the same images up to rounding.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..random import as_generator
from .arguments import (
    attacking,
    check_batch,
    check_count,
    check_positive,
    into_box,
    l2_norms,
    loss_gradient,
    margins,
    per_image,
    predict_scores,
)

NORMS = ("inf", "2")


def fgsm(model, images, labels, eps, box=(0.0, 1.0), *, targeted: bool = False,
         loss_fn=F.cross_entropy) -> np.ndarray:
    """Fast gradient sign method: one step of length eps along the gradient's sign.

        x_adv = clip(x + eps sign(grad_x J(x, y)), lo, hi)

    (targeted: ``labels`` are the target classes and the step goes down the gradient,
    x - eps sign(grad_x J(x, t))).

    Parameters
    ----------
    model : nn.Module
        Images (N, C, H, W) -> scores (N, classes); in eval mode if it has batch norm.
    images : ndarray (N, C, H, W), floating, inside ``box``
    labels : ndarray of int (N,)
        True classes (the target classes when ``targeted``).
    eps : float >= 0
        The L-inf radius.
    box : (lo, hi)
        The valid pixel range.
    loss_fn : callable
        ``loss_fn(scores, labels) -> scalar Tensor``, cross-entropy by default.

    Returns
    -------
    ndarray, the shape and dtype of ``images``

    Examples
    --------
    >>> from visiongrad.adversarial import fgsm
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3)).eval()
    >>> images, labels = np.full((2, 1, 2, 2), 0.5, np.float32), np.array([0, 2])
    >>> adversarial = fgsm(model, images, labels, eps=0.1)
    >>> adversarial.shape, bool(np.abs(adversarial - images).max() <= 0.1 + 1e-6)
    ((2, 1, 2, 2), True)
    """
    x, y, lo, hi = check_batch(images, labels, box)
    eps = check_positive("eps", eps)
    with attacking(model):
        grad, _ = loss_gradient(model, x, y, loss_fn)
    step = (-eps if targeted else eps) * np.sign(grad)
    return into_box(x + step.astype(x.dtype), lo, hi, x.dtype)


def pgd(model, images, labels, eps, alpha, steps, norm="inf", random_start=False,
        box=(0.0, 1.0), *, restarts: int = 1, targeted: bool = False,
        loss_fn=F.cross_entropy, seed=None) -> np.ndarray:
    """Projected gradient descent (ascent on the loss) inside the eps-ball around x.

    Each of ``steps`` steps, with g = grad_x J(x_t, y) (-grad for ``targeted``):

        L-inf:  x' = x_t + alpha sign(g),        d = clip(x' - x, -eps, eps)
        L2:     x' = x_t + alpha g / |g|_2,      d = (x' - x) min(1, eps / |x' - x|_2)
        x_{t+1} = clip(x + d, lo, hi)

    from x_0 = x, or (``random_start``) a uniform point of the L-inf ball / a random
    direction at a uniform radius in the L2 ball, clipped to the box. With ``restarts``
    > 1 (needs ``random_start``) the attack runs again on the images not yet fooled, up to
    that many times, and keeps per image the result that fools the model, else the one with
    the highest loss (``loss_fn`` then sees sub-batches). BIM is PGD without a random
    start.

    Parameters
    ----------
    eps, alpha : float >= 0   radius and step length
    steps : int >= 1
    norm : "inf" or "2"
    seed : int, Generator or None   the random starts' generator (None: visiongrad's)

    Returns
    -------
    ndarray, the shape and dtype of ``images``

    Examples
    --------
    >>> from visiongrad.adversarial import pgd
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3)).eval()
    >>> images, labels = np.full((2, 1, 2, 2), 0.5, np.float32), np.array([0, 2])
    >>> adversarial = pgd(model, images, labels, eps=0.1, alpha=0.02, steps=10)
    >>> adversarial.shape, bool(np.abs(adversarial - images).max() <= 0.1 + 1e-6)
    ((2, 1, 2, 2), True)
    >>> l2 = pgd(model, images, labels, eps=0.5, alpha=0.1, steps=10, norm='2')
    >>> bool(np.linalg.norm((l2 - images).reshape(2, -1), axis=1).max() <= 0.5 + 1e-5)
    True
    """
    return _iterate(model, images, labels, eps, alpha, steps, norm, random_start, box,
                    restarts, targeted, loss_fn, seed, decay=None)


def bim(model, images, labels, eps, alpha, steps, box=(0.0, 1.0), *,
        targeted: bool = False, loss_fn=F.cross_entropy) -> np.ndarray:
    """The basic iterative method: L-inf PGD from x itself (no random start).

    Examples
    --------
    >>> from visiongrad.adversarial import bim
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3)).eval()
    >>> images, labels = np.full((2, 1, 2, 2), 0.5, np.float32), np.array([0, 2])
    >>> adversarial = bim(model, images, labels, eps=0.1, alpha=0.02, steps=10)
    >>> adversarial.shape, bool(np.abs(adversarial - images).max() <= 0.1 + 1e-6)
    ((2, 1, 2, 2), True)
    """
    return pgd(model, images, labels, eps, alpha, steps, "inf", False, box,
               targeted=targeted, loss_fn=loss_fn)


def mi_fgsm(model, images, labels, eps, alpha, steps, decay: float = 1.0, box=(0.0, 1.0), *,
            targeted: bool = False, loss_fn=F.cross_entropy) -> np.ndarray:
    """Momentum iterative FGSM: L-inf PGD whose step follows an accumulated gradient,

        m_{t+1} = decay m_t + g / mean|g|,   x' = x_t + alpha sign(m_{t+1})

    (the mean over each image's pixels), which transfers better to other models.

    Examples
    --------
    >>> from visiongrad.adversarial import mi_fgsm
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3)).eval()
    >>> images, labels = np.full((2, 1, 2, 2), 0.5, np.float32), np.array([0, 2])
    >>> adversarial = mi_fgsm(model, images, labels, eps=0.1, alpha=0.02, steps=10)
    >>> adversarial.shape, bool(np.abs(adversarial - images).max() <= 0.1 + 1e-6)
    ((2, 1, 2, 2), True)
    """
    decay = check_positive("decay", decay)
    return _iterate(model, images, labels, eps, alpha, steps, "inf", False, box, 1,
                    targeted, loss_fn, None, decay=decay)


def _iterate(model, images, labels, eps, alpha, steps, norm, random_start, box, restarts,
             targeted, loss_fn, seed, decay):
    x, y, lo, hi = check_batch(images, labels, box)
    eps, alpha = check_positive("eps", eps), check_positive("alpha", alpha)
    steps, restarts = check_count("steps", steps), check_count("restarts", restarts)
    if str(norm) not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    if restarts > 1 and not random_start:
        raise ValueError(f"restarts={restarts} needs random_start=True (restarts from the "
                         "same point give the same images)")
    rng = as_generator(seed) if random_start else None
    sign = -1 if targeted else 1
    with attacking(model):
        best = best_fooled = best_loss = None
        todo = np.arange(len(x))  # restarts after the first: the images not yet fooled
        for _ in range(restarts):
            start = _random_start(x[todo], eps, str(norm), rng, lo, hi) if random_start \
                else x
            adv = _steps(model, x[todo], start, y[todo], eps, alpha, steps, str(norm), lo, hi,
                         sign, loss_fn, decay)
            if restarts == 1:
                return adv
            scores = predict_scores(model, adv)
            fooled = margins(scores, y[todo]) > 0 if targeted else margins(scores, y[todo]) < 0
            loss = sign * _per_image_loss(scores, y[todo])
            if best is None:
                best, best_fooled, best_loss = adv, fooled, loss
            else:
                better = (fooled & ~best_fooled[todo]) | (
                    (fooled == best_fooled[todo]) & (loss > best_loss[todo]))
                chosen = todo[better]
                best[chosen], best_fooled[chosen], best_loss[chosen] = (
                    adv[better], fooled[better], loss[better])
            todo = np.flatnonzero(~best_fooled)
            if not len(todo):
                break
    return best


def _per_image_loss(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Cross-entropy of each image, float64 (to rank restarts)."""
    logits = scores.astype(np.float64)
    top = logits.max(axis=1)
    log_sum = top + np.log(np.exp(logits - top[:, None]).sum(axis=1))
    return log_sum - logits[np.arange(len(labels)), labels]


def _random_start(x, eps, norm, rng, lo, hi) -> np.ndarray:
    if norm == "inf":
        noise = rng.uniform(-eps, eps, size=x.shape)
    else:
        direction = rng.standard_normal(x.shape)
        radius = rng.uniform(0, 1, size=len(x)) * eps
        noise = direction * per_image(radius / l2_norms(direction))
    return into_box(x + noise.astype(x.dtype), lo, hi, x.dtype)


def _steps(model, x, start, y, eps, alpha, steps, norm, lo, hi, sign, loss_fn, decay):
    """``steps`` projected steps from ``start`` (see :func:`pgd`)."""
    dtype = x.dtype.type
    adv, momentum = start, None
    for _ in range(steps):
        grad, _ = loss_gradient(model, adv, y, loss_fn)
        grad = grad if sign > 0 else -grad
        if decay is not None:
            scale = np.abs(grad).mean(axis=(1, 2, 3), keepdims=True)
            grad = grad / scale if momentum is None else grad / scale + dtype(decay) * momentum
            momentum = grad
        if norm == "inf":  # in place, in one fresh array of x's dtype
            delta = np.sign(grad).astype(x.dtype, copy=False)
            delta *= dtype(alpha)
            delta += adv  # x_t + alpha sign(g)
            delta -= x
            np.clip(delta, dtype(-eps), dtype(eps), out=delta)
            delta += x
            adv = np.clip(delta, dtype(lo), dtype(hi), out=delta)
        else:
            length = l2_norms(grad) + dtype(1e-10)
            stepped = adv + dtype(alpha) * (grad / per_image(length))
            delta = stepped - x
            size = l2_norms(delta)
            factor = np.minimum(np.divide(dtype(eps), size, out=np.ones_like(size),
                                          where=size > 0), dtype(1))
            adv = into_box(x + delta * per_image(factor), lo, hi, x.dtype)
    return adv
