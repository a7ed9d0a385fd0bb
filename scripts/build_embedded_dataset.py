"""Rebuild visiongrad's embedded Fashion-MNIST subset ("fashion-mnist-mini").

Reads the full Fashion-MNIST IDX files (default ``/usr/share/datasets/fashion-mnist``, as
the Debian package ``dataset-fashion-mnist`` installs them) and writes a stratified, seeded
subset -- 1,000 training and 200 test images per class (10,000 and 2,000 in all), each split
sorted by original index -- as compressed ``.npz`` files (``x`` uint8 (N, 1, 28, 28), ``y``
int64, ``classes``) into ``visiongrad/data/embedded/``, next to the Fashion-MNIST licence.

The result is the same bit for bit on every run (fixed seed). Existing files are replaced
only with ``--force``.

    python scripts/build_embedded_dataset.py [--source DIR] [--out DIR] [--force]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from visiongrad.data import catalog, readers  # noqa: E402

PER_CLASS = {"train": 1000, "test": 200}
SEED = 20170825  # Fashion-MNIST's release date


def stratified_subset(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``per_class`` examples of every class, drawn without replacement."""
    chosen = [rng.choice(np.flatnonzero(labels == label), per_class, replace=False)
              for label in np.unique(labels)]
    return np.sort(np.concatenate(chosen))


def build(source: Path, out: Path, force: bool) -> list[Path]:
    rng = np.random.default_rng(SEED)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for split, per_class in PER_CLASS.items():
        target = out / catalog.EMBEDDED_FILES[split]
        if target.exists() and not force:
            raise SystemExit(f"{target} exists; pass --force to replace it")
        full = catalog.load_dataset("fashion-mnist", split=split, data_dir=source)
        keep = stratified_subset(full.labels, per_class, rng)
        partial = target.with_name(target.name + ".partial.npz")
        np.savez_compressed(partial, x=full.images[keep], y=full.labels[keep],
                            classes=np.array(full.classes))
        partial.replace(target)
        check = readers.read_npz(target)
        print(f"{target}: {len(check)} images {check.shape}, "
              f"{target.stat().st_size / 1e6:.2f} MB, per class {np.bincount(check.labels)}")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("/usr/share/datasets/fashion-mnist"),
                        help="folder holding the four Fashion-MNIST IDX files")
    parser.add_argument("--out", type=Path, default=REPO / "visiongrad" / "data" / "embedded")
    parser.add_argument("--force", action="store_true", help="replace existing files")
    args = parser.parse_args(argv)
    build(args.source, args.out, args.force)


if __name__ == "__main__":
    main()
