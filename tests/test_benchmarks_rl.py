"""benchmarks/rl.py's helpers that need no training: joining per-seed result files and the
mean learning curve over seeds."""

import json

import numpy as np
import pytest

from benchmarks import rl


def result(seeds, steps=30000):
    return {"algo": "dqn", "env": "MinAtar/Breakout-v1", "steps": steps,
            "hyperparameters": {"lr": 2.5e-4},
            "runs": [{"seed": seed,
                      "visiongrad": {"return_mean": float(seed), "train_seconds": 2.0},
                      "sb3": {"return_mean": 1.0, "train_seconds": 1.0}} for seed in seeds]}


def test_merge_orders_seeds_and_summarises_over_them(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(result([2])))
    (tmp_path / "b.json").write_text(json.dumps(result([0, 1])))
    merged = rl.merge([str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    assert [run["seed"] for run in merged["runs"]] == [0, 1, 2]
    assert merged["visiongrad_return_over_seeds"] == {"mean": 1.0, "std": pytest.approx(
        np.std([0.0, 1.0, 2.0])), "seeds": 3}
    assert merged["sb3_return_over_seeds"]["mean"] == 1.0
    assert merged["time_per_step_ratio_median"] == 2.0


def test_merge_refuses_a_repeated_seed_or_another_budget(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(result([0])))
    (tmp_path / "b.json").write_text(json.dumps(result([0])))
    (tmp_path / "c.json").write_text(json.dumps(result([1], steps=50000)))
    with pytest.raises(SystemExit, match="seed appears twice"):
        rl.merge([str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    with pytest.raises(SystemExit, match="differ"):
        rl.merge([str(tmp_path / "a.json"), str(tmp_path / "c.json")])


def test_mean_curve_averages_the_seeds_where_all_have_a_value():
    curves = [{"ends": [10, 20, 30], "returns": [1.0, 1.0, 1.0]},
              {"ends": [20, 40], "returns": [3.0, 3.0]}]
    mean = rl.mean_curve(curves, np.array([0.0, 15.0, 25.0, 30.0, 35.0]))
    assert np.isnan(mean[[0, 1, 4]]).all()  # before seed 1's first episode, after seed 0's last
    np.testing.assert_allclose(mean[[2, 3]], [2.0, 2.0])
