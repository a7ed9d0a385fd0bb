"""Options shared by several commands, and ``--config`` files whose keys are options."""

from __future__ import annotations

import argparse
import json
import math

from .errors import CommandError
from .network import INTERNAL_KEYS, OPTIMIZERS, SCHEDULES


def _number(kind, test, wanted: str):
    """An argparse ``type`` that parses ``kind`` and checks ``test`` (message: ``wanted``)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}") from None
        if not (math.isfinite(value) and test(value)):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}")
        return value
    parse.__name__ = wanted  # what argparse names in its own messages
    return parse


DEFAULT_EPOCHS = 5

positive_int = _number(int, lambda v: v >= 1, "a positive integer")
non_negative_int = _number(int, lambda v: v >= 0, "a non-negative integer")
positive_float = _number(float, lambda v: v > 0, "a positive number")
non_negative_float = _number(float, lambda v: v >= 0, "a non-negative number")
fraction = _number(float, lambda v: 0 < v < 1, "a fraction between 0 and 1")


def add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default="fashion-mnist-mini",
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
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help=f"epochs in all (default: {DEFAULT_EPOCHS}; search: 1)")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="minibatch size")
    parser.add_argument("--optimizer", default="adam", help=", ".join(OPTIMIZERS))
    parser.add_argument("--lr", type=positive_float, default=1e-3, help="learning rate")
    parser.add_argument("--schedule", default="none",
                        help="learning-rate schedule: " + ", ".join(SCHEDULES))
    parser.add_argument("--weight-decay", type=non_negative_float, default=0.0,
                        help="L2 regularisation strength")
    parser.add_argument("--augment", action="store_true",
                        help="random horizontal flips and crops while training")
    parser.add_argument("--val-fraction", type=fraction, default=0.1,
                        help="fraction of the training split held out for validation")
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="seed of the split, initial weights and shuffling")
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
    except IsADirectoryError:
        raise CommandError(f"config {path} is a folder, not a JSON file") from None
    except UnicodeDecodeError:
        raise CommandError(f"config {path} is not UTF-8 text") from None
    except OSError as error:
        raise CommandError(f"cannot read config {path}: {error.strerror}") from None
    except (json.JSONDecodeError, RecursionError) as error:
        raise CommandError(f"config {path} is not valid JSON: {error}") from None
    if not isinstance(config, dict):
        raise CommandError(f"config {path} must hold a JSON object, got {type(config).__name__}")
    return config
