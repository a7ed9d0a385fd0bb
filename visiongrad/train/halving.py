"""Successive halving: many settings on a small budget, the best third on three times the
budget, and so on (Jamieson and Talwalkar, 2016; the synchronous form of ASHA).

>>> def objective(lr, weight_decay, budget):    # train `budget` epochs, return val accuracy
...     ...
>>> rows = successive_halving(objective, {"lr": (1e-4, 1e-1)}, trials=9,
...                           min_budget=1, eta=3)                   # doctest: +SKIP

Rung k trains the survivors of rung k - 1 with budget ``min_budget * eta**k`` and keeps the
best ``1 / eta`` of them (at least one), until one is left or ``max_budget`` is reached.
A setting that explodes or fails at a rung stops there. Each rung's trials go through
``run_trials`` at once (in turn here, as Ray tasks with
:class:`~visiongrad.train.ray_trials.RayTrials`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping

import numpy as np

from .search import _check_space, _is_log, _random_settings, run_locally, settings_generator


def successive_halving(objective: Callable[..., float | Mapping], space: Mapping, *,
                       trials: int = 9, min_budget: int = 1, eta: int = 3,
                       max_budget: int | None = None,
                       log_scale: Collection[str] | None = None, maximize: bool = True,
                       run_trials: Callable = run_locally) -> list[dict]:
    """Random settings (as :func:`~visiongrad.train.search`'s), cut down rung by rung.

    Parameters
    ----------
    objective : callable
        ``objective(**setting, budget=b)``: train with budget ``b`` (epochs, say) from
        scratch and return the score or a mapping with ``"score"``.
    space, log_scale, maximize, run_trials
        As in :func:`~visiongrad.train.search`.
    trials : int
        Settings drawn for the first rung.
    min_budget, eta : int
        The first rung's budget, and the factor by which the budget grows and the field
        shrinks at each rung (eta >= 2).
    max_budget : int, optional
        No rung beyond this budget (default: rungs until one setting is left).

    Returns
    -------
    list of dict
        One row per trial run: the setting, ``"budget"``, ``"stage"`` (the rung),
        ``"trial"`` (the setting's number in the first rung), and the columns of
        :func:`~visiongrad.train.search`'s rows.
    """
    for name, value, low in (("trials", trials, 1), ("min_budget", min_budget, 1),
                             ("eta", eta, 2)):
        if not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer of at least {low}, got {value!r}")
    if max_budget is not None and max_budget < min_budget:
        raise ValueError(f"max_budget must be at least min_budget={min_budget}, "
                         f"got {max_budget!r}")
    _check_space(space)
    log = {name: _is_log(name, values, log_scale)
           for name, values in space.items() if isinstance(values, tuple)}
    settings = _random_settings(space, log, trials, settings_generator())
    alive, budget, rung, results = list(range(trials)), min_budget, 0, []
    while True:
        rows = run_trials(lambda budget=budget, **setting: objective(**setting, budget=budget),
                          [settings[index] for index in alive])
        scored = []
        for index, row in zip(alive, rows, strict=True):
            results.append({**settings[index], **row, "budget": budget, "stage": rung,
                            "trial": index})
            if math.isfinite(row["score"]):
                scored.append((row["score"] if maximize else -row["score"], index))
        keep = max(1, len(alive) // eta)
        if len(alive) == 1 or not scored or (max_budget is not None
                                             and budget * eta > max_budget):
            return results
        alive = [index for _, index in sorted(scored, key=lambda pair: -pair[0])[:keep]]
        budget, rung = budget * eta, rung + 1
