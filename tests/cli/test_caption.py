"""``visiongrad caption train|sample`` on a tiny run, and its one-line errors."""

import json

import numpy as np
import pytest
from PIL import Image

from visiongrad.cli import main

TINY = ["--scenes", "30", "--val-scenes", "4", "--test-scenes", "4", "--encoder-epochs", "1",
        "--epochs", "1", "--hidden", "12", "--wordvec", "8", "--batch-size", "15"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("caption") / "run"
    assert main(["caption", "train", "--attention", "--cell", "gru", *TINY,
                 "--out", str(out)]) == 0
    return out


def test_train_writes_checkpoint_and_metrics(run_dir, capsys):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics["test"]) >= {"bleu1", "bleu4", "attention", "examples"}
    assert metrics["config"]["cell"] == "gru" and metrics["config"]["attention"]
    assert 0 <= metrics["test"]["bleu4"] <= 100
    assert (run_dir / "checkpoint.safetensors").is_file()


def test_sample_a_split_and_an_image(run_dir, tmp_path, capsys):
    checkpoint = str(run_dir / "checkpoint.safetensors")
    png = tmp_path / "maps.png"
    assert main(["caption", "sample", checkpoint, "test", "--limit", "2",
                 "--attention-png", str(png)]) == 0
    out = capsys.readouterr().out
    assert "test[0]: " in out and "test[1]: " in out and "(reference: a " in out
    assert png.stat().st_size > 0
    image = tmp_path / "scene.png"
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(image)
    assert main(["caption", "sample", checkpoint, str(image)]) == 0
    assert capsys.readouterr().out.startswith(f"{image}: ")


def test_errors(run_dir, tmp_path, user_error):
    checkpoint = str(run_dir / "checkpoint.safetensors")
    user_error(["caption", "sample", checkpoint, "nowhere.png"], "neither an image file")
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(small)
    user_error(["caption", "sample", checkpoint, str(small)], "64x64", "28x28")
    user_error(["caption", "sample", str(tmp_path / "absent.safetensors"), "test"],
               "cannot load the checkpoint")
    user_error(["caption", "train", "--scenes", "0"], "positive integer")
    user_error(["caption", "train", "--cell", "transformer"], "invalid choice")
    user_error(["caption", "train", "--lr", "-1", "--out", str(tmp_path / "x")], "--lr")
