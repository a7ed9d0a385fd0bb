"""Black-box attacks: the transfer attack (craft on a surrogate, score on the target;
Papernot et al., 2017) and the Square attack (Andriushchenko et al., 2020), which only
queries the model's scores and never its gradients.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..autograd import no_grad
from ..random import as_generator
from .arguments import (
    attacking,
    check_batch,
    check_classes,
    check_count,
    check_positive,
    into_box,
    margins,
    model_input,
)

_HALVINGS = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)
"""The Square attack's schedule: the square's area halves after these iterations (out of
10000, scaled to the number of queries)."""


def transfer_attack(surrogate, attack: Callable) -> Callable:
    """An attack on any model that never looks at it: ``attack`` run on ``surrogate``.

    Returns
    -------
    callable ``(model, images, labels) -> adversarial images`` whose ``model`` is ignored

    Examples
    --------
    >>> from functools import partial
    >>> from visiongrad.adversarial import fgsm
    >>> _ = vg.manual_seed(0)
    >>> surrogate = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    >>> target = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    >>> images, labels = np.full((2, 1, 2, 2), 0.5, np.float32), np.array([0, 2])
    >>> blind = transfer_attack(surrogate, partial(fgsm, eps=0.1))
    >>> moved = blind(target, images, labels) - images
    >>> moved.shape, bool(np.allclose(np.abs(moved), 0.1))
    ((2, 1, 2, 2), True)
    """
    def crafted_on_surrogate(model, images, labels):
        return attack(surrogate, images, labels)

    crafted_on_surrogate.surrogate = surrogate
    return crafted_on_surrogate


def square_attack(model, images, labels, eps, queries: int = 1000, p_init: float = 0.8,
                  box=(0.0, 1.0), *, seed=None) -> np.ndarray:
    """The L-inf Square attack: random search over square patches of +-eps, scores only.

    It starts from vertical stripes (each column of each channel moved by +-eps), then
    for up to ``queries`` iterations changes one random square per image (side
    round(sqrt(p H W)), p falling from ``p_init`` by halves: 0.8 is the paper's MNIST
    setting, 0.05 its ImageNet one) to a random +-eps per
    channel, keeping the change when the margin s_y - max_{j != y} s_j falls. Images the
    model already misclassifies are not queried again.

    Returns
    -------
    ndarray, the shape and dtype of ``images``

    Examples
    --------
    >>> from visiongrad.adversarial import square_attack
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3)).eval()
    >>> images, labels = np.full((2, 1, 2, 2), 0.5, np.float32), np.array([0, 2])
    >>> adversarial = square_attack(model, images, labels, eps=0.1, queries=20, seed=0)
    >>> adversarial.shape, bool(np.abs(adversarial - images).max() <= 0.1 + 1e-6)
    ((2, 1, 2, 2), True)
    """
    x, y, lo, hi = check_batch(images, labels, box)
    eps, p_init = check_positive("eps", eps), check_positive("p_init", p_init)
    if not 0 < p_init <= 1:
        raise ValueError(f"p_init must lie in (0, 1], got {p_init}")
    queries = check_count("queries", queries)
    rng = as_generator(seed)
    n, channels, height, width = x.shape
    stripes = eps * rng.choice([-1.0, 1.0], size=(n, channels, 1, width))
    best = into_box(x + stripes.astype(x.dtype), lo, hi, x.dtype)
    with attacking(model):
        margin = _margins(model, best, y)
        for iteration in range(queries - 1):
            active = np.flatnonzero(margin > 0)
            if not len(active):
                break
            p = p_init / 2 ** sum(iteration * 10000 / queries > t for t in _HALVINGS)
            side = int(np.clip(round(np.sqrt(p * height * width)), 1, min(height, width) - 1))
            top = rng.integers(0, height - side + 1, size=len(active))
            left = rng.integers(0, width - side + 1, size=len(active))
            rows, cols = np.arange(height), np.arange(width)
            inside = (((rows >= top[:, None]) & (rows < top[:, None] + side))[:, :, None]
                      & ((cols >= left[:, None]) & (cols < left[:, None] + side))[:, None])
            values = eps * rng.choice([-1.0, 1.0], size=(len(active), channels, 1, 1))
            delta = np.where(inside[:, None], values, best[active] - x[active])
            candidate = into_box(x[active] + delta.astype(x.dtype), lo, hi, x.dtype)
            new_margin = _margins(model, candidate, y[active])
            improved = new_margin < margin[active]
            best[active[improved]] = candidate[improved]
            margin[active[improved]] = new_margin[improved]
    return best


def _margins(model, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    with no_grad():
        scores = model(model_input(model, images))
    check_classes(scores, labels)
    return margins(scores.data, labels)

