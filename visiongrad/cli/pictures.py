"""Shared by the visualisation commands (explain, fool, dream, invert, texture, style):
reading photos and writing PNGs with the command line's errors, the feature-network
options. The pictures themselves are :mod:`visiongrad.imaging`'s (``as_rgb``, ``heatmap``
and ``side_by_side`` are imported here for the commands)."""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from visiongrad import imaging
from visiongrad.imaging import as_rgb, heatmap, side_by_side

from .errors import CommandError, user_errors
from .options import image_side, iterations, output_path, seed

__all__ = ["add_network_options", "as_rgb", "check_layer", "check_out", "heatmap",
           "network_from_args", "read_photo", "side_by_side", "write_png"]


def read_photo(path: str, size: int) -> np.ndarray:
    """:func:`visiongrad.imaging.read_photo`, a missing or unreadable file a user error."""
    from visiongrad.data import DataFormatError

    if not os.path.isfile(path):
        raise CommandError(f"image not found: {path}")
    with user_errors(DataFormatError, context="cannot read image "):
        return imaging.read_photo(path, size)


def check_out(path: str) -> None:
    """Refuse an output path whose folder does not exist, or that does not end in .png
    (what is written is a PNG), before any work is done."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CommandError(f"cannot write {path}: folder {folder} does not exist")
    if not path.lower().endswith(".png"):
        raise CommandError(f"--out must name a .png file (a PNG is written), got {path}")


def write_png(path: str, image: np.ndarray) -> None:
    """Write (H, W, 3) or (H, W) floats in [0, 1] as an 8-bit PNG
    (:func:`visiongrad.imaging.save_png`); a folder that is not there is a user error."""
    check_out(path)
    with user_errors(OSError, ValueError, context=f"cannot write {path}: "):
        imaging.save_png(image, path)


def add_network_options(parser: argparse.ArgumentParser, size: int = 128) -> None:
    parser.add_argument("--network", default="random", choices=("random", "vgg16", "vgg19"),
                        help="feature network: random weights (no download) or VGG with "
                             "--weights")
    parser.add_argument("--weights", default=None,
                        help="torchvision .pth or safetensors weights for vgg16/vgg19")
    parser.add_argument("--size", type=image_side, default=size,
                        help="longer side of the images, in pixels")
    parser.add_argument("--iterations", type=iterations, default=100)
    parser.add_argument("--seed", type=seed, default=0)
    parser.add_argument("--out", type=output_path, required=True, help="the PNG to write")


def network_from_args(args: argparse.Namespace):
    """The feature network the options name (weights missing or not fitting: one line)."""
    from visiongrad.visualize import feature_network

    if args.weights is not None and not os.path.isfile(args.weights):
        raise CommandError(f"weights not found: {args.weights}")
    with user_errors(ValueError, KeyError, TypeError, OSError,
                     context=f"cannot build the {args.network} feature network: "):
        return feature_network(args.network, args.weights, seed=args.seed)


def check_layer(model, layer: str) -> None:
    """A layer name the model does not have is a user error listing the names."""
    from visiongrad.visualize import get_layer

    with user_errors(ValueError):
        get_layer(model, layer)


def step_progress(what: str):
    """An ``on_step(done, total)`` callback for visualize's image optimisers: progress
    lines ``WHAT: step i/N [... elapsed, about ... left]`` (train.progress's convention,
    on stderr), timed from this call."""
    from visiongrad.train.progress import Progress

    started, progress = time.monotonic(), None

    def on_step(done: int, total: int) -> None:
        nonlocal progress
        if progress is None:
            progress = Progress(total)
            progress.started = started  # the first step's time counts too
        progress.update(done, f"{what}: step {done}/{total}")

    return on_step
