"""Transfer learning on real data: pretrain on Fashion-MNIST, fine-tune on handwritten
digits with few labels, against the same network trained from scratch.

Run from the repository root::

    python -m benchmarks.transfer

(On a machine shared with many other jobs, ``taskset -c 0 python -m benchmarks.transfer``
runs several times faster: one core, no thread pools waiting for each other.)

1. Pretrain the course's three-layer convnet (32 5x5 filters, hidden 100) on the full
   Fashion-MNIST training set (60,000 images; ``/usr/share/datasets/fashion-mnist``) for
   ``--pretrain-epochs`` epochs (2) with Adam, batches of 128.
2. For 10, 50 and all (about 130) labels per class of the embedded digits' 1,297 training
   images (``load_dataset("digits")``: scikit-learn's 8x8 scans upsampled to 28x28), and
   for each seed (its own draw of the labelled images and its own initial weights):

   - ``scratch``: a fresh network, Adam lr 1e-3;
   - ``finetune``: the pretrained network with a new head (``models.replace_head``),
     every layer trained, Adam with two parameter groups (head lr 1e-3, the rest
     ``--body-lr``, 1e-3: the pretrained weights are only the starting point);
   - ``frozen``: the pretrained features frozen (``models.freeze(net, except_head=True)``),
     only the new head trained (Adam lr 1e-3): a linear probe of the Fashion features.

   Each run takes ``--steps`` minibatches of 32 (500; whole epochs, at least that many)
   of randomly shifted digits (crops of the image padded by 2 pixels), for ``--seeds``
   seeds (3), and is scored on the 500 test digits. Every input is standardised with the
   Fashion-MNIST training set's mean and deviation (the statistics the pretrained network
   knows).

Writes ``benchmarks/results/transfer.json`` (every run, means and deviations over seeds,
the wall time) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import math
import platform
import time
from pathlib import Path

import numpy as np

import visiongrad as vg
from visiongrad import data, models, optim
from visiongrad.recipes.classify import adapt, labelled_subset
from visiongrad.train.trainer import Trainer

from .saving import add_write_option, destination, save_json

RESULTS = Path(__file__).parent / "results"
LABELS_PER_CLASS = (10, 50, None)  # None: every training label
METHODS = ("scratch", "finetune", "frozen")
NETWORK = {"num_filters": 32, "filter_size": 5, "hidden_dim": 100}
BATCH_SIZE = 32
PRETRAIN_BATCH_SIZE = 128


def network():
    return models.create("three_layer_convnet", input_shape=(1, 28, 28), num_classes=10,
                         **NETWORK)


def fit(model, optimizer, x, y, steps: int, batch_size: int = BATCH_SIZE,
        transform=None) -> None:
    """Train for whole epochs, at least ``steps`` minibatches; ``transform`` (optional)
    is applied to each batch of ``x``."""
    epochs = max(1, math.ceil(steps * batch_size / len(y)))
    loader = data.DataLoader((x, y), batch_size=batch_size, shuffle=True, transform=transform)
    Trainer(model, optimizer, epochs=epochs, progress=False, ratio_every=0).fit(loader)


def build(method: str, pretrained: dict, body_lr: float):
    """The network and optimizer of one method (see the module docstring); fine-tuning
    is what ``visiongrad finetune`` does (``recipes.classify.adapt``)."""
    model = network()
    if method == "scratch":
        return model, optim.Adam(model.parameters(), lr=1e-3)
    model.load_state_dict(pretrained)
    freeze = "features" if method == "frozen" else "none"
    return model, adapt(model, 10, freeze, lr=1e-3, body_lr=body_lr)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pretrain-epochs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--body-lr", type=float, default=1e-3,
                        help="fine-tuning's learning rate for the pretrained layers")
    parser.add_argument("--out", default=None, help="write the results to this JSON file")
    add_write_option(parser, "benchmarks/results/transfer.json")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    fashion = data.load_dataset("fashion-mnist", split="train")
    normalize = data.ChannelNormalizer(scale=255.0).fit(fashion.images)
    vg.manual_seed(0)
    pretrained_model = network()
    fit(pretrained_model, optim.Adam(pretrained_model.parameters(), lr=1e-3),
        fashion.images, fashion.labels,
        steps=args.pretrain_epochs * len(fashion.labels) // PRETRAIN_BATCH_SIZE,
        batch_size=PRETRAIN_BATCH_SIZE, transform=normalize)
    fashion_test = data.load_dataset("fashion-mnist", split="test")
    pretrain_accuracy = _accuracy(pretrained_model, normalize(fashion_test.images),
                                  fashion_test.labels)
    pretrain_seconds = time.perf_counter() - started
    print(f"pretrained on Fashion-MNIST: test accuracy {pretrain_accuracy:.4f} "
          f"({pretrain_seconds:.0f} s)", flush=True)
    pretrained = pretrained_model.state_dict()

    train, test = data.load_dataset("digits"), data.load_dataset("digits", split="test")
    augment = data.Compose([data.transforms.RandomCrop((28, 28), padding=2), normalize])
    x_test = normalize(test.images)
    runs = []
    for per_class in LABELS_PER_CLASS:
        for seed in range(args.seeds):
            keep = labelled_subset(train.labels, per_class, seed)
            for method in METHODS:
                vg.manual_seed(1000 + seed)
                model, optimizer = build(method, pretrained, args.body_lr)
                fit(model, optimizer, train.images[keep], train.labels[keep], args.steps,
                    transform=augment)
                accuracy = _accuracy(model, x_test, test.labels)
                runs.append({"labels_per_class": per_class or "all", "labelled": len(keep),
                             "seed": seed, "method": method, "test_accuracy": accuracy})
                print(f"{per_class or 'all'} labels/class, seed {seed}, {method}: "
                      f"{accuracy:.4f}", flush=True)
    summary = {}
    for per_class in LABELS_PER_CLASS:
        key = str(per_class or "all")
        summary[key] = {}
        for method in METHODS:
            scores = [r["test_accuracy"] for r in runs
                      if r["labels_per_class"] == (per_class or "all") and r["method"] == method]
            summary[key][method] = {"mean": float(np.mean(scores)),
                                    "std": float(np.std(scores)), "min": min(scores),
                                    "max": max(scores)}
    result = {"network": {"model": "three_layer_convnet", **NETWORK},
              "pretrain": {"dataset": "fashion-mnist (60,000 training images)",
                           "epochs": args.pretrain_epochs, "optimizer": "Adam lr 1e-3",
                           "batch_size": PRETRAIN_BATCH_SIZE,
                           "test_accuracy": pretrain_accuracy,
                           "seconds": round(pretrain_seconds, 1)},
              "digits": {"train": len(train), "test": len(test)},
              "steps": args.steps, "batch_size": BATCH_SIZE, "seeds": args.seeds,
              "finetune_learning_rates": {"head": 1e-3, "pretrained layers": args.body_lr},
              "augmentation": "random crops, padding 2",
              "summary": summary, "runs": runs,
              "wall_seconds": round(time.perf_counter() - started, 1),
              "machine": {"python": platform.python_version(), "numpy": np.__version__,
                          "processor": platform.processor() or platform.machine()},
              "command": "python -m benchmarks.transfer"
                         + (" " + " ".join(argv) if argv else "")}
    path = destination(args, RESULTS / "transfer.json")
    save_json(path, result, show=False)
    print(table(result))
    print(f"wall time {result['wall_seconds']:.0f} s; "
          + (f"written to {path}" if path else "not written (--write stores it)"))
    return result


def _accuracy(model, x, y) -> float:
    from visiongrad.train.trainer import evaluate

    return float(evaluate(model, x, y)["accuracy"])


def table(result: dict) -> str:
    """The summary as a Markdown table: mean test accuracy (min-max over seeds)."""
    lines = ["| labels per class | from scratch | fine-tuned (all layers) | frozen features, "
             "new head |", "|---|---|---|---|"]
    for key, scores in result["summary"].items():
        cells = [f"{scores[m]['mean']:.4f} ({scores[m]['min']:.3f}-{scores[m]['max']:.3f})"
                 for m in METHODS]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
