"""Search on Ray: the same trial results as the local search for a fixed seed, a failing
trial reported while the search goes on, and successive halving's rungs."""

from __future__ import annotations

import math

import numpy as np
import pytest

import visiongrad as vg
from visiongrad.train import search
from visiongrad.train.halving import successive_halving
from visiongrad.train.search import run_locally

SPACE = {"lr": (1e-4, 1e-1), "weight_decay": (1e-6, 1e-2), "width": [8, 16]}


def noisy_bowl(fail_above: float = math.inf):
    """An objective peaked at lr = 1e-2 with noise seeded from its setting (as the CLI's
    trials are), raising for lr above ``fail_above``; a closure, so Ray ships it by
    value."""
    def objective(lr, weight_decay, width, budget=1):
        if lr > fail_above:
            raise RuntimeError(f"lr {lr:.3g} is too large for this test")
        seed = np.frombuffer(np.float64([lr, weight_decay, width, budget]).tobytes(),
                             np.uint32)
        noise = np.random.default_rng(seed).normal(scale=0.01)
        return {"score": -(math.log10(lr) + 2) ** 2 - 0.1 / budget + noise, "width": width}
    return objective


def without_time(rows):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


@pytest.fixture(scope="module")
def ray_trials():
    ray = pytest.importorskip("ray", reason="Ray is not installed "
                                            "(pip install 'visiongrad[distributed]')")
    from visiongrad.train.ray_trials import RayTrials

    trials = RayTrials()
    trials.connect()
    yield trials
    ray.shutdown()


def test_ray_search_gives_the_local_search_results_and_survives_a_failed_trial(ray_trials):
    vg.manual_seed(7)
    local = search(noisy_bowl(), SPACE, trials=4, stages=2)
    vg.manual_seed(7)
    remote = search(noisy_bowl(), SPACE, trials=4, stages=2, run_trials=ray_trials)
    assert without_time(remote) == without_time(local)
    assert all(row["seconds"] >= 0 for row in remote)

    vg.manual_seed(7)
    cut = search(noisy_bowl(fail_above=0.01), SPACE, trials=6, stages=2,
                 run_trials=ray_trials)
    failed = [row for row in cut if row["status"] == "failed"]
    assert failed and all(row["lr"] > 0.01 and math.isnan(row["score"]) for row in failed)
    assert all("is too large for this test" in row["message"] for row in failed)
    assert len(cut) == 12 and any(row["status"] == "ok" for row in cut[6:])


def test_ray_successive_halving_gives_the_local_results(ray_trials):
    vg.manual_seed(3)
    local = successive_halving(noisy_bowl(), SPACE, trials=9, eta=3)
    vg.manual_seed(3)
    remote = successive_halving(noisy_bowl(), SPACE, trials=9, eta=3, run_trials=ray_trials)
    assert without_time(remote) == without_time(local)


def test_successive_halving_keeps_the_best_third_on_three_times_the_budget():
    rows = successive_halving(noisy_bowl(), SPACE, trials=9, eta=3, min_budget=2,
                              run_trials=run_locally)
    assert [(r["stage"], r["budget"]) for r in rows] == [(0, 2)] * 9 + [(1, 6)] * 3 + [(2, 18)]
    first = sorted(rows[:9], key=lambda r: -r["score"])
    assert sorted(r["trial"] for r in rows[9:12]) == sorted(r["trial"] for r in first[:3])
    best_second = max(rows[9:12], key=lambda r: r["score"])
    assert rows[12]["trial"] == best_second["trial"] and rows[12]["lr"] == best_second["lr"]
    capped = successive_halving(noisy_bowl(), SPACE, trials=9, eta=3, max_budget=5)
    assert [r["budget"] for r in capped] == [1] * 9 + [3] * 3


def test_successive_halving_checks_its_arguments():
    with pytest.raises(ValueError, match="eta must be an integer of at least 2"):
        successive_halving(noisy_bowl(), SPACE, eta=1)
    with pytest.raises(ValueError, match="max_budget must be at least min_budget=2"):
        successive_halving(noisy_bowl(), SPACE, min_budget=2, max_budget=1)
