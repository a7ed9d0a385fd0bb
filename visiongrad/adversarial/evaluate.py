"""Robustness evaluation: accuracy under an attack, its curve over eps, attacks built by
name, and the sanity checks that tell a robust model from a masked gradient (Athalye et
al., 2018; Carlini et al., 2019: more steps and restarts never help the model, a black-box
attack never beats the white-box one, and an unbounded attack always wins).

An attack here is any callable ``attack(model, images, labels) -> adversarial images``;
``functools.partial(pgd, eps=0.1, alpha=0.01, steps=40)`` is one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial

import numpy as np

from .arguments import check_box, check_count, check_positive, l2_norms, predict_scores
from .blackbox import square_attack
from .gradient import bim, fgsm, mi_fgsm, pgd
from .minimal import carlini_wagner_l2, deepfool

METHODS = ("fgsm", "bim", "pgd", "pgd-l2", "mi-fgsm", "deepfool", "cw", "square")
"""The attacks :func:`build_attack` knows. deepfool and cw look for the least L2 change:
built with a budget eps, a change larger than eps counts as a failure.

Examples
--------
>>> METHODS[:3]
('fgsm', 'bim', 'pgd')
"""


def batches(data, batch_size: int) -> Iterable[tuple[np.ndarray, np.ndarray]]:
    """(images, labels) batches of ``data``: an (images, labels) pair or an iterable of
    such batches (a ``DataLoader``)."""
    if isinstance(data, tuple) and len(data) == 2 and not isinstance(data[0], tuple):
        images, labels = np.asarray(data[0]), np.asarray(data[1])
        if len(images) != len(labels) or not len(images):
            raise ValueError(f"data must pair N > 0 images with N labels, got {len(images)} "
                             f"and {len(labels)}")
        return ((images[start:start + batch_size], labels[start:start + batch_size])
                for start in range(0, len(images), batch_size))
    return ((np.asarray(images), np.asarray(labels)) for images, labels in data)


def robust_accuracy(model, data, attack: Callable | None, batch_size: int = 256) -> float:
    """The fraction of images the model still classifies correctly after ``attack``.

    Parameters
    ----------
    model : nn.Module in eval mode
    data : (images, labels) or an iterable of (images, labels) batches
    attack : callable ``(model, images, labels) -> images``, or None for clean accuracy

    Examples
    --------
    >>> from visiongrad.adversarial import robust_accuracy
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3)).eval()
    >>> images, labels = np.full((2, 1, 2, 2), 0.5, np.float32), np.array([0, 2])
    >>> from visiongrad.adversarial import fgsm
    >>> from functools import partial
    >>> clean = robust_accuracy(model, (images, labels), None)
    >>> attacked = robust_accuracy(model, (images, labels), partial(fgsm, eps=0.1))
    >>> clean >= attacked
    True
    """
    batch_size = check_count("batch_size", batch_size)
    correct = seen = 0
    for images, labels in batches(data, batch_size):
        inputs = images if attack is None else attack(model, images, labels)
        correct += int((predict_scores(model, inputs).argmax(axis=1) == labels).sum())
        seen += len(labels)
    return correct / seen


def accuracy_curve(model, data, make_attack: Callable[[float], Callable],
                   epsilons: Sequence[float], batch_size: int = 256,
                   on_point: Callable[[float, float], None] | None = None) -> np.ndarray:
    """Robust accuracy at each eps: ``robust_accuracy(model, data, make_attack(eps))``
    (eps = 0 is the clean accuracy), and ``on_point(eps, accuracy)`` after each when given
    (progress). Returns an array like ``epsilons``.

    Examples
    --------
    >>> from visiongrad.adversarial import accuracy_curve
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3)).eval()
    >>> images, labels = np.full((2, 1, 2, 2), 0.5, np.float32), np.array([0, 2])
    >>> from visiongrad.adversarial import build_attack
    >>> curve = accuracy_curve(model, (images, labels), lambda eps: build_attack('fgsm', eps),
    ...                        [0.0, 0.1, 0.5])
    >>> curve.shape
    (3,)
    """
    curve = []
    for eps in epsilons:
        curve.append(robust_accuracy(model, data, None if eps == 0 else make_attack(eps),
                                     batch_size))
        if on_point is not None:
            on_point(eps, curve[-1])
    return np.array(curve)


def within_budget(attack: Callable, eps: float) -> Callable:
    """``attack`` whose images that changed by more than ``eps`` in L2 are given back
    unchanged (a change over budget is a failure).

    Examples
    --------
    >>> from visiongrad.adversarial import within_budget
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3)).eval()
    >>> images, labels = np.full((2, 1, 2, 2), 0.5, np.float32), np.array([0, 2])
    >>> from visiongrad.adversarial import pgd
    >>> from functools import partial
    >>> attack = within_budget(partial(pgd, eps=1.0, alpha=0.5, steps=5), eps=0.01)
    >>> bool(np.array_equal(attack(model, images, labels), images))
    True
    """
    def bounded(model, images, labels):
        adversarial = attack(model, images, labels)
        over = l2_norms((adversarial - images).astype(np.float64)) > eps
        return np.where(over[:, None, None, None], images, adversarial)
    return bounded


def build_attack(method: str, eps: float, steps: int = 40, *, restarts: int = 1,
                 alpha: float | None = None, box=(0.0, 1.0), queries: int = 1000,
                 seed=0) -> Callable:
    """An attack of :data:`METHODS` by name, with the usual settings.

    PGD takes steps of alpha = 2.5 eps / steps (Madry et al.) from a random start when it
    has several ``restarts``; BIM and MI-FGSM take alpha = eps / steps from x. ``eps`` is
    an L-inf radius except for pgd-l2, deepfool and cw (an L2 one).

    Examples
    --------
    >>> from visiongrad.adversarial import build_attack
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3)).eval()
    >>> images, labels = np.full((2, 1, 2, 2), 0.5, np.float32), np.array([0, 2])
    >>> attack = build_attack('pgd', eps=0.1, steps=5)
    >>> adversarial = attack(model, images, labels)
    >>> bool(np.abs(adversarial - images).max() <= 0.1 + 1e-6)
    True
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    eps = check_positive("eps", eps)
    steps, restarts = check_count("steps", steps), check_count("restarts", restarts)
    check_box(box)
    if alpha is None:
        alpha = (2.5 if method.startswith("pgd") else 1.0) * eps / steps
    if method == "fgsm":
        return partial(fgsm, eps=eps, box=box)
    if method in ("pgd", "pgd-l2"):
        return partial(pgd, eps=eps, alpha=alpha, steps=steps, norm="2" if method == "pgd-l2"
                       else "inf", random_start=restarts > 1, box=box, restarts=restarts,
                       seed=seed)
    if method == "bim":
        return partial(bim, eps=eps, alpha=alpha, steps=steps, box=box)
    if method == "mi-fgsm":
        return partial(mi_fgsm, eps=eps, alpha=alpha, steps=steps, box=box)
    if method == "square":
        return partial(square_attack, eps=eps, queries=queries, box=box, seed=seed)
    if method == "deepfool":
        return within_budget(partial(deepfool, steps=steps, box=box), eps)
    return within_budget(partial(carlini_wagner_l2, steps=steps, box=box), eps)


