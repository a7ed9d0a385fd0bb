"""The ``visiongrad`` command end to end on tiny data, and its one-line user errors."""

import csv
import gzip
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from visiongrad import cli
from visiongrad.cli import main
from visiongrad.train.checkpoint import load_checkpoint


def assert_user_error(capsys, argv, *fragments):
    """``main(argv)`` fails with exit 1 and a single ``visiongrad: error:`` line."""
    assert main(argv) == 1
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("visiongrad: error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


# ----------------------------------------------------------------------------- helpers


def test_output_folder_never_touches_a_users_files(tmp_path, capsys):
    target = tmp_path / "report"
    assert cli.output_folder(target) == target            # absent: created
    (target / "metrics.json").write_text("{}")
    assert cli.output_folder(target) == target            # ours: reused
    users = tmp_path / "mine"
    users.mkdir()
    (users / "thesis.tex").write_text("precious")
    chosen = cli.output_folder(users)
    assert chosen == tmp_path / "mine-2"
    assert "writing to" in capsys.readouterr().out
    assert sorted(p.name for p in users.iterdir()) == ["thesis.tex"]
    a_file = tmp_path / "plain"
    a_file.write_text("x")
    assert cli.output_folder(a_file) == tmp_path / "plain-2"
    assert cli.output_folder(users) == tmp_path / "mine-2"  # the earlier pick is ours now


def test_format_table_aligns_columns():
    table = cli.format_table(["model", "acc"], [["knn", "0.80"], ["convnet", "0.9"]])
    assert table.splitlines() == ["model    acc", "-------  ----", "knn      0.80",
                                  "convnet  0.9"]


def test_read_images_converts_channels_and_checks_size(tmp_path):
    rgb = np.zeros((4, 5, 3), dtype=np.uint8)
    rgb[..., 0] = 255
    Image.fromarray(rgb).save(tmp_path / "red.png")
    grey = cli.read_images([str(tmp_path / "red.png")], channels=1, size=(4, 5))
    assert grey.shape == (1, 1, 4, 5) and grey.dtype == np.uint8
    assert np.all(grey == 76)                             # ITU-R 601 luma of pure red
    colour = cli.read_images([str(tmp_path / "red.png")], channels=3, size=(4, 5))
    assert colour.shape == (1, 3, 4, 5) and np.all(colour[0, 0] == 255)
    with pytest.raises(cli.CommandError, match=r"red.png is 5x4 pixels but the model takes 4x4"):
        cli.read_images([str(tmp_path / "red.png")], channels=1, size=(4, 4))
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(cli.CommandError, match="cannot read image"):
        cli.read_images([str(tmp_path / "notes.png")], channels=1, size=(4, 5))


# ----------------------------------------------------------------------------- usage


def test_usage_errors_are_argparse_exits(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--epochs", "many"])
    assert exit_info.value.code == 2
    assert "invalid int value" in capsys.readouterr().err


def test_python_dash_m_runs_the_command():
    ok = subprocess.run([sys.executable, "-m", "visiongrad", "summary", "two_layer"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "Linear" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "visiongrad", "summary", "nonet"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1
    lines = bad.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "visiongrad: error: unknown model 'nonet' (choose from ")
    assert "two_layer" in lines[0]


def test_unknown_config_key_is_named(tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"epochs": 1, "learning_rate": 0.1}))
    assert_user_error(capsys, ["train", "--config", str(config)], "'learning_rate'")


def test_config_file_problems(tmp_path, capsys):
    assert_user_error(capsys, ["train", "--config", str(tmp_path / "none.json")], "not found")
    broken = tmp_path / "broken.json"
    broken.write_text("{epochs: 1")
    assert_user_error(capsys, ["train", "--config", str(broken)], "not valid JSON")
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    assert_user_error(capsys, ["train", "--config", str(listed)], "JSON object")


# ----------------------------------------------------------------------------- end to end

FASHION_CLASSES = 10


def write_idx(path, array):
    """Write ``array`` (uint8) as a gzipped IDX file, the Fashion-MNIST distribution format."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def tiny_fashion(tmp_path_factory):
    """A 60/20-image dataset in Fashion-MNIST's own files: class c is bright in row band c."""
    folder = tmp_path_factory.mktemp("fashion")
    rng = np.random.default_rng(0)
    for split, count in (("train", 60), ("t10k", 20)):
        labels = np.arange(count) % FASHION_CLASSES
        images = rng.integers(0, 60, size=(count, 28, 28))
        for image, label in zip(images, labels, strict=True):
            image[2 * label + 4: 2 * label + 8] += 180
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels)
    return folder


