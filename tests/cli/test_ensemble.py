"""``visiongrad train --ensemble N``: members from consecutive seeds, the averaged
probabilities' accuracy, the same members on Ray, a failed member reported, bad input;
and ``visiongrad evaluate`` of the run's folder."""

import json
import sys

import numpy as np
import pytest

from visiongrad.cli import ensemble_run, main
from visiongrad.cli.network import load_network
from visiongrad.data import load_dataset
from visiongrad.train import load_checkpoint
from visiongrad.train.trainer import predict_proba


def ensemble_options(data_dir, lr: str = "1e-4") -> list[str]:
    """One epoch of the tiny net; at the default learning rate the members are weak and
    disagree, so that averaging their probabilities matters."""
    return ["train", "--model", "two_layer", "--dataset", "fashion-mnist", "--data-dir",
            str(data_dir), "--epochs", "1", "--batch-size", "16", "--lr", lr, "--seed", "3"]


@pytest.fixture(scope="module")
def local_run(tiny_fashion, tmp_path_factory):
    """Three members trained in turn: the run's folder and its metrics.json."""
    out = tmp_path_factory.mktemp("ensemble") / "local"
    assert main([*ensemble_options(tiny_fashion), "--ensemble", "3", "--out", str(out)]) == 0
    return out, json.loads((out / "metrics.json").read_text())


def member_results(metrics: dict) -> list[tuple]:
    return [(m["member"], m["seed"], m["status"], m["val_accuracy"], m["test_accuracy"])
            for m in metrics["members"]]


def test_local_ensemble_averages_its_members_probabilities(local_run, tiny_fashion, capsys):
    out, metrics = local_run
    assert [(m["member"], m["seed"], m["status"]) for m in metrics["members"]] == [
        (1, 3, "ok"), (2, 4, "ok"), (3, 5, "ok")]
    test = load_dataset("fashion-mnist", split="test", data_dir=str(tiny_fashion))
    probabilities, weights = [], []
    for member in metrics["members"]:
        path = out / member["checkpoint"]
        assert path == out / f"member-{member['member']}" / "checkpoint.safetensors"
        model, normalize, info = load_network(str(path))
        assert info["options"]["seed"] == member["seed"] and info["options"]["ensemble"] is None
        member_probabilities = predict_proba(model, normalize(test.images))
        assert member["test_accuracy"] == pytest.approx(
            np.mean(member_probabilities.argmax(1) == test.labels))
        probabilities.append(member_probabilities)
        weights.append(load_checkpoint(path)["model"])
    assert not np.allclose(weights[0]["1.weight"], weights[1]["1.weight"])  # own seeds
    by_hand = np.mean(np.mean(probabilities, axis=0).argmax(1) == test.labels)
    assert metrics["ensemble"]["members"] == 3
    assert metrics["ensemble"]["test_accuracy"] == pytest.approx(by_hand)
    assert by_hand not in [member["test_accuracy"] for member in metrics["members"]]
    assert 0 <= metrics["ensemble"]["val_accuracy"] <= 1

    capsys.readouterr()
    assert main(["evaluate", str(out), "--dataset", "fashion-mnist", "--data-dir",
                 str(tiny_fashion)]) == 0
    assert (f"ensemble of 3 two_layer on fashion-mnist test (20 images): accuracy "
            f"{by_hand:.4f}") in capsys.readouterr().out


def test_ray_ensemble_trains_the_local_members(tiny_fashion, tmp_path):
    """The members' weights are the local ones, bit for bit."""
    ray = pytest.importorskip("ray", reason="Ray is not installed "
                                            "(pip install 'visiongrad[distributed]')")
    options = [*ensemble_options(tiny_fashion, lr="0.01"), "--ensemble", "2"]
    assert main([*options, "--out", str(tmp_path / "local")]) == 0
    try:
        assert main([*options, "--backend", "ray", "--out", str(tmp_path / "ray")]) == 0
    finally:
        ray.shutdown()
    local, remote = (json.loads((tmp_path / name / "metrics.json").read_text())
                     for name in ("local", "ray"))
    assert member_results(remote) == member_results(local)
    assert remote["ensemble"] == local["ensemble"]
    for member in (1, 2):
        weights = [load_checkpoint(tmp_path / name / f"member-{member}" /
                                   "checkpoint.safetensors")["model"]
                   for name in ("local", "ray")]
        for key, value in weights[0].items():
            # every member runs its products on one BLAS thread, here as in a Ray task
            assert np.array_equal(weights[1][key], value), key


def test_a_failed_member_is_reported_and_the_others_go_on(tiny_fashion, tmp_path,
                                                          monkeypatch, capsys, user_error):
    fit_network = ensemble_run.fit_network

    def fails_from_seed_4(model, args, *rest, **options):
        if args.seed == 4:
            raise FloatingPointError("this member's loss is nan")
        return fit_network(model, args, *rest, **options)

    monkeypatch.setattr(ensemble_run, "fit_network", fails_from_seed_4)
    out = tmp_path / "run"
    assert main([*ensemble_options(tiny_fashion), "--ensemble", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "member 2 (seed 4) failed: FloatingPointError: this member's loss is nan" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert [m["status"] for m in metrics["members"]] == ["ok", "failed"]
    assert metrics["members"][1]["message"] == "FloatingPointError: this member's loss is nan"
    assert metrics["ensemble"]["members"] == 1
    assert metrics["ensemble"]["test_accuracy"] == metrics["members"][0]["test_accuracy"]
    assert not (out / "member-2").exists()

    user_error([*ensemble_options(tiny_fashion), "--seed", "4", "--ensemble", "1", "--out",
                str(tmp_path / "none")], "every member of the ensemble failed")
    assert json.loads((tmp_path / "none" / "metrics.json").read_text())["ensemble"] is None


@pytest.mark.parametrize("extra, message", [
    (["--ensemble", "0"], "--ensemble must be at least 1, got 0"),
    (["--ensemble", "2", "--distributed"], "--ensemble does not go with --distributed"),
    (["--ensemble", "2", "--address", "auto"], "--address goes with --backend ray"),
    (["--backend", "ray"], "--backend and --address go with --ensemble N"),
])
def test_bad_ensemble_options_are_one_line_errors(extra, message, tiny_fashion, tmp_path,
                                                  user_error):
    user_error([*ensemble_options(tiny_fashion), *extra, "--out", str(tmp_path / "run")],
               message)
    assert not (tmp_path / "run").exists()


def test_ray_backend_without_ray_is_one_line(tiny_fashion, tmp_path, monkeypatch,
                                             user_error):
    monkeypatch.setitem(sys.modules, "ray", None)  # ``import ray`` raises ImportError
    user_error([*ensemble_options(tiny_fashion), "--ensemble", "2", "--backend", "ray",
                "--out", str(tmp_path / "run")],
               "--backend ray needs Ray: pip install 'visiongrad[distributed]'")
    assert not (tmp_path / "run").exists()
