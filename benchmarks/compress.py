"""Deep Compression's table 1 and per-layer tables (Han et al., 2016, tables 1-3) for
LeNet-300-100 and LeNet-5 on Fashion-MNIST and on the embedded digits, and for the
course's convnets (``--models three_layer_convnet vgg_small``).

    OPENBLAS_NUM_THREADS=1 python -m benchmarks.compress [--datasets fashion-mnist digits]
        [--models lenet_300_100 lenet5] [--epochs 10] [--retrain-epochs 4] [--prune 0.92]
        [--conv-cluster-bits 8] [--half] [--cache DIR] [--write]

For each dataset and model: train the float32 baseline (Adam, ``--epochs``), then run the
compression recipe (``visiongrad.recipes.compress``: prune in ``--prune-steps`` rounds
with retraining, k-means weight sharing with centroid fine-tuning, Huffman coding) and
measure the test accuracy of the weights decoded from the written ``.vgz`` file. The rate
is the float32 parameters' bytes over the file's real size (header, codebooks, biases and
all). ``--cache DIR`` keeps the trained baselines (safetensors) so a second run with other
compression settings skips their training. ``--write`` stores each dataset and model's
result (with the command's settings) in ``benchmarks/results/compress.json``, replacing
that pair's earlier entry; without it nothing is written but temporary files.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

import visiongrad as vg
from visiongrad import functional as F
from visiongrad import models, optim
from visiongrad.compress.report import HEADER, format_rows
from visiongrad.data import ChannelNormalizer, load_dataset
from visiongrad.recipes import compress as recipe
from visiongrad.train.checkpoint import load_checkpoint, save_checkpoint
from visiongrad.train.epochs import descend_epoch

RESULTS = Path(__file__).resolve().parent / "results" / "compress.json"
PAPER = {"lenet_300_100": "LeNet-300-100 (paper, MNIST): 1.64% -> 1.58% error, 1070 KB -> "
                          "27 KB, 40x",
         "lenet5": "LeNet-5 (paper, MNIST, the 431K-parameter Caffe net): 0.80% -> 0.74% "
                   "error, 1720 KB -> 44 KB, 39x (this is the 61,706-parameter modern form)",
         "lenet5_caffe": "LeNet-5 (paper, MNIST): 0.80% -> 0.74% error, 1720 KB -> 44 KB, "
                         "39x"}


def load(name: str, data_dir: str | None):
    train, test = (load_dataset(name, split=split, data_dir=data_dir)
                   for split in ("train", "test"))
    normalize = ChannelNormalizer(scale=255.0).fit(train.images)
    info = {"model": None, "input_shape": list(train.images.shape[1:]),
            "classes": list(train.classes),
            "normalize": {"scale": 255.0, "mean": normalize.mean_.tolist(),
                          "std": normalize.std_.tolist()}}
    return ((normalize(train.images), train.labels), (normalize(test.images), test.labels),
            info)


def baseline(name: str, dataset: str, train, info: dict, args) -> object:
    """The trained float32 model (from ``--cache`` when there)."""
    vg.manual_seed(args.seed)
    model = models.create(name, input_shape=tuple(info["input_shape"]),
                          num_classes=len(info["classes"]))
    cached = Path(args.cache) / f"{dataset}-{name}-{args.epochs}-{args.seed}.safetensors" \
        if args.cache else None
    if cached is not None and cached.is_file():
        model.load_state_dict(load_checkpoint(cached)["model"])
        return model
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    rng = np.random.default_rng(args.seed)
    images, labels = train
    for _ in range(args.epochs):
        model.train()
        descend_epoch(lambda batch: F.cross_entropy(model(vg.tensor(images[batch])),
                                                    labels[batch]),
                      len(labels), args.batch_size, optimizer, rng)
    model.eval()
    if cached is not None:
        save_checkpoint(cached, model)
    return model


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["fashion-mnist", "digits"])
    parser.add_argument("--models", nargs="+", default=["lenet_300_100", "lenet5"])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--prune", type=float, default=0.92)
    parser.add_argument("--prune-steps", type=int, default=3)
    parser.add_argument("--cluster-bits", type=int, default=5)
    parser.add_argument("--conv-cluster-bits", type=int, default=8)
    parser.add_argument("--retrain-epochs", type=int, default=4)
    parser.add_argument("--half", action="store_true",
                        help="codebooks and biases in float16")
    parser.add_argument("--retrain-lr", type=float, default=3e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", default=None, help="folder keeping the trained baselines")
    parser.add_argument("--write", action="store_true", help=f"write {RESULTS}")
    args = parser.parse_args(argv)

    runs = []
    for dataset in args.datasets:
        train, test, info = load(dataset, args.data_dir)
        for name in args.models:
            start = time.perf_counter()
            model = baseline(name, dataset, train, {**info, "model": name}, args)
            trained = time.perf_counter() - start
            config = recipe.Config(
                out=tempfile.mkdtemp(prefix="vg-compress-"), prune=args.prune,
                prune_steps=args.prune_steps, cluster_bits=args.cluster_bits,
                conv_cluster_bits=args.conv_cluster_bits, huffman=True, half=args.half,
                retrain_epochs=args.retrain_epochs, lr=args.retrain_lr,
                batch_size=args.batch_size, seed=args.seed)
            result = recipe.run(config, model, {**info, "model": name}, train, test)
            compressed = time.perf_counter() - start - trained
            print(f"\n{name} on {dataset} (baseline {trained:.0f} s, compression "
                  f"{compressed:.0f} s)")
            print(_table(result))
            print(f"test error {100 * (1 - result['accuracy_before']):.2f}% -> "
                  f"{100 * (1 - result['accuracy_after']):.2f}% (pruned only: "
                  f"{100 * (1 - result['accuracy_pruned']):.2f}%); "
                  f"{result['float32_bytes'] / 1024:.0f} KB -> "
                  f"{result['file_bytes'] / 1024:.1f} KB, "
                  f"{result['float32_bytes'] / result['file_bytes']:.1f}x\n"
                  f"{PAPER.get(name, 'not in the paper')}")
            runs.append({"dataset": dataset, "model": name, "seconds": {
                "baseline": trained, "compression": compressed},
                **{key: value for key, value in result.items() if key != "file"}})
    _print_table_1(runs)
    for run in runs:
        run.update(machine=platform.platform(), numpy=np.__version__, command=vars(args))
    if args.write:
        # one entry per dataset and model: runs with other settings per model add up
        kept = json.loads(RESULTS.read_text())["runs"] if RESULTS.is_file() else []
        done = {(run["dataset"], run["model"]) for run in runs}
        kept = [run for run in kept if (run["dataset"], run["model"]) not in done]
        RESULTS.write_text(json.dumps({"runs": kept + runs}, indent=1) + "\n")
        print(f"results: {RESULTS}")
    return {"runs": runs}


def format_table(names, rows) -> str:
    """A Markdown table (the README's form)."""
    from benchmarks.readme import header, row

    return "\n".join([*header(*names), *(row(*cells) for cells in rows)])


def _table(result: dict) -> str:
    return format_table(list(HEADER), format_rows(result["rows"], result["total"]))


def _print_table_1(runs: list[dict]) -> None:
    rows = [[f"{run['model']} ({run['dataset']}) ref", f"{100 * (1 - run['accuracy_before']):.2f}%",
             f"{run['float32_bytes'] / 1024:.0f} KB", ""] for run in runs]
    rows = [cell for run, ref in zip(runs, rows, strict=True) for cell in (ref, [
        f"{run['model']} ({run['dataset']}) compressed",
        f"{100 * (1 - run['accuracy_after']):.2f}%", f"{run['file_bytes'] / 1024:.1f} KB",
        f"{run['float32_bytes'] / run['file_bytes']:.1f}x"])]
    print("\nTable 1 (the paper's format)\n" + format_table(
        ["network", "top-1 error", "parameters", "compress rate"], rows))


if __name__ == "__main__":
    main()