@pytest.fixture(scope="module")
def trained(tiny_fashion, tmp_path_factory):
    """``visiongrad train`` once for the module: (output folder, checkpoint path)."""
    out = tmp_path_factory.mktemp("run") / "run"
    config = out.parent / "config.json"
    config.write_text(json.dumps({"model": "two_layer", "epochs": 1, "batch_size": 16,
                                  "optimizer": "sgd", "lr": 0.05, "augment": True,
                                  "schedule": "step"}))
    argv = ["train", "--config", str(config), "--dataset", "fashion-mnist",
            "--data-dir", str(tiny_fashion), "--optimizer", "adam", "--lr", "1e-3",
            "--out", str(out)]
    assert main(argv) == 0
    return out, str(out / "checkpoint.safetensors")


def test_train_writes_checkpoint_and_plots(trained):
    out, checkpoint = trained
    for name in ("loss.png", "accuracy.png", "update_ratios.png"):
        assert (out / name).stat().st_size > 5_000
    options = load_checkpoint(checkpoint)["config"]["options"]
    # the config file chose sgd; the command line's adam wins, the config's epochs stay
    assert options["optimizer"] == "adam" and options["epochs"] == 1
    assert options["batch_size"] == 16 and options["lr"] == 1e-3
    assert options["augment"] is True and options["schedule"] == "step"


