"""Fixtures of the CLI tests: a tiny Fashion-MNIST in its own file format, one trained
run shared by the command tests, and the one-line user-error check."""

import gzip
import json

import numpy as np
import pytest

from visiongrad.cli import main

FASHION_CLASSES = 10


def write_idx(path, array):
    """Write ``array`` (uint8) as a gzipped IDX file, the Fashion-MNIST distribution format."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def idx_writer():
    return write_idx


@pytest.fixture
def user_error(capsys):
    """``user_error(argv, *fragments)``: ``main(argv)`` fails with exit 1 and one
    ``visiongrad: error:`` line holding every fragment, no traceback; returns the line."""
    def check(argv, *fragments):
        capsys.readouterr()
        assert main(argv) == 1
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith("visiongrad: error: ")
        assert "Traceback" not in err
        for fragment in fragments:
            assert fragment in lines[0]
        return lines[0]
    return check


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
def trained(tiny_fashion, tmp_path_factory):
    """``visiongrad train`` once for the session: (output folder, checkpoint path)."""
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