def gradient_masking_checks(model, data, eps: float, steps: int = 10, restarts: int = 3,
                            queries: int = 500, box=(0.0, 1.0), seed=0,
                            batch_size: int = 256) -> dict:
    """Robust accuracies that a model with honest gradients must order as expected.

    Runs L-inf PGD with ``steps`` steps, with 4 x ``steps`` steps, with ``restarts``
    random restarts, the score-based Square attack (``queries`` queries) and PGD with
    eps = hi - lo (the whole box), and checks that

    * more steps never raise robust accuracy,
    * more restarts never raise it,
    * the black-box attack does not beat the white-box one (its accuracy is not lower),
    * the unbounded attack reaches 0%.

    Returns
    -------
    dict
        ``"accuracy"``: {attack: robust accuracy}; ``"checks"``: {check: bool}.

    Examples
    --------
    >>> from visiongrad.adversarial import gradient_masking_checks
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3)).eval()
    >>> images, labels = np.full((2, 1, 2, 2), 0.5, np.float32), np.array([0, 2])
    >>> checks = gradient_masking_checks(model, (images, labels), eps=0.1, steps=2, restarts=1,
    ...                                  queries=20)
    >>> sorted(checks)
    ['accuracy', 'checks']
    """
    lo, hi = check_box(box)
    data = tuple(batches(data, batch_size))
    attacks = {
        "pgd": build_attack("pgd", eps, steps, box=box),
        "pgd, 4x steps": build_attack("pgd", eps, 4 * steps, box=box),
        f"pgd, {restarts} restarts": build_attack("pgd", eps, steps, restarts=max(restarts, 2),
                                                  box=box, seed=seed),
        "square (scores only)": build_attack("square", eps, box=box, queries=queries,
                                             seed=seed),
        "pgd, unbounded": build_attack("pgd", hi - lo, max(steps, 20), box=box),
    }
    accuracy = {name: robust_accuracy(model, data, attack, batch_size)
                for name, attack in attacks.items()}
    single_restart = robust_accuracy(model, data, partial(  # the restarts' first run
        pgd, eps=eps, alpha=2.5 * eps / steps, steps=steps, random_start=True, box=box,
        seed=seed), batch_size)
    names = list(accuracy)
    checks = {
        "more steps never raise robust accuracy": accuracy[names[1]] <= accuracy[names[0]],
        "more restarts never raise robust accuracy": accuracy[names[2]] <= single_restart,
        "black-box success <= white-box success": accuracy[names[3]] >= accuracy[names[0]],
        "unbounded eps reaches 0%": accuracy[names[4]] == 0.0,
    }
    return {"accuracy": accuracy, "checks": checks}
