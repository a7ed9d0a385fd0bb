"""``visiongrad explain``: which pixels a trained classifier's answer depends on."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from visiongrad.imaging import as_rgb, save_panels

from .errors import CommandError, user_errors
from .images import read_images
from .network import load_network
from .options import image_side, output_path
from .pictures import check_out

METHODS = ("saliency", "guided", "occlusion")


def register(commands) -> None:
    parser = commands.add_parser(
        "explain", help="saliency, guided backprop or occlusion map of an image",
        description="Writes the image beside a map of how much each pixel matters to the "
                    "score of --target (default: the predicted class), titled, with a "
                    "colour bar saying what the colours measure.")
    parser.add_argument("checkpoint")
    parser.add_argument("image")
    parser.add_argument("--method", default="saliency", choices=METHODS)
    parser.add_argument("--target", default=None, help="class name or index")
    parser.add_argument("--patch", type=image_side, default=4,
                        help="occlusion square (filled black)")
    parser.add_argument("--stride", type=image_side, default=2, help="occlusion stride")
    parser.add_argument("--resize", action="store_true")
    parser.add_argument("--invert", action="store_true")
    parser.add_argument("--out", type=output_path, default="explain.png")
    parser.set_defaults(run=run)


def class_index(target: str | None, classes: list, default: int) -> int:
    """A class given by name or index (``None``: ``default``) as its index."""
    if target is None:
        return default
    if target in classes:
        return classes.index(target)
    if target.isdigit() and int(target) < len(classes):
        return int(target)
    raise CommandError(f"unknown class {target!r} (choose an index below {len(classes)} or "
                       f"one of {', '.join(classes)})")


def load_input(args: argparse.Namespace):
    """(model, info, normalizer, raw uint8 image (1, C, H, W), normalised float32 image)."""
    model, normalize, info = load_network(args.checkpoint)
    channels, height, width = info["input_shape"]
    raw = read_images([args.image], channels, (height, width), resize=args.resize,
                      invert=args.invert)
    return model, info, normalize, raw, normalize(raw).astype(np.float32)


def predicted(model, x: np.ndarray) -> int:
    """The class ``model`` gives the one image ``x``."""
    return prediction(model, x)[0]


def prediction(model, x: np.ndarray) -> tuple[int, float]:
    """(class, its probability) that ``model`` gives the one image ``x``."""
    from visiongrad.train.trainer import predict_proba

    probabilities = predict_proba(model, x)[0]
    return int(probabilities.argmax()), float(probabilities.max())


#: What each method's map measures: its colour bar's label.
MEASURES = {"saliency": "|gradient of the class score| (largest over channels)",
            "guided": "|guided backpropagation| (largest over channels)",
            "occlusion": "drop of the class score when covered"}


def run(args: argparse.Namespace) -> None:
    """``visiongrad explain``: which pixels a trained classifier's answer depends on."""
    from visiongrad import visualize

    check_out(args.out)
    model, info, normalize, raw, x = load_input(args)
    classes = info["classes"]
    guess, confidence = prediction(model, x)
    target = class_index(args.target, classes, guess)
    if args.method == "saliency":
        values = visualize.saliency(model, x, target)[0]
    elif args.method == "guided":
        values = np.abs(visualize.guided_backprop(model, x, target)[0]).max(axis=0)
    else:
        if args.patch > min(x.shape[2:]):
            raise CommandError(f"--patch {args.patch} does not fit in the "
                               f"{x.shape[2]}x{x.shape[3]} image")
        black = normalize(np.zeros_like(raw))[0, :, 0, 0]  # each channel's black, normalised
        coarse = visualize.occlusion(model, x, target, args.patch, args.stride, black)[0]
        values = np.maximum(_spread(coarse, x.shape[2:], args.patch, args.stride), 0)
    with user_errors(OSError, context=f"cannot write {args.out}: "):
        save_panels([(f"input: predicted {classes[guess]} ({confidence:.2f})",
                      as_rgb(raw[0] / 255.0), None),
                     (f"{args.method} map of {classes[target]}", values, MEASURES[args.method])],
                    args.out, title=f"Which pixels the score of {classes[target]} depends on "
                                    f"({args.method}, {Path(args.image).name})")
    print(f"predicted {classes[guess]}; {args.method} map of {classes[target]}: {args.out}")


def _spread(coarse: np.ndarray, shape, patch: int, stride: int) -> np.ndarray:
    """Occlusion drops per pixel: the mean over the squares that covered it."""
    total, count = np.zeros(shape), np.zeros(shape)
    for i, j in np.ndindex(coarse.shape):
        total[i * stride:i * stride + patch, j * stride:j * stride + patch] += coarse[i, j]
        count[i * stride:i * stride + patch, j * stride:j * stride + patch] += 1
    return total / np.maximum(count, 1)
