"""``visiongrad train``."""

import struct
import sys

import numpy as np
import pytest

from visiongrad.cli import main
from visiongrad.train.checkpoint import load_checkpoint


def test_train_writes_checkpoint_and_plots(trained):
    out, checkpoint = trained
    for name in ("loss.png", "accuracy.png", "update_ratios.png"):
        assert (out / name).stat().st_size > 5_000
    options = load_checkpoint(checkpoint)["config"]["options"]
    # the config file chose sgd; the command line's adam wins, the config's epochs stay
    assert options["optimizer"] == "adam" and options["epochs"] == 1
    assert options["batch_size"] == 16 and options["lr"] == 1e-3
    assert options["augment"] is True and options["schedule"] == "step"


def test_unknown_model_and_optimizer(tiny_fashion, user_error):
    data = ["--dataset", "fashion-mnist", "--data-dir", str(tiny_fashion)]
    user_error(["train", "--model", "resnet9000", *data], "'resnet9000'")
    user_error(["train", "--model", "two_layer", "--optimizer", "adamx", *data],
                      "'adamx'", "adamw")
    user_error(["summary", "alexnet9"], "unknown model 'alexnet9'")


def test_missing_data_folder(tmp_path, user_error):
    missing = str(tmp_path / "nowhere")
    user_error(["train", "--model", "two_layer", "--dataset", "fashion-mnist",
                               "--data-dir", missing], missing)


def test_train_writes_its_report_with_the_command(trained):
    out, _ = trained
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "visiongrad train --config" in page and "Most confidently misclassified" in page
    assert page.count('src="data:image/png;base64,') >= 5


def read_scalars(folder):
    """``{tag: [(step, value), ...]}`` of the TensorBoard event files in ``folder``, read
    with TensorBoard's own reader when it is installed, else record by record (TFRecord:
    length, its masked CRC-32C, the Event protobuf, its masked CRC-32C) with tensorboardX's
    protobuf classes and CRC function."""
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        pass
    else:
        events = EventAccumulator(str(folder))
        events.Reload()
        return {tag: [(e.step, e.value) for e in events.Scalars(tag)]
                for tag in events.Tags()["scalars"]}
    event_pb2 = pytest.importorskip("tensorboardX.proto.event_pb2",
                                    reason="tensorboardX is not installed")
    from tensorboardX.record_writer import masked_crc32c
    scalars = {}
    files = sorted(folder.glob("events.out.tfevents.*"))
    assert files, f"no event file in {folder}"
    for path in files:
        data, offset = path.read_bytes(), 0
        while offset < len(data):
            header = data[offset:offset + 8]
            (length,) = struct.unpack("<Q", header)
            assert struct.unpack("<I", data[offset + 8:offset + 12])[0] == masked_crc32c(header)
            record = data[offset + 12:offset + 12 + length]
            crc = data[offset + 12 + length:offset + 16 + length]
            assert struct.unpack("<I", crc)[0] == masked_crc32c(record)
            offset += 16 + length
            event = event_pb2.Event.FromString(record)
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    return scalars


def test_tensorboard_event_files_hold_loss_and_accuracy(tiny_fashion, tmp_path, capsys):
    pytest.importorskip("tensorboardX", reason="tensorboardX is not installed "
                                               "(pip install 'visiongrad[tensorboard]')")
    out = tmp_path / "run"
    assert main(["train", "--model", "two_layer", "--epochs", "2", "--batch-size", "16",
                 "--dataset", "fashion-mnist", "--data-dir", str(tiny_fashion),
                 "--tensorboard", "--out", str(out)]) == 0
    assert f"tensorboard --logdir {out / 'tensorboard'}" in capsys.readouterr().out
    scalars = read_scalars(out / "tensorboard")
    history = load_checkpoint(out / "checkpoint.safetensors")["history"]
    steps, losses = zip(*scalars["iteration/loss"], strict=True)
    assert list(steps) == list(range(1, len(history["loss"]) + 1))
    np.testing.assert_allclose(losses, history["loss"], rtol=1e-6)
    for tag, key in (("epoch/train_loss", "epoch_loss"), ("epoch/train_accuracy",
                     "train_accuracy"), ("epoch/val_loss", "val_loss"),
                     ("epoch/val_accuracy", "val_accuracy"), ("epoch/lr", "lr")):
        assert [step for step, _ in scalars[tag]] == [1, 2], tag
        np.testing.assert_allclose([value for _, value in scalars[tag]], history[key],
                                   rtol=1e-6, err_msg=tag)


def test_tensorboard_without_tensorboardx_is_one_line(tiny_fashion, tmp_path, monkeypatch,
                                                      user_error):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # import raises ImportError
    out = tmp_path / "run"
    user_error(["train", "--model", "two_layer", "--dataset", "fashion-mnist", "--data-dir",
                str(tiny_fashion), "--tensorboard", "--out", str(out)],
               "--tensorboard needs the tensorboardX package",
               "pip install 'visiongrad[tensorboard]'")
    assert not out.exists()  # refused before anything was trained or written
