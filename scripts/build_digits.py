"""Build visiongrad's embedded handwritten digits (``load_dataset("digits")``).

Reads scikit-learn's copy of the UCI "Optical Recognition of Handwritten Digits" test set
(``sklearn.datasets.load_digits``: 1,797 scans of 8x8 pixels, integers 0..16, CC BY 4.0)
and writes ``visiongrad/data/embedded/digits.npz``: the 8x8 images as uint8 and int64
labels, split once into a fixed, stratified test set of 50 images per class (500; drawn
with a fixed seed) and the remaining 1,297 training images, each split in the original
order. Upsampling to 28x28 happens when the dataset is loaded (``data.digits``), so the
file holds the scans exactly as published (about 30 KB). scikit-learn is needed only to
run this script, never by visiongrad.

    python scripts/build_digits.py [--force]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from visiongrad.data import digits  # noqa: E402

TEST_PER_CLASS = 50
SEED = 1998  # the UCI set's year


def test_indices(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``per_class`` examples of every class, drawn without replacement."""
    chosen = [rng.choice(np.flatnonzero(labels == label), per_class, replace=False)
              for label in range(10)]
    return np.sort(np.concatenate(chosen))


def build(force: bool) -> Path:
    from sklearn.datasets import load_digits

    target = digits.embedded_path()
    if target.exists() and not force:
        raise SystemExit(f"{target} exists; pass --force to replace it")
    scans = load_digits()
    images = scans.images.astype(np.uint8)
    if not np.array_equal(images, scans.images) or images.max() > 16:
        raise SystemExit("scikit-learn's digits are not integers in 0..16")
    labels = scans.target.astype(np.int64)
    test = test_indices(labels, TEST_PER_CLASS, np.random.default_rng(SEED))
    train = np.setdiff1d(np.arange(len(labels)), test)
    partial = target.with_name(target.name + ".partial.npz")
    np.savez_compressed(partial, train_x=images[train], train_y=labels[train],
                        test_x=images[test], test_y=labels[test])
    partial.replace(target)
    for split in ("train", "test"):
        data = digits.load_digits(split)
        print(f"{split}: {len(data)} images {data.images.shape[1:]}, per class "
              f"{np.bincount(data.labels).tolist()}")
    print(f"{target}: {target.stat().st_size / 1e3:.1f} KB")
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    build(parser.parse_args(argv).force)


if __name__ == "__main__":
    main()
