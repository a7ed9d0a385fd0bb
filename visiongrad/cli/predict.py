"""``visiongrad predict``: top label and its probability per image (all in the CSV)."""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence

import numpy as np

from .errors import PROG, CommandError, user_errors
from .images import read_images
from .network import check_input_shape, load_network, load_split
from .options import output_path, positive_int
from .output import format_table


def register(commands) -> None:
    parser = commands.add_parser(
        "predict", help="labels and probabilities for images",
        description="Labels and probabilities for image files or a dataset split. Images "
                    "should look like the training data: for Fashion-MNIST and MNIST a light "
                    "object on a dark background (use --invert for dark-on-light photos).")
    parser.add_argument("checkpoint")
    parser.add_argument("--model", default=None,
                        help="architecture to load the weights into (default: the "
                             "checkpoint's own)")
    parser.add_argument("images", nargs="*", help="PNG or JPEG files")
    parser.add_argument("--dataset", default=None,
                        help="predict a dataset split instead of image files")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--split", default="test")
    parser.add_argument("--resize", action="store_true",
                        help="resize images of any size to the model's input size")
    parser.add_argument("--invert", action="store_true",
                        help="invert the images (for a dark object on a light background)")
    parser.add_argument("--limit", type=positive_int, default=None,
                        help="only the first N images of the split")
    parser.add_argument("--csv", type=output_path, default=None,
                        help="also write the predictions to this file")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """``visiongrad predict``: top label and its probability per image (all in the CSV)."""
    from visiongrad.train.trainer import predict_proba

    if bool(args.images) == (args.dataset is not None):
        raise CommandError("give image files or --dataset, not both or neither")
    model, normalize, info = load_network(args.checkpoint, args.model)
    channels, height, width = info["input_shape"]
    if args.images:
        names, images = list(args.images), read_images(args.images, channels, (height, width),
                                                   resize=args.resize, invert=args.invert)
    else:
        dataset = load_split(args.dataset, args.split, args.data_dir)
        check_input_shape(info, dataset.images.shape[1:], f"{args.dataset} {args.split}")
        images = dataset.images[:args.limit]
        names = [f"{args.dataset}/{args.split}/{index}" for index in range(len(images))]
    _warn_if_unlike_training(names, images, info, normalize.scale)
    probabilities = predict_proba(model, normalize(images))
    labels = probabilities.argmax(axis=1)
    classes = info["classes"]
    rows = [[name, classes[label], f"{row[label]:.4f}"]
            for name, label, row in zip(names, labels, probabilities, strict=True)]
    print(format_table(["image", "label", "probability"], rows))
    if args.csv is not None:
        _write_predictions_csv(args.csv, names, labels, probabilities, classes)
        print(f"predictions: {args.csv}")


def _warn_if_unlike_training(names: Sequence[str], images: np.ndarray, info: dict,
                             scale: float) -> None:
    """One ``visiongrad: warning:`` line on stderr when images are unlike the training
    images (:mod:`visiongrad.recipes.input_check`): the model answers anyway, as surely."""
    from visiongrad.recipes.input_check import unlike_training

    flagged = [(name, phrase) for name, phrase in zip(
        names, unlike_training(images, info.get("input_ranges"), scale), strict=True) if phrase]
    if not flagged:
        return
    name, phrase = flagged[0]
    what = (f"{name} does not look like the training images: {phrase}; its prediction"
            if len(flagged) == 1 else
            f"{len(flagged)} of {len(names)} images do not look like the training images (the "
            f"first, {name}: {phrase}); their predictions")
    print(f"{PROG}: warning: {what} may mean little", file=sys.stderr)


def _write_predictions_csv(path: str, names: Sequence[str], labels: np.ndarray,
                           probabilities: np.ndarray, classes: Sequence[str]) -> None:
    with user_errors(OSError, context=f"cannot write {path}: "), \
            open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "label", *classes])
        for name, label, row in zip(names, labels, probabilities, strict=True):
            writer.writerow([name, classes[label], *(f"{p:.6f}" for p in row)])
