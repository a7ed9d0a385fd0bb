"""Options shared by several commands, and ``--config`` files whose keys are options."""

from __future__ import annotations

import argparse
import json
import math

from visiongrad.recipes.checks import check_path
from visiongrad.recipes.classify import MAX_BATCH_SIZE, MAX_EPOCHS, MAX_SEED

from .errors import CommandError
from .network import INTERNAL_KEYS, OPTIMIZERS, SCHEDULES


def _number(kind, test, wanted: str, bounds: str = ""):
    """An argparse ``type`` that parses ``kind`` and checks ``test`` (message: ``wanted``,
    then ``bounds``)."""
    def parse(text: str):
        try:
            value = kind(text)
            fits = math.isfinite(value) and test(value)
        except (ValueError, OverflowError):  # not a number; an int too large for a float
            fits = False
        if not fits:
            shown = text if len(text) <= 40 else f"{text[:20]}... ({len(text)} characters)"
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {shown!r}{bounds}")
        return value
    parse.__name__ = wanted  # what argparse names in its own messages
    return parse


DEFAULT_EPOCHS = 5

MAX_COUNT = 2**62
"""The largest count any option takes (beyond it NumPy's indices overflow)."""


def int_between(low: int, high: int):
    """An argparse ``type``: an integer from ``low`` to ``high``."""
    wanted = {1: "a positive integer", 0: "an integer >= 0"}.get(
        low, f"an integer from {low}")
    return _number(int, lambda v: low <= v <= high, wanted, f" (at most {high})")


positive_int = _number(int, lambda v: 1 <= v <= MAX_COUNT, "a positive integer")
non_negative_int = _number(int, lambda v: 0 <= v <= MAX_COUNT, "a non-negative integer")
positive_float = _number(float, lambda v: v > 0, "a positive number")
non_negative_float = _number(float, lambda v: v >= 0, "a non-negative number")
fraction = _number(float, lambda v: 0 < v < 1, "a fraction between 0 and 1")
epochs = int_between(1, MAX_EPOCHS)
batch_size = int_between(1, MAX_BATCH_SIZE)
seed = int_between(0, MAX_SEED)
trials = int_between(1, 10_000)
count = int_between(1, 1_000_000)
iterations = int_between(1, 1_000_000)
image_side = int_between(1, 4096)
canvas_side = int_between(16, 512)
octaves = int_between(1, 16)
"""Counts whose work or memory grows with them (epochs, images, scenes, sizes, steps),
bounded where a run would never end or never fit in memory."""
score_threshold = _number(float, lambda v: 0 <= v <= 1, "a number from 0 to 1")


def output_path(text: str) -> str:
    """An argparse ``type`` for ``--out``: a non-empty path the file system can hold."""
    try:
        check_path("--out", text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix("--out ")) from None
    return text


DEFAULT_DATASET = "fashion-mnist-mini"


def add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default=DEFAULT_DATASET,
                        help="dataset name (fashion-mnist-mini is embedded in the package)")
    parser.add_argument("--data-dir", default=None,
                        help="folder holding the dataset's files (default: the standard place)")


def add_training_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None, metavar="FILE.json",
                        help="JSON file whose keys are this command's options "
                             "(command-line options win)")
    from visiongrad import models

    parser.add_argument("--model", default="three_layer_convnet",
                        help=f"model name: {', '.join(sorted(models.available()))}")
    add_data_options(parser)
    parser.add_argument("--epochs", type=epochs, default=None,
                        help=f"epochs in all (default: {DEFAULT_EPOCHS}; search: 1)")
    parser.add_argument("--batch-size", type=batch_size, default=64, help="minibatch size")
    parser.add_argument("--optimizer", default="adam", help=", ".join(OPTIMIZERS))
    parser.add_argument("--lr", type=positive_float, default=1e-3, help="learning rate")
    parser.add_argument("--schedule", default="none",
                        help="learning-rate schedule: " + ", ".join(SCHEDULES))
    parser.add_argument("--weight-decay", type=non_negative_float, default=0.0,
                        help="L2 regularisation strength")
    parser.add_argument("--ema", type=fraction, default=None, metavar="DECAY",
                        help="keep an exponential moving average of the weights (decay such "
                             "as 0.999), which validation, the best epoch and the "
                             "checkpoint use")
    parser.add_argument("--augment", action="store_true",
                        help="random horizontal flips and crops while training")
    parser.add_argument("--val-fraction", type=fraction, default=0.1,
                        help="fraction of the training split held out for validation")
    parser.add_argument("--seed", type=seed, default=0,
                        help="seed of the split, initial weights and shuffling")
    parser.add_argument("--out", type=output_path, default=None, help="output folder")


def apply_config(parser: argparse.ArgumentParser, argv: list[str],
                  args: argparse.Namespace) -> argparse.Namespace:
    """Re-parse with the options of ``args.config`` placed before the command line's own.

    Each key becomes its option (``"batch_size": 32`` -> ``--batch-size 32``), so argparse
    checks types and choices as for typed options, and an option given on the command
    line, coming later, wins.
    """
    if getattr(args, "config", None) is None:
        return args
    config = _read_config(args.config)
    known = set(vars(args)) - INTERNAL_KEYS
    tokens = []
    for key, value in config.items():
        dest = key.replace("-", "_")
        if dest not in known:
            raise CommandError(f"unknown key {key!r} in config {args.config} "
                               f"(known keys: {', '.join(sorted(known))})")
        option = "--" + dest.replace("_", "-")
        if isinstance(value, bool):
            tokens += [option] if value else []
        elif isinstance(value, list):
            tokens += [option, *map(str, value)]
        elif value is not None:
            tokens += [option, str(value)]
    position = argv.index(args.command) + 1
    return parser.parse_args(argv[:position] + tokens + argv[position:])


def _read_config(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except FileNotFoundError:
        raise CommandError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise CommandError(f"config {path} is a folder, not a JSON file") from None
    except UnicodeDecodeError:
        raise CommandError(f"config {path} is not UTF-8 text") from None
    except OSError as error:
        raise CommandError(f"cannot read config {path}: {error.strerror}") from None
    except (ValueError, RecursionError) as error:  # also a number too long to convert
        raise CommandError(f"config {path} is not valid JSON: {error}") from None
    if not isinstance(config, dict):
        raise CommandError(f"config {path} must hold a JSON object, got {type(config).__name__}")
    return config
