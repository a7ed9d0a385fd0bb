"""Accuracy benchmark: the model zoo on the full Fashion-MNIST (60k train, 10k test).

Run from the repository root::

    python -m benchmarks.fashion_mnist --model fc --epochs 20
    python -m benchmarks.fashion_mnist --model convnet --epochs 15
    python -m benchmarks.fashion_mnist --model vgg --epochs 15
    python -m benchmarks.fashion_mnist --model best --epochs 15

Each run holds out 5,000 training images for validation (best-epoch selection), trains
with Adam and a cosine schedule, reports accuracy on the 10,000 test images and the wall
time, and writes ``benchmarks/results/fashion_mnist_<model>.json``. ``--limit N`` trains on
the first N training images only (a smoke test; its JSON is named ``..._smoke.json``).

Recipes (issue 5 targets): ``fc`` FullyConnectedNet 512-256 with batch norm and dropout
(>= 0.89); ``convnet`` ThreeLayerConvNet, 32 5x5 filters, hidden 256 (>= 0.92 for it or
``vgg``); ``vgg`` SmallVGG with dropout; ``best`` SmallVGG (batch norm) with random crops
and horizontal flips under the cosine schedule (>= 0.93).
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

import visiongrad as vg
from visiongrad import data, models, optim, train

from .saving import add_write_option, destination, save_json

RESULTS = Path(__file__).parent / "results"
TARGETS = {"fc": 0.89, "convnet": 0.92, "vgg": 0.92, "best": 0.93}
RECIPES = {
    "fc": {"model": "fc", "options": {"hidden_dims": [512, 256], "normalization": "batchnorm",
                                      "dropout": 0.2},
           "lr": 1e-3, "weight_decay": 0.0, "augment": False},
    "convnet": {"model": "three_layer_convnet",
                "options": {"num_filters": 32, "filter_size": 5, "hidden_dim": 256},
                "lr": 1e-3, "weight_decay": 0.0, "augment": False},
    "vgg": {"model": "vgg_small", "options": {"dropout": 0.3},
            "lr": 1e-3, "weight_decay": 0.0, "augment": False},
    "best": {"model": "vgg_small", "options": {"dropout": 0.3},
             "lr": 1e-3, "weight_decay": 0.0, "augment": True},
}


def standardize(images: np.ndarray, mean: float, std: float) -> np.ndarray:
    """uint8 images -> float32 ``(x / 255 - mean) / std``."""
    return (images.astype(np.float32) / 255.0 - mean) / std


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=sorted(RECIPES), default="fc")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--val-size", type=int, default=5000)
    parser.add_argument("--limit", type=int, default=None,
                        help="train on the first N training images only (smoke test)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--no-progress", action="store_true")
    add_write_option(parser, "benchmarks/results/fashion_mnist_<model>.json (_smoke with "
                             "--limit)")
    args = parser.parse_args(argv)
    recipe = RECIPES[args.model]

    started = time.perf_counter()
    vg.manual_seed(args.seed)
    train_set = data.load_dataset("fashion-mnist", split="train", data_dir=args.data_dir)
    test_set = data.load_dataset("fashion-mnist", split="test", data_dir=args.data_dir)
    images, labels = train_set.images[:args.limit], train_set.labels[:args.limit]
    x_train, y_train, x_val, y_val = data.train_val_split(
        images, labels, val_fraction=args.val_size / len(images))
    mean = float(x_train.mean() / 255.0)
    std = float(x_train.std() / 255.0)
    x_train, x_val, x_test = (standardize(x, mean, std) for x in (x_train, x_val,
                                                                   test_set.images))

    model = models.create(recipe["model"], input_shape=x_train.shape[1:], num_classes=10,
                          **recipe["options"])
    optimizer = optim.Adam(model.parameters(), lr=recipe["lr"],
                           weight_decay=recipe["weight_decay"])
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    augment = (data.transforms.Compose([data.transforms.RandomHorizontalFlip(),
                                        data.transforms.RandomCrop(x_train.shape[-2:],
                                                                   padding=2)])
               if recipe["augment"] else None)
    loader = data.DataLoader((x_train, y_train), batch_size=args.batch_size, shuffle=True,
                             transform=augment)
    trainer = train.Trainer(model, optimizer, scheduler=scheduler, epochs=args.epochs,
                            restore_best=True, progress=not args.no_progress)
    check = train.check_initial_loss(model, x_train[:256], y_train[:256])
    print(f"initial loss {check['loss']:.3f} (log 10 = {check['expected']:.3f})")
    trainer.fit(loader, x_val=x_val, y_val=y_val)
    train_seconds = time.perf_counter() - started
    scores = trainer.evaluate(x_test, test_set.labels)
    wall_seconds = time.perf_counter() - started

    result = {
        "benchmark": "fashion_mnist", "recipe": args.model, "model": recipe["model"],
        "model_options": recipe["options"], "optimizer": "adam", "lr": recipe["lr"],
        "weight_decay": recipe["weight_decay"], "schedule": "cosine",
        "augment": recipe["augment"], "epochs": args.epochs, "batch_size": args.batch_size,
        "seed": args.seed, "train_images": len(y_train), "val_images": len(y_val),
        "test_images": len(test_set.labels),
        "test_accuracy": scores["accuracy"], "test_loss": scores["loss"],
        "per_class_accuracy": scores["per_class_accuracy"].tolist(),
        "confusion": scores["confusion"].tolist(),
        "best_epoch": trainer.best_epoch, "best_val_accuracy": trainer.best_val_accuracy,
        "target": TARGETS[args.model], "initial_loss": check["loss"],
        "stop_reason": trainer.stop_reason, "history": {
            key: trainer.history[key] for key in ("train_accuracy", "val_accuracy", "val_loss",
                                                  "lr", "epoch_seconds")},
        "train_seconds": train_seconds, "wall_seconds": wall_seconds,
        "machine": {"python": platform.python_version(), "numpy": np.__version__,
                    "processor": platform.machine()},
    }
    suffix = "_smoke" if args.limit else ""
    path = destination(args, RESULTS / f"fashion_mnist_{args.model}{suffix}.json")
    save_json(path, result, show=False)
    print(f"{args.model} ({recipe['model']}): test accuracy {scores['accuracy']:.4f} "
          f"(target {TARGETS[args.model]}), best epoch {trainer.best_epoch}, wall "
          f"{wall_seconds:.0f} s" + (f" -> {path}" if path else " (not written: --write)"))
    return result


if __name__ == "__main__":
    main()
