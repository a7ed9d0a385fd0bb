"""Time loading Fashion-MNIST and one augmented DataLoader epoch (target: full train < 2 s).

    python -m benchmarks.load_data [--repeats 5] [--data-dir DIR]

Prints the median (and min/max) of ``--repeats`` runs of ``load_dataset`` for the full
training and test splits and the embedded subset, beside a bare reference (gzip +
``numpy.frombuffer``, no checks), and one epoch of the embedded training set through a
shuffled, augmented DataLoader. Writes the numbers to ``benchmarks/results/load_data.json``.
"""

from __future__ import annotations

import argparse
import gzip
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from visiongrad.data import DataLoader, ScaleToUnit, load_dataset, search_folders
from visiongrad.data import transforms as T

from .saving import add_write_option, destination, save_json

RESULTS = Path(__file__).resolve().parent / "results" / "load_data.json"


def timed(function, repeats: int) -> dict:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "repeats": repeats}


def bare_reference(folder: Path) -> None:
    """What any loader must at least do: decompress and view the bytes (no checks)."""
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        with gzip.open(folder / name) as handle:
            np.frombuffer(handle.read(), dtype=np.uint8)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data-dir", default=None)
    add_write_option(parser, "benchmarks/results/load_data.json")
    args = parser.parse_args(argv)

    results: dict = {"machine": platform.platform(), "python": platform.python_version(),
                     "numpy": np.__version__, "timings": {}}
    cases = {"fashion-mnist-mini/train": lambda: load_dataset("fashion-mnist-mini")}
    try:
        full = load_dataset("fashion-mnist", data_dir=args.data_dir)
        folder = next(f for f in search_folders("fashion-mnist", args.data_dir)
                      if (f / "train-images-idx3-ubyte.gz").is_file())
        cases = {"fashion-mnist/train": lambda: load_dataset("fashion-mnist", "train",
                                                             args.data_dir),
                 "fashion-mnist/test": lambda: load_dataset("fashion-mnist", "test",
                                                            args.data_dir),
                 "reference gzip+frombuffer/train": lambda: bare_reference(folder), **cases}
        print(f"full Fashion-MNIST: {full}")
    except (FileNotFoundError, StopIteration) as error:
        print(f"full Fashion-MNIST not found, timing the embedded subset only ({error})")

    mini = load_dataset("fashion-mnist-mini")
    augment = T.Compose([T.RandomHorizontalFlip(), T.RandomCrop(28, padding=2),
                         T.RandomAffine(10, translate=(0.1, 0.1)), ScaleToUnit()])
    for prefetch in (False, True):
        loader = DataLoader(mini, batch_size=128, shuffle=True, transform=augment,
                            prefetch=prefetch, rng=0)
        cases[f"augmented epoch, 10k images, prefetch={prefetch}"] = lambda loader=loader: \
            sum(len(y) for _, y in loader)

    for name, function in cases.items():
        results["timings"][name] = timed(function, args.repeats)
        t = results["timings"][name]
        print(f"{name:45s} median {t['median_s']:.3f} s  (min {t['min_s']:.3f}, "
              f"max {t['max_s']:.3f}, {args.repeats} runs)")
    if "fashion-mnist/train" in results["timings"]:
        ours = results["timings"]["fashion-mnist/train"]["median_s"]
        bare = results["timings"]["reference gzip+frombuffer/train"]["median_s"]
        results["target_s"], results["meets_target"] = 2.0, ours < 2.0
        print(f"full train split: {ours:.3f} s (target < 2 s: "
              f"{'met' if ours < 2.0 else 'MISSED'}); {ours / bare:.2f}x the bare reference")
    save_json(destination(args, RESULTS), results, indent=2, show=args.write)
    return results


if __name__ == "__main__":
    main()
