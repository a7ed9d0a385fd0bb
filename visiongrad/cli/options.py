"""Options shared by several commands, and ``--config`` files whose keys are options."""

from __future__ import annotations

import argparse
import json

from .errors import CommandError
from .network import INTERNAL_KEYS


def add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default="fashion-mnist-mini",
                        help="dataset name (default: %(default)s, embedded in the package)")
    parser.add_argument("--data-dir", default=None,
                        help="folder holding the dataset's files (default: the standard place)")


def add_training_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None, metavar="FILE.json",
                        help="JSON file whose keys are this command's options "
                             "(command-line options win)")
    parser.add_argument("--model", default="three_layer_convnet", help="model name")
    add_data_options(parser)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--optimizer", default="adam", help="sgd, momentum, nesterov, "
                        "adagrad, rmsprop or adam (default: %(default)s)")
    parser.add_argument("--lr", type=float, default=1e-3, help="learning rate")
    parser.add_argument("--schedule", default="none",
                        help="learning-rate schedule: none, step, exponential, cosine")
    parser.add_argument("--weight-decay", type=float, default=0.0,
                        help="L2 regularisation strength")
    parser.add_argument("--augment", action="store_true",
                        help="random horizontal flips and crops while training")
    parser.add_argument("--val-fraction", type=float, default=0.1,
                        help="fraction of the training split held out for validation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="output folder")


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
    except json.JSONDecodeError as error:
        raise CommandError(f"config {path} is not valid JSON: {error}") from None
    if not isinstance(config, dict):
        raise CommandError(f"config {path} must hold a JSON object, got {type(config).__name__}")
    return config
