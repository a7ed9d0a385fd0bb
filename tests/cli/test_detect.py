"""``visiongrad detect``: a tiny run trained once, evaluated, predicting on a scene and on
an image with no objects; user errors in one line."""

import json
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from visiongrad.cli import main
from visiongrad.detection import compose_detection_scenes
from visiongrad.recipes.detect import load, make_scenes

TINY = ["--scenes", "4", "--test-scenes", "2", "--epochs", "1", "--size", "32",
        "--batch-size", "4"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("detect") / "run"
    assert main(["detect", "train", "--model", "ssd", *TINY, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pictures")
    scene = compose_detection_scenes(1, "test", 0, size=32, min_scale=8, max_scale=16)
    Image.fromarray(scene.images[0, 0]).save(folder / "scene.png")
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(folder / "blank.png")
    Image.fromarray(np.zeros((20, 32), np.uint8)).save(folder / "wide.png")
    return folder


def test_train_writes_checkpoint_with_config_and_metrics(run, capsys):
    metrics = json.loads((run / "metrics.json").read_text())["test"]
    assert {"AP", "AP50", "AP75", "seconds_per_image"} <= set(metrics)
    model, config = load(run / "checkpoint.safetensors")
    assert config.model == "ssd" and config.size == 32 and model.image_size == 32


def test_evaluate_prints_coco_scores(run, capsys):
    assert main(["detect", "evaluate", str(run / "checkpoint.safetensors"), "--scenes",
                 "2"]) == 0
    line = capsys.readouterr().out
    assert "ssd on 2 test scenes" in line and "AP50" in line and "AP75" in line


@pytest.mark.parametrize("name", ["scene.png", "blank.png"])
def test_predict_draws_a_png(run, pictures, tmp_path, capsys, name):
    out = tmp_path / "out.png"
    assert main(["detect", "predict", str(run / "checkpoint.safetensors"),
                 str(pictures / name), "--out", str(out), "--min-score", "0"]) == 0
    assert "detections scoring" in capsys.readouterr().out
    assert Image.open(out).size == (128, 128)


def test_user_errors(run, pictures, tmp_path, user_error):
    checkpoint = str(run / "checkpoint.safetensors")
    user_error(["detect", "predict", checkpoint, str(pictures / "wide.png"), "--out",
                str(tmp_path / "o.png")], "32x32")
    user_error(["detect", "predict", checkpoint, str(tmp_path / "none.png"), "--out",
                str(tmp_path / "o.png")], "image not found")
    user_error(["detect", "predict", checkpoint, str(pictures / "blank.png"), "--out",
                str(tmp_path / "o.jpg")], ".png")
    user_error(["detect", "evaluate", str(tmp_path / "missing.safetensors")],
               "cannot load the checkpoint")
    user_error(["segment", "evaluate", checkpoint], "holds a ssd model")
    user_error(["detect", "train", "--model", "yolo9000"], "--model")
    user_error(["detect", "train", "--size", "40", "--out", str(tmp_path / "r")], "size",
               "multiple of 16")
    user_error(["detect", "train", "--lr", "0", "--out", str(tmp_path / "r")], "lr")
    user_error(["detect", "train", "--pretrain", "-1", "--out", str(tmp_path / "r")],
               "pretrain_scenes")
    user_error(["detect", "train", "--model", "rcnn", "--pretrain", "10", "--out",
                str(tmp_path / "r")], "no Backbone to pretrain")


def test_scene_writes_the_split_scene_that_evaluation_composes(run, tmp_path, capsys):
    out = tmp_path / "scene.png"
    assert main(["detect", "scene", "--split", "val", "--index", "2", "--size", "32",
                 "--out", str(out)]) == 0
    config = load(run / "checkpoint.safetensors")[1]
    scenes = make_scenes(replace(config, size=32), "val", 5)  # more scenes: the same first 3
    np.testing.assert_array_equal(np.asarray(Image.open(out)), scenes.images[2, 0])
    printed = capsys.readouterr().out
    assert printed.startswith("val scene 2: ") and "scene: " in printed
    assert printed.count("[") == len(scenes.labels[2])
    assert main(["detect", "predict", str(run / "checkpoint.safetensors"), str(out), "--out",
                 str(tmp_path / "drawn.png")]) == 0  # what the README does next


def test_scene_user_errors(tmp_path, user_error):
    user_error(["detect", "scene", "--index", "-1", "--out", str(tmp_path / "s.png")],
               "--index", ">= 0")
    user_error(["segment", "scene", "--out", str(tmp_path / "s.jpg")], ".png")
    user_error(["detect", "scene", "--out", str(tmp_path / "no" / "s.png")], "not found")
    user_error(["detect", "scene", "--dataset", "nope", "--out", str(tmp_path / "s.png")],
               "unknown dataset")
