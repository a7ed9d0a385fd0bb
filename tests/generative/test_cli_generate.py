"""``visiongrad generate`` (cli/generate.py): tiny runs on the embedded Fashion-MNIST subset,
samples from their checkpoints, and one-line errors for bad input."""

import json

import numpy as np
import pytest
from PIL import Image

from visiongrad.cli import main


def _error_line(capsys, argv):
    capsys.readouterr()
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("visiongrad: error: "), err
    return err[0]


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "vae"
    argv = ["generate", "train", "--model", "vae", "--train-images", "256", "--test-images",
            "50", "--latent-dim", "2", "--batch-size", "64", "--samples", "9", "--out", str(out)]
    assert main(argv) == 0
    return out


def test_vae_run_writes_checkpoint_metrics_and_images(vae_run):
    metrics = json.loads((vae_run / "metrics.json").read_text())
    assert metrics["test_images"] == 50 and metrics["test_bits_per_dim"] > 0
    assert metrics["test_nelbo"] == pytest.approx(metrics["test_reconstruction"]
                                                  + metrics["test_kl"], rel=1e-4)
    for name in ("samples.png", "latent_walk.png", "latent_manifold.png"):
        assert Image.open(vae_run / name).mode == "L"


def test_sample_is_reproducible_by_seed(vae_run, tmp_path):
    paths = [tmp_path / f"{k}.png" for k in range(3)]
    for path, seed in zip(paths, (1, 1, 2), strict=True):
        assert main(["generate", "sample", str(vae_run / "checkpoint.safetensors"), "-n", "8",
                     "--seed", str(seed), "--out", str(path)]) == 0
    a, b, c = (np.asarray(Image.open(p)) for p in paths)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (2 * (3 * 30 + 2), 2 * (3 * 30 + 2))  # 3 x 3 tiles of 28 + 2 padding


def test_denoising_autoencoder_before_after(tmp_path):
    out = tmp_path / "ae"
    assert main(["generate", "train", "--model", "ae", "--kind", "denoising", "--train-images",
                 "128", "--test-images", "20", "--samples", "4", "--out", str(out)]) == 0
    rows = np.asarray(Image.open(out / "denoising.png"))
    assert rows.shape == (2 * (3 * 30 + 2), 2 * (10 * 30 + 2))


def test_pixelcnn_tiny_run_and_sample(tmp_path):
    out = tmp_path / "pcnn"
    assert main(["generate", "train", "--model", "pixelcnn", "--channels", "4", "--blocks", "1",
                 "--train-images", "64", "--test-images", "10", "--samples", "1",
                 "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["test_bits_per_dim"] < 9


def test_bad_input_is_one_line(capsys, vae_run, tmp_path):
    assert "unknown generative model 'gan'" in _error_line(
        capsys, ["generate", "train", "--model", "gan"])
    assert "--decoder does not apply to --model dcgan" in _error_line(
        capsys, ["generate", "train", "--model", "dcgan", "--decoder", "logistic"])
    assert "--model vae: VAE decoder" in _error_line(
        capsys, ["generate", "train", "--model", "vae", "--decoder", "poisson",
                 "--out", str(tmp_path / "x")])
    assert "must be a positive integer" in _error_line(
        capsys, ["generate", "train", "--model", "vae", "--epochs", "0"])
    assert "checkpoint not found" in _error_line(
        capsys, ["generate", "sample", str(tmp_path / "missing.safetensors")])
    assert "not a safetensors file" in _error_line(
        capsys, ["generate", "sample", str(vae_run / "metrics.json")])
    assert ".png" in _error_line(
        capsys, ["generate", "sample", str(vae_run / "checkpoint.safetensors"),
                 "--out", str(tmp_path / "grid.jpg")])