def test_evaluate_prints_accuracy_and_writes_confusion(trained, tiny_fashion, tmp_path, capsys):
    _, checkpoint = trained
    assert main(["evaluate", checkpoint, "--dataset", "fashion-mnist", "--data-dir",
                 str(tiny_fashion), "--out", str(tmp_path / "eval")]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "(20 images)" in out
    assert "Ankle boot" in out  # the per-class table names the classes
    assert (tmp_path / "eval" / "confusion_matrix.png").stat().st_size > 5_000


def test_predict_image_files_and_split(trained, tiny_fashion, tmp_path, capsys):
    _, checkpoint = trained
    paths = []
    for index, mode in enumerate(("L", "RGB")):
        path = tmp_path / f"shirt{index}.png"
        Image.new(mode, (28, 28), color=100 if mode == "L" else (100, 50, 0)).save(path)
        paths.append(str(path))
    csv_path = tmp_path / "predictions.csv"
    assert main(["predict", checkpoint, *paths, "--csv", str(csv_path)]) == 0
    assert "shirt1.png" in capsys.readouterr().out
    rows = list(csv.reader(csv_path.open()))
    assert rows[0][:2] == ["image", "label"] and len(rows[0]) == 2 + FASHION_CLASSES
    probabilities = np.array([[float(p) for p in row[2:]] for row in rows[1:]])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    assert [row[1] for row in rows[1:]] == [rows[0][2 + int(np.argmax(p))]
                                           for p in probabilities]
    assert main(["predict", checkpoint, "--dataset", "fashion-mnist", "--data-dir",
                 str(tiny_fashion), "--limit", "5"]) == 0
    assert capsys.readouterr().out.count("fashion-mnist/test/") == 5


def test_summary_prints_the_layer_table(capsys):
    assert main(["summary", "three_layer_convnet", "--input-shape", "1", "28", "28"]) == 0
    out = capsys.readouterr().out
    assert "Conv2d" in out and "Linear" in out


def test_search_writes_table_and_scatter(tiny_fashion, tmp_path, capsys):
    out = tmp_path / "search"
    assert main(["search", "--model", "two_layer", "--dataset", "fashion-mnist",
                 "--data-dir", str(tiny_fashion), "--trials", "2", "--stages", "2",
                 "--epochs", "1", "--batch-size", "20", "--out", str(out)]) == 0
    assert "val accuracy" in capsys.readouterr().out
    results = json.loads((out / "search.json").read_text())
    assert len(results) == 4
    assert (out / "search.png").stat().st_size > 5_000


def test_demo_quick_writes_the_report_beside_a_users_folder(tmp_path, capsys):
    users = tmp_path / "demo"
    users.mkdir()
    (users / "metrics.json").write_text("the user's own file")
    assert main(["demo", "--quick", "--out", str(users)]) == 0
    printed = capsys.readouterr().out
    assert (users / "metrics.json").read_text() == "the user's own file"
    out = tmp_path / "demo-2"
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["models"]) == {"kNN", "softmax", "two-layer net", "convnet"}
    assert metrics["sizes"] == {"train": 360, "validation": 40, "test": 100}
    table = printed[printed.index("model "):]
    for name, result in metrics["models"].items():
        assert 0.0 <= result["accuracy"] <= 1.0
        assert f"{name} " in table and f"{result['accuracy']:.4f}" in table
    assert metrics["best_model"] == max(metrics["models"],
                                        key=lambda name: metrics["models"][name]["accuracy"])
    for name in ("confusion_matrix.png", "convnet_filters.png", "loss_convnet.png",
                 "accuracy_convnet.png", "loss_two_layer_net.png"):
        assert (out / name).stat().st_size > 5_000
    config = load_checkpoint(out / "checkpoint.safetensors")["config"]
    assert config["model"] == metrics["models"][metrics["best_network"]]["params"]["model"]


# ----------------------------------------------------------------------------- user errors


def test_unknown_model_and_optimizer(tiny_fashion, capsys):
    data = ["--dataset", "fashion-mnist", "--data-dir", str(tiny_fashion)]
    assert_user_error(capsys, ["train", "--model", "resnet9000", *data], "'resnet9000'")
    assert_user_error(capsys, ["train", "--model", "two_layer", "--optimizer", "adamw", *data],
                      "'adamw'", "adam")
    assert_user_error(capsys, ["summary", "alexnet9"], "unknown model 'alexnet9'")


def test_missing_data_folder(tmp_path, capsys):
    missing = str(tmp_path / "nowhere")
    assert_user_error(capsys, ["train", "--model", "two_layer", "--dataset", "fashion-mnist",
                               "--data-dir", missing], missing)


def test_checkpoint_of_another_architecture(trained, tiny_fashion, capsys):
    _, checkpoint = trained
    data = ["--dataset", "fashion-mnist", "--data-dir", str(tiny_fashion)]
    assert_user_error(capsys, ["evaluate", checkpoint, "--model", "three_layer_convnet", *data],
                      "does not fit a three_layer_convnet model", "missing keys")


def test_not_a_checkpoint(tmp_path, capsys):
    assert_user_error(capsys, ["evaluate", str(tmp_path / "none.safetensors")], "not found")
    fake = tmp_path / "fake.safetensors"
    fake.write_bytes(b"\x00" * 64)
    assert_user_error(capsys, ["predict", str(fake), "x.png"], "not a safetensors file")


def test_image_of_the_wrong_size(trained, tmp_path, capsys):
    _, checkpoint = trained
    path = tmp_path / "big.png"
    Image.new("L", (32, 30)).save(path)
    assert_user_error(capsys, ["predict", checkpoint, str(path)], "big.png", "32x30", "28x28")
