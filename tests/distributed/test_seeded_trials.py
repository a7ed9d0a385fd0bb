"""A seeded search or ensemble on Ray writes the local one's results, also with more
trials than workers (a worker then runs several trials in one process)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from visiongrad.cli import main
from visiongrad.train import load_checkpoint

WORKERS = 2


@pytest.fixture(scope="module")
def two_workers():
    """Ray started with two CPUs (two worker processes at a time), shut down after."""
    ray = pytest.importorskip("ray", reason="Ray is not installed "
                                            "(pip install 'visiongrad[distributed]')")
    ray.init(num_cpus=WORKERS, include_dashboard=False)
    yield ray
    ray.shutdown()


def without_seconds(folder) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"}
            for row in json.loads((folder / "search.json").read_text())]


def test_seeded_ray_search_with_more_trials_than_workers_equals_the_local_one(
        tmp_path, two_workers):
    """The embedded data at batch 64: products large enough for OpenBLAS to cut them
    over its threads here (one per core) and not in a one-CPU Ray task."""
    options = ["search", "--model", "fc", "--trials", "5", "--stages", "1", "--epochs", "1",
               "--seed", "5"]
    assert main([*options, "--out", str(tmp_path / "local")]) == 0
    assert main([*options, "--backend", "ray", "--out", str(tmp_path / "ray")]) == 0
    local, remote = without_seconds(tmp_path / "local"), without_seconds(tmp_path / "ray")
    assert len(local) == 5 and len({row["score"] for row in local}) > 1
    assert remote == local


def test_seeded_ray_ensemble_with_more_members_than_workers_equals_the_local_one(
        tmp_path, two_workers):
    options = ["train", "--model", "fc", "--epochs", "1", "--lr", "0.02", "--seed", "3",
               "--ensemble", "3"]
    assert main([*options, "--out", str(tmp_path / "local")]) == 0
    assert main([*options, "--backend", "ray", "--out", str(tmp_path / "ray")]) == 0
    local, remote = (json.loads((tmp_path / name / "metrics.json").read_text())
                     for name in ("local", "ray"))
    assert remote["members"] == local["members"] and remote["ensemble"] == local["ensemble"]
    for member in local["members"]:
        weights = [load_checkpoint(tmp_path / name / member["checkpoint"])["model"]
                   for name in ("local", "ray")]
        for key, value in weights[0].items():
            assert np.array_equal(weights[1][key], value), (member["member"], key)
