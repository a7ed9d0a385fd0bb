"""``mpiexec -n 2 visiongrad train ... --distributed``: rank 0 writes the run, and the run
resumes in one process (a changed rank count) to the weights of a one-process run."""

from __future__ import annotations

import gzip

import numpy as np
from mpi_launch import run

from visiongrad.cli import main
from visiongrad.train import load_checkpoint


def write_fashion(folder, count: int = 64) -> None:
    """A tiny dataset in Fashion-MNIST's IDX files: class c is bright in row band c."""
    generator = np.random.default_rng(0)
    for split, size in (("train", count), ("t10k", 16)):
        labels = np.arange(size) % 10
        images = generator.integers(0, 60, size=(size, 28, 28))
        for image, label in zip(images, labels, strict=True):
            image[2 * label + 4: 2 * label + 8] += 180
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            header = bytes([0, 0, 8, array.ndim]) + b"".join(
                int(n).to_bytes(4, "big") for n in array.shape)
            with gzip.open(folder / f"{split}-{kind}-ubyte.gz", "wb") as handle:
                handle.write(header + array.astype(np.uint8).tobytes())


def test_distributed_run_resumed_on_one_rank_matches_a_one_process_run(tmp_path):
    write_fashion(tmp_path)
    options = ["--dataset", "fashion-mnist", "--data-dir", str(tmp_path), "--model",
               "two_layer", "--batch-size", "8", "--optimizer", "momentum", "--lr", "0.02",
               "--val-fraction", "0.25", "--seed", "4"]
    out = run(2, ["-m", "visiongrad", "train", *options, "--epochs", "1", "--distributed",
                  "--out", str(tmp_path / "two")], timeout=600)
    assert out.count("training two_layer on 44 fashion-mnist images") == 1, out
    assert out.count("checkpoint: ") == 1
    assert not (tmp_path / "two-2").exists()  # the other rank created no folder
    first = load_checkpoint(tmp_path / "two" / "checkpoint.safetensors")
    assert first["state"]["epoch"] == 1 and first["state"]["iteration"] == 6
    assert main(["train", "--resume", str(tmp_path / "two"), "--epochs", "2"]) == 0
    assert main(["train", *options, "--epochs", "2", "--out", str(tmp_path / "one")]) == 0
    resumed = load_checkpoint(tmp_path / "two" / "checkpoint.safetensors")
    single = load_checkpoint(tmp_path / "one" / "checkpoint.safetensors")
    assert resumed["state"]["iteration"] == single["state"]["iteration"] == 12
    np.testing.assert_allclose(resumed["history"]["loss"], single["history"]["loss"],
                               rtol=1e-4)
    for key, value in single["model"].items():
        np.testing.assert_allclose(resumed["model"][key], value, rtol=1e-4, atol=1e-5,
                                   err_msg=key)
