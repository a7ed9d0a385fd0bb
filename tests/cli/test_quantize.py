"""``visiongrad quantize`` and ``visiongrad export --format onnx``: the per-layer table and
accuracies, the int8 checkpoint read by evaluate, predict and export, and the errors."""

import re

import numpy as np
import pytest

from visiongrad.cli import main
from visiongrad.cli.network import load_network
from visiongrad.compress import QuantizedClassifier
from visiongrad.train.predict import predict_logits


@pytest.fixture(scope="module")
def quantized(trained, tiny_fashion, tmp_path_factory):
    out = tmp_path_factory.mktemp("int8") / "run3"
    assert main(["quantize", str(trained[0]), "--calibration", "30", "--method", "mse",
                 "--dataset", "fashion-mnist", "--data-dir", str(tiny_fashion),
                 "--out", str(out)]) == 0
    return out


def test_quantize_prints_the_table_and_both_accuracies(trained, tiny_fashion, tmp_path, capsys):
    out = tmp_path / "q"
    assert main(["quantize", trained[1], "--calibration", "1000", "--dataset", "fashion-mnist",
                 "--data-dir", str(tiny_fashion), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "calibrated on 60 fashion-mnist training images (minmax)" in printed  # all 60
    header = next(line for line in printed.splitlines() if line.startswith("layer"))
    assert "int8 bytes" in header and "SQNR dB" in header
    assert [line.split()[1] for line in printed.splitlines()
            if line.split()[:1] in (["1"], ["3"])] == ["linear", "linear"]
    assert "accuracy float32 " in printed and ", int8 " in printed
    assert (out / "checkpoint.safetensors").is_file() and (out / "metrics.json").is_file()


def test_evaluate_predict_and_export_read_the_int8_checkpoint(quantized, trained, tiny_fashion,
                                                              tmp_path, capsys):
    checkpoint = str(quantized / "checkpoint.safetensors")
    model, normalize, info = load_network(checkpoint)
    assert isinstance(model, QuantizedClassifier) and "int8" in info
    data = ["--dataset", "fashion-mnist", "--data-dir", str(tiny_fashion)]
    capsys.readouterr()
    assert main(["evaluate", checkpoint, *data]) == 0
    assert "accuracy" in capsys.readouterr().out
    assert main(["predict", checkpoint, *data, "--limit", "3"]) == 0
    assert "fashion-mnist/test/2" in capsys.readouterr().out
    onnxruntime = pytest.importorskip("onnxruntime")
    images = np.random.default_rng(0).integers(0, 256, (16, 1, 28, 28)).astype(np.uint8)
    for source, name in ((checkpoint, "int8.onnx"), (trained[1], "float.onnx")):
        assert main(["export", source, str(tmp_path / name), "--format", "onnx"]) == 0
        session = onnxruntime.InferenceSession(str(tmp_path / name),
                                               providers=["CPUExecutionProvider"])
        logits = session.run(None, {"images": (images / 255.0).astype(np.float32)})[0]
        net, normalize, _ = load_network(source)
        expected = predict_logits(net, normalize(images))
        if name == "float.onnx":
            np.testing.assert_allclose(logits, expected, atol=1e-5, rtol=1e-5)
        else:
            assert np.mean(logits.argmax(1) == expected.argmax(1)) >= 0.9
    assert main(["export", trained[1], str(tmp_path / "w.safetensors")]) == 0  # as before


def test_quantize_and_export_errors(quantized, trained, tmp_path, user_error):
    user_error(["quantize", trained[1], "--calibration", "0", "--out", str(tmp_path / "a")],
               "--calibration")
    user_error(["quantize", str(tmp_path / "missing"), "--out", str(tmp_path / "b")],
               "not found")
    user_error(["quantize", str(quantized), "--out", str(tmp_path / "c")],
               "already an int8 checkpoint")
    user_error(["export", trained[1], str(tmp_path / "m.onnx"), "--format", "safetensors"],
               ".safetensors")
    user_error(["export", trained[1], str(tmp_path / "m.bin"), "--format", "onnx"], ".onnx")


@pytest.mark.parametrize("kind", ["ternary", "binary"])
def test_quantize_trains_binary_and_ternary_weights_that_evaluate_reads(kind, trained,
                                                                        tiny_fashion, tmp_path,
                                                                        capsys):
    out = tmp_path / kind
    data = ["--dataset", "fashion-mnist", "--data-dir", str(tiny_fashion)]
    assert main(["quantize", trained[1], "--weights", kind, "--all-layers", "--epochs", "2",
                 "--lr", "1e-3", *data, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"^epoch 1/2: loss \d.*\[\d+ s elapsed, about \d+ s left\]$", printed,
                     re.M), printed  # train.progress's convention: the whole run's ETA
    assert re.search(r"^epoch 2/2: loss \d.*\[\d+ s in all\]$", printed, re.M)
    rows = [line.split() for line in printed.splitlines() if line.split()[:1] in (["1"], ["3"])]
    bits = "2" if kind == "ternary" else "1"
    assert [row[1:4:2] for row in rows] == [[kind, bits], [kind, bits]]
    assert [row[2] for row in rows] == ["100x784", "10x100"]
    after = float(printed.split(f", {kind} ")[1].split()[0])
    model, _, info = load_network(str(out / "checkpoint.safetensors"))
    assert info["low_bit"]["weights"] == kind and info["model"] == "two_layer"
    for index in (1, 3):
        weight = model[index].weight.data
        if kind == "ternary":  # {-W_n, 0, W_p}: at most three values, one sign each
            values = np.unique(weight)
            assert len(values) <= 3 and (values < 0).sum() <= 1 and (values > 0).sum() <= 1
        else:  # +-a_f per output channel
            assert np.allclose(np.abs(weight), np.abs(weight[:, :1]))
    assert main(["evaluate", str(out / "checkpoint.safetensors"), *data]) == 0
    assert f"accuracy {after:.4f}" in capsys.readouterr().out


def test_quantize_refuses_low_bit_options_it_cannot_use(trained, tmp_path, user_error):
    user_error(["quantize", trained[1], "--epochs", "2", "--out", str(tmp_path / "a")],
               "--epochs", "add --weights binary or --weights ternary")
    user_error(["quantize", trained[1], "--weights", "ternary", "--out", str(tmp_path / "b")],
               "two_layer has no Conv2d/Linear layer between its first and last")
    user_error(["quantize", trained[1], "--weights", "ternary", "--threshold", "1",
                "--out", str(tmp_path / "c")], "--threshold")
    assert [path.name for path in tmp_path.iterdir()] == []  # refused before writing
