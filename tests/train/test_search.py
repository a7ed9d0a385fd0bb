import math

import numpy as np
import pytest

from visiongrad import train
from visiongrad.train.search import run_locally


def bowl(lr, weight_decay):
    """A score peaked at lr = 1e-2, weight_decay = 1e-4 (in log space)."""
    return -((math.log10(lr) + 2) ** 2 + (math.log10(weight_decay) + 4) ** 2)


SPACE = {"lr": (1e-5, 1e0), "weight_decay": (1e-7, 1e-1)}


def test_random_search_is_log_uniform_within_the_ranges():
    results = train.search(bowl, SPACE, trials=200)
    lrs = np.log10([r["lr"] for r in results])
    assert lrs.min() >= -5 and lrs.max() <= 0
    # log-uniform: about a fifth of the draws in each decade
    counts = np.histogram(lrs, bins=5, range=(-5, 0))[0]
    assert counts.min() > 20
    assert {r["stage"] for r in results} == {0}
    assert [r["trial"] for r in results] == list(range(200))


def test_coarse_to_fine_narrows_around_the_best():
    results = train.search(bowl, SPACE, trials=12, stages=3)
    by_stage = [[r for r in results if r["stage"] == s] for s in range(3)]
    spread = [np.ptp(np.log10([r["lr"] for r in rows])) for rows in by_stage]
    assert spread[2] < spread[0] / 2
    best_per_stage = [max(r["score"] for r in rows) for rows in by_stage]
    assert train.best(results)["score"] == max(best_per_stage)
    assert train.best(results)["score"] > -0.5  # within about half a decade of the peak


def test_grid_search_spacing_and_choices():
    results = train.search(lambda lr, momentum: lr * momentum,
                           {"lr": (1e-3, 1e-1), "momentum": [0.5, 0.9]}, method="grid", trials=3)
    assert [r["lr"] for r in results] == pytest.approx([1e-3, 1e-3, 1e-2, 1e-2, 1e-1, 1e-1])
    assert [r["momentum"] for r in results] == [0.5, 0.9] * 3
    linear = train.search(lambda a: a, {"a": (0.0, 1.0)}, method="grid", trials=5)
    assert [r["a"] for r in linear] == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])


def test_exploding_runs_are_cut_and_never_best():
    def objective(lr, weight_decay):
        if lr > 1e-2:
            raise train.TrainingDiverged("loss exploded")
        if lr > 1e-3:
            return {"score": math.nan}
        return {"score": lr, "epochs": 3}

    results = train.search(objective, SPACE, trials=40, stages=2)
    exploded = [r for r in results if r["lr"] > 1e-3]
    assert exploded and all(r["status"] == "exploded" and math.isnan(r["score"])
                            for r in exploded)
    assert "loss exploded" in next(r for r in results if r["lr"] > 1e-2)["message"]
    assert train.best(results)["lr"] <= 1e-3
    assert train.best(results)["epochs"] == 3


def test_all_exploded_has_no_best():
    results = train.search(lambda lr: math.nan, {"lr": (1e-3, 1e-1)}, trials=3, stages=2)
    assert len(results) == 6
    with pytest.raises(ValueError, match="no run finished"):
        train.best(results)


@pytest.mark.parametrize("space, options, message", [
    ({}, {}, "empty"),
    ({"lr": (1e-1, 1e-3)}, {}, "low < high"),
    ({"lr": 0.1}, {}, "tuple or a non-empty list"),
    ({"lr": (-1.0, 1.0)}, {"log_scale": ["lr"]}, "must be positive"),
    ({"lr": (1e-3, 1e-1)}, {"method": "bayes"}, "unknown search method"),
    ({"lr": (1e-3, 1e-1)}, {"trials": 0}, "trials must be"),
])
def test_bad_search_arguments(space, options, message):
    with pytest.raises(ValueError, match=message):
        train.search(lambda **kw: 0.0, space, **options)


def test_a_trial_runs_its_products_on_one_blas_thread_wherever_it_runs():
    """As in a one-CPU Ray task: OpenBLAS rounds a product cut over more threads
    differently, which a trial's training amplifies into another score."""
    from visiongrad.accel import blas

    functions = blas.thread_count_functions()
    if functions is None:
        pytest.skip("NumPy's BLAS is not OpenBLAS: its thread count cannot be read")
    get_threads, set_threads = functions
    before = get_threads()
    set_threads(2)
    try:
        rows = run_locally(lambda lr: {"score": lr, "threads": get_threads()}, [{"lr": 0.5}])
        assert rows[0]["threads"] == 1
        assert get_threads() == 2  # restored after the trial
    finally:
        set_threads(before)
