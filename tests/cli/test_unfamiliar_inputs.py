"""``predict`` warns (one line on stderr) when an image is unlike the training images, by
the statistics of visiongrad.recipes.input_check stored in the checkpoint; real
Fashion-MNIST test images raise no warning."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from visiongrad.cli import main
from visiongrad.data import load_dataset
from visiongrad.recipes.input_check import STATISTICS
from visiongrad.train.checkpoint import load_checkpoint


@pytest.fixture(scope="module")
def fashion_run(tmp_path_factory):
    """A classifier trained one epoch on the embedded Fashion-MNIST subset (real images)."""
    out = tmp_path_factory.mktemp("fashion") / "run"
    assert main(["train", "--model", "two_layer", "--dataset", "fashion-mnist-mini",
                 "--epochs", "1", "--out", str(out)]) == 0
    return out


def save_png(path, pixels) -> str:
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(path)
    return str(path)


def warnings_of(argv, capsys) -> list[str]:
    capsys.readouterr()
    assert main(argv) == 0
    return [line for line in capsys.readouterr().err.splitlines() if "warning" in line]


def test_the_checkpoint_holds_the_training_images_ranges(fashion_run):
    ranges = load_checkpoint(fashion_run / "checkpoint.safetensors")["config"]["input_ranges"]
    assert set(ranges) == set(STATISTICS)
    assert all(0 <= low < high <= 1 for low, high in ranges.values())


def test_fashion_test_images_raise_no_warning(fashion_run, tmp_path, capsys):
    assert warnings_of(["predict", str(fashion_run), "--dataset", "fashion-mnist-mini",
                        "--split", "test"], capsys) == []  # 2,000 real test images
    test = load_dataset("fashion-mnist-mini", split="test")
    image = save_png(tmp_path / "shirt.png", test.images[0, 0])
    assert warnings_of(["predict", str(fashion_run), image], capsys) == []


@pytest.mark.parametrize("name, pixels, statistic", [
    ("noise", np.random.default_rng(0).integers(0, 256, (28, 28)), "roughness"),
    ("grey", np.full((28, 28), 128), "contrast"),
    ("black", np.zeros((28, 28)), "contrast"),
])
def test_noise_and_blank_images_are_named_unlike_the_training_images(
        fashion_run, tmp_path, capsys, name, pixels, statistic):
    image = save_png(tmp_path / f"{name}.png", pixels)
    warnings = warnings_of(["predict", str(fashion_run), image], capsys)
    assert len(warnings) == 1
    assert warnings[0].startswith(f"visiongrad: warning: {image} does not look like the "
                                  f"training images: its {statistic} (")
    assert "outside the training images'" in warnings[0]


def test_several_unlike_images_make_one_line(fashion_run, tmp_path, capsys):
    test = load_dataset("fashion-mnist-mini", split="test")
    images = [save_png(tmp_path / "white.png", np.full((28, 28), 255)),
              save_png(tmp_path / "ok.png", test.images[1, 0]),
              save_png(tmp_path / "grey.png", np.full((28, 28), 90))]
    warnings = warnings_of(["predict", str(fashion_run), *images], capsys)
    assert len(warnings) == 1
    assert f"2 of 3 images do not look like the training images (the first, {images[0]}: " \
           f"its brightness" in warnings[0]


def test_compressed_and_quantized_models_warn_too(fashion_run, tmp_path, capsys):
    """``compress`` and ``quantize`` keep the training images' ranges in what they write."""
    noise = save_png(tmp_path / "noise.png", np.random.default_rng(1).integers(0, 256, (28, 28)))
    assert main(["compress", str(fashion_run), "--prune", "0.5", "--prune-steps", "1",
                 "--retrain-epochs", "0", "--out", str(tmp_path / "small")]) == 0
    assert main(["quantize", str(fashion_run), "--calibration", "50",
                 "--out", str(tmp_path / "int8")]) == 0
    for model in (tmp_path / "small" / "model.vgz", tmp_path / "int8"):
        warnings = warnings_of(["predict", str(model), noise], capsys)
        assert len(warnings) == 1 and "its roughness" in warnings[0]
