"""Hyperparameter search: random (log-uniform) or grid, in coarse-to-fine stages.

>>> def objective(lr, weight_decay):           # train briefly, return validation accuracy
...     ...
>>> results = search(objective, {"lr": (1e-4, 1e-1), "weight_decay": (1e-6, 1e-2)},
...                  method="random", trials=10, stages=2)   # doctest: +SKIP
>>> best(results)["lr"]                                      # doctest: +SKIP

Each stage samples ``trials`` settings; the next stage narrows every range around the best
setting so far (the course's coarse-to-fine search). A range is a ``(low, high)`` pair
(searched on a log scale when both bounds are positive, unless ``log_scale`` says
otherwise); a list is a set of choices. A run "explodes" when the objective raises
:class:`~visiongrad.train.TrainingDiverged` (a Trainer built with
``raise_on_explosion=True``) or returns a non-finite score: it is cut, recorded with score
``nan`` and status ``"exploded"``, and never chosen as the best.

Where the trials run is ``run_trials``'s business: :func:`run_locally` (the default) runs
a stage's trials one after another in this process;
:class:`visiongrad.train.ray_trials.RayTrials` runs them as Ray tasks, on this machine or on a
cluster, and reports a trial that failed as a row with status ``"failed"``. Settings are
drawn here either way, so a seeded search tries the same settings wherever it runs.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence

import numpy as np

from .. import random as vg_random
from ..accel import blas
from .trainer import TrainingDiverged

METHODS = ("random", "grid")


def _check_space(space: Mapping) -> None:
    if not space:
        raise ValueError("the search space is empty")
    for name, values in space.items():
        if isinstance(values, tuple):
            if len(values) != 2 or not values[0] < values[1]:
                raise ValueError(f"range for {name!r} must be (low, high) with low < high, "
                                 f"got {values!r}")
        elif not isinstance(values, list) or not values:
            raise ValueError(f"{name!r} must be a (low, high) tuple or a non-empty list of "
                             f"choices, got {values!r}")


def _is_log(name: str, bounds: tuple, log_scale: Collection[str] | None) -> bool:
    positive = bounds[0] > 0
    if log_scale is not None and name in log_scale and not positive:
        raise ValueError(f"{name!r} is searched on a log scale, so its range must be "
                         f"positive, got {bounds!r}")
    return positive if log_scale is None else name in log_scale


def settings_generator() -> np.random.Generator:
    """The generator a search draws its settings from: one child of visiongrad's generator
    drawn when the search starts, so trials that reseed visiongrad's (to score the same
    wherever they run) do not change the later stages' draws."""
    return np.random.default_rng(vg_random.get_generator().integers(0, 2**63))


def _random_settings(space: Mapping, log: Mapping[str, bool], trials: int,
                     generator: np.random.Generator) -> list[dict]:
    settings: list[dict] = [{} for _ in range(trials)]
    for name, values in space.items():
        if isinstance(values, list):
            draws = [values[i] for i in generator.integers(len(values), size=trials)]
        elif log[name]:
            low, high = np.log10(values)
            draws = (10.0 ** generator.uniform(low, high, size=trials)).tolist()
        else:
            draws = generator.uniform(*values, size=trials).tolist()
        for setting, value in zip(settings, draws, strict=True):
            setting[name] = value
    return settings


def _grid_settings(space: Mapping, log: Mapping[str, bool], trials: int,
                   generator: np.random.Generator | None = None) -> list[dict]:
    ranges = [name for name, values in space.items() if isinstance(values, tuple)]
    per_axis = max(1, round(trials ** (1 / len(ranges)))) if ranges else 1
    axes = {}
    for name, values in space.items():
        if isinstance(values, list):
            axes[name] = values
        elif per_axis == 1:
            axes[name] = [float(np.sqrt(values[0] * values[1]) if log[name] else np.mean(values))]
        else:
            spacing = np.geomspace if log[name] else np.linspace
            axes[name] = spacing(*values, per_axis).tolist()
    return [dict(zip(axes, point, strict=True)) for point in itertools.product(*axes.values())]


def _narrow(space: Mapping, log: Mapping[str, bool], centre: Mapping, shrink: float) -> dict:
    """Ranges ``shrink`` times as wide, centred on ``centre``; choices fixed to its values.

    A range may move past its old bounds: when the best value sits at an edge the search
    follows it there.
    """
    narrowed = {}
    for name, values in space.items():
        if isinstance(values, list):
            narrowed[name] = [centre[name]]
            continue
        if log[name]:
            half = shrink * (math.log10(values[1]) - math.log10(values[0])) / 2
            middle = math.log10(centre[name])
            narrowed[name] = (10.0 ** (middle - half), 10.0 ** (middle + half))
        else:
            half = shrink * (values[1] - values[0]) / 2
            narrowed[name] = (centre[name] - half, centre[name] + half)
    return narrowed


def best(results: Sequence[Mapping], maximize: bool = True) -> Mapping:
    """The result row with the best finite score.

    Raises
    ------
    ValueError
        If no run has a finite score (every run exploded).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import train
    >>> train.best([{'lr': 0.1, 'score': 0.8}, {'lr': 0.01, 'score': 0.9}])['lr']
    0.01
    """
    finite = [row for row in results if math.isfinite(row["score"])]
    if not finite:
        raise ValueError(f"no run finished with a finite score ({len(results)} runs, all "
                         f"exploded or failed)")
    return (max if maximize else min)(finite, key=lambda row: row["score"])


