"""``visiongrad finetune``: a trained run adapted to the embedded digits."""

import json

import numpy as np
import pytest

from visiongrad.cli import main
from visiongrad.cli.finetune import labelled_subset
from visiongrad.train.checkpoint import load_checkpoint


@pytest.mark.parametrize("freeze", ["features", "none"])
def test_finetune_digits_tiny_run(trained, tmp_path, capsys, freeze):
    folder, checkpoint = trained
    out = tmp_path / "tuned"
    argv = ["finetune", str(folder), "--dataset", "digits", "--labels-per-class", "3",
            "--epochs", "2", "--batch-size", "8", "--freeze", freeze, "--out", str(out)]
    argv += ["--augment"] if freeze == "none" else []
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "on 30 digits images (10 classes)" in printed and "test accuracy" in printed
    before = load_checkpoint(checkpoint)
    after = load_checkpoint(out / "checkpoint.safetensors")
    assert after["config"]["classes"] == [str(d) for d in range(10)]
    assert after["config"]["commands"][-1].startswith("visiongrad finetune")
    # two_layer: Flatten, Linear (features), ReLU, Linear "3" (the head, replaced)
    unchanged = [np.array_equal(before["model"][key], after["model"][key])
                 for key in ("1.weight", "1.bias")]
    assert unchanged == ([True, True] if freeze == "features" else [False, False])
    assert not np.array_equal(before["model"]["3.weight"], after["model"]["3.weight"])
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["labelled_images"] == 30 and 0 <= metrics["test_accuracy"] <= 1
    # the result is an ordinary checkpoint: evaluate reads it on the digits
    assert main(["evaluate", str(out / "checkpoint.safetensors"), "--dataset", "digits"]) == 0
    assert f"accuracy {metrics['test_accuracy']:.4f}" in capsys.readouterr().out


def test_labelled_subset_is_stratified_and_seeded():
    labels = np.repeat(np.arange(4), 5)
    chosen = labelled_subset(labels, 2, seed=3)
    assert np.bincount(labels[chosen]).tolist() == [2, 2, 2, 2]
    assert np.array_equal(chosen, labelled_subset(labels, 2, seed=3))
    assert np.array_equal(labelled_subset(labels, None, seed=0), np.arange(20))


def test_finetune_user_errors(trained, tmp_path, user_error):
    folder, _ = trained
    user_error(["finetune", str(folder), "--dataset", "digits", "--labels-per-class", "500",
                "--out", str(tmp_path / "a")], "--labels-per-class 500", "smallest class")
    user_error(["finetune", str(tmp_path / "missing.safetensors"), "--dataset", "digits"],
               "cannot read checkpoint")
    user_error(["finetune", str(folder), "--freeze", "all"], "--freeze")
