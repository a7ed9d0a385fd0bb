"""``visiongrad search --backend ray``: the local search's results, from Ray tasks; and
``--method halving``."""

from __future__ import annotations

import json

import pytest
from test_cli_train import write_fashion

from visiongrad.cli import main


def search_rows(folder) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"}
            for row in json.loads((folder / "search.json").read_text())]


def test_ray_search_writes_the_local_search_results(tmp_path, capsys):
    """Two coarse-to-fine stages: the second stage's ranges come from the first's scores."""
    ray = pytest.importorskip("ray", reason="Ray is not installed "
                                            "(pip install 'visiongrad[distributed]')")
    write_fashion(tmp_path)
    options = ["search", "--model", "two_layer", "--dataset", "fashion-mnist", "--data-dir",
               str(tmp_path), "--trials", "2", "--stages", "2", "--batch-size", "16",
               "--seed", "5", "--lr-range", "5e-3", "5e-2"]
    assert main([*options, "--out", str(tmp_path / "local")]) == 0
    try:
        assert main([*options, "--backend", "ray", "--out", str(tmp_path / "ray")]) == 0
    finally:
        ray.shutdown()
    assert "val accuracy" in capsys.readouterr().out
    local, remote = search_rows(tmp_path / "local"), search_rows(tmp_path / "ray")
    assert len(local) == 4 and remote == local
    assert len({row["score"] for row in local}) > 1  # the trials differ


def test_halving_search_runs_the_best_third_longer(tmp_path, capsys):
    write_fashion(tmp_path)
    options = ["search", "--model", "two_layer", "--dataset", "fashion-mnist", "--data-dir",
               str(tmp_path), "--batch-size", "16"]
    assert main([*options, "--method", "halving", "--trials", "3",
                 "--out", str(tmp_path / "halving")]) == 0
    rows = json.loads((tmp_path / "halving" / "search.json").read_text())
    assert sorted((row["stage"], row["budget"]) for row in rows) == [(1, 1)] * 3 + [(2, 3)]
    assert capsys.readouterr().out.count("3 epochs") == 1
    for argv, message in (([*options, "--method", "halving", "--eta", "1"],
                           "--eta must be at least 2, got 1"),
                          ([*options, "--address", "auto"], "--address goes with --backend ray")):
        assert main(argv) == 1
        assert capsys.readouterr().err.strip() == f"visiongrad: error: {message}"
