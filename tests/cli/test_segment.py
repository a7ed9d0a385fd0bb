"""``visiongrad segment``: the FCN trained once, evaluated (mIoU), its label map drawn."""

import json

import numpy as np
from PIL import Image

from visiongrad.cli import main
from visiongrad.recipes.detect import load


def test_train_evaluate_predict(tmp_path, capsys, user_error):
    out = tmp_path / "run"
    assert main(["segment", "train", "--scenes", "4", "--test-scenes", "2",
                 "--size", "32", "--batch-size", "4", "--pretrain", "8", "--pretrain-epochs",
                 "1", "--fresh-scenes", "--epochs", "2", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())["test"]
    assert 0 <= metrics["mIoU"] <= 1 and 0 <= metrics["pixel_accuracy"] <= 1
    checkpoint = str(out / "checkpoint.safetensors")
    assert "pretraining epoch 1/1" in capsys.readouterr().out
    stored = load(checkpoint)[1]
    assert stored.pretrain_scenes == 8 and stored.fresh_scenes and stored.epochs == 2
    assert main(["segment", "evaluate", checkpoint, "--scenes", "2", "--split", "val"]) == 0
    assert "mIoU" in capsys.readouterr().out
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(tmp_path / "blank.png")
    assert main(["segment", "predict", checkpoint, str(tmp_path / "blank.png"), "--out",
                 str(tmp_path / "overlay.png")]) == 0
    width, height = Image.open(tmp_path / "overlay.png").size
    assert width == 128 and height > 128  # 32 x 4, and the legend under it
    user_error(["detect", "evaluate", checkpoint], "holds a fcn model")
    user_error(["segment", "predict", checkpoint, str(tmp_path / "blank.png"), "--out",
                str(tmp_path / "missing" / "o.png")], "not found")