def run_locally(objective: Callable, settings: Sequence[Mapping]) -> list[dict]:
    """Run each setting in turn in this process; one result row each (see :func:`search`)."""
    return [run_trial(objective, setting) for setting in settings]


def search(objective: Callable[..., float | Mapping], space: Mapping, *,
           method: str = "random", trials: int = 8, stages: int = 1, shrink: float = 0.5,
           log_scale: Collection[str] | None = None, maximize: bool = True,
           run_trials: Callable = run_locally) -> list[dict]:
    """Run a coarse-to-fine hyperparameter search; return the results table.

    Parameters
    ----------
    objective : callable
        Called as ``objective(**setting)``; returns the score (validation accuracy, say)
        or a mapping with a ``"score"`` key and any other columns to record.
    space : mapping
        ``{name: (low, high)}`` for a range, ``{name: [a, b, ...]}`` for choices.
    method : {"random", "grid"}
        Random draws (log-uniform on log-scale ranges, uniform otherwise, choices uniformly)
        or a grid of about ``trials`` points (``round(trials ** (1/d))`` values per range,
        evenly spaced on the range's scale, times every choice).
    trials : int
        Settings per stage (random), or the grid's target size.
    stages : int
        Number of stages; each after the first searches ranges ``shrink`` times as wide,
        centred on the best setting found so far, with choices fixed to the best.
    shrink : float
        Width of each stage's ranges relative to the previous stage's, in (0, 1].
    log_scale : collection of str, optional
        Names of ranges to search on a log scale. Default: every range with positive bounds
        (learning rates and regularisation strengths).
    maximize : bool
        Whether a higher score is better.
    run_trials : callable
        ``run_trials(objective, settings) -> rows``, one stage's trials at a time:
        :func:`run_locally`, or a :class:`~visiongrad.train.ray_trials.RayTrials`. An objective
        run elsewhere must not depend on what earlier trials left behind (seed it from
        its setting), so that it scores the same wherever it runs.

    Returns
    -------
    list of dict
        One row per run, in order: the setting, ``"score"`` (``nan`` when cut),
        ``"status"`` (``"ok"``, ``"exploded"`` or, from Ray, ``"failed"`` with a
        ``"message"``), ``"stage"``, ``"trial"``,
        ``"seconds"`` and any extra columns the objective returned.

    Examples
    --------
    >>> from visiongrad.train import search
    >>> def objective(lr):            # best at lr = 0.01
    ...     return 1.0 - (np.log10(lr) + 2.0) ** 2
    >>> results = search(objective, {'lr': (1e-4, 1.0)}, method='grid', trials=3)
    >>> [(round(r['lr'], 4), round(r['score'], 2)) for r in results]
    [(0.0001, -3.0), (0.01, 1.0), (1.0, -3.0)]
    """
    if method not in METHODS:
        raise ValueError(f"unknown search method {method!r} (choose from {', '.join(METHODS)})")
    for name, value in (("trials", trials), ("stages", stages)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not 0 < shrink <= 1:
        raise ValueError(f"shrink must be in (0, 1], got {shrink}")
    _check_space(space)
    log = {name: _is_log(name, values, log_scale)
           for name, values in space.items() if isinstance(values, tuple)}
    settings_for = _random_settings if method == "random" else _grid_settings
    generator = settings_generator()
    results: list[dict] = []
    stage_space = dict(space)
    for stage in range(stages):
        if stage:
            try:
                centre = best(results, maximize)
            except ValueError:
                centre = None  # everything exploded so far: search the same ranges again
            if centre is not None:
                stage_space = _narrow(stage_space, log, centre, shrink)
        settings = settings_for(stage_space, log, trials, generator)
        rows = run_trials(objective, settings)
        for trial, (setting, row) in enumerate(zip(settings, rows, strict=True)):
            results.append({**setting, **row, "stage": stage, "trial": trial})
    return results


@contextlib.contextmanager
def trial_threads() -> Iterator[None]:
    """The block with its matrix products on one BLAS thread, as a trial runs wherever it
    runs: OpenBLAS cuts a product differently for another thread count and rounds the
    last bits differently, and a trial that trains amplifies those bits into another
    score. A Ray task has one CPU (one BLAS thread), so a trial run in turn here uses one
    too, and scores the same."""
    functions = blas.thread_count_functions()
    if functions is None:  # no OpenBLAS to set: its count is the environment's
        yield
        return
    with blas.one_blas_thread(functions):
        yield


def run_trial(objective: Callable, setting: Mapping) -> dict:
    """One call of the objective as a row: score, status, seconds and extra columns.

    The objective runs under :func:`trial_threads`, so that it depends on its setting
    (and the seed it takes from it) only, not on where it runs.
    """
    started = time.perf_counter()
    try:
        with trial_threads():
            outcome = objective(**setting)
    except TrainingDiverged as error:
        outcome = {"score": math.nan, "message": str(error)}
    row = dict(outcome) if isinstance(outcome, Mapping) else {"score": outcome}
    if "score" not in row:
        raise ValueError(f"the objective returned a mapping without a 'score' key: {sorted(row)}")
    row["score"] = float(row["score"])
    row["status"] = "ok" if math.isfinite(row["score"]) else "exploded"
    row["seconds"] = time.perf_counter() - started
    return row
