"""``visiongrad summary``: a model's layer table, or (``--all``) the zoo's sizes and
costs beside the papers' figures."""

from __future__ import annotations

import argparse
import sys

from .errors import CommandError
from .network import build_model
from .options import positive_int


def register(commands) -> None:
    parser = commands.add_parser("summary", help="layer table: shapes, parameters, "
                                                 "multiply-adds, activation memory")
    parser.add_argument("model", nargs="?", help="a model name (omit with --all)")
    parser.add_argument("--all", action="store_true",
                        help="a table of every zoo network: parameters and multiply-adds at "
                             "224x224 (32x32 for the CIFAR networks) beside the papers'")
    parser.add_argument("--input-shape", type=positive_int, nargs=3, default=[1, 28, 28],
                        metavar=("C", "H", "W"))
    parser.add_argument("--num-classes", type=positive_int, default=10)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """``visiongrad summary``: the model's layer table, or the zoo table."""
    from visiongrad import nn

    if args.all:
        if args.model is not None:
            raise CommandError("summary takes a model name or --all, not both")
        print(_zoo_table())
        return
    if args.model is None:
        raise CommandError("summary needs a model name (or --all)")
    model = build_model(args.model, args.input_shape, args.num_classes)
    nn.summary(model, tuple(args.input_shape), file=sys.stdout)


def _zoo_table() -> str:
    """Every zoo network measured in turn (about a minute in all), with a progress line on
    stderr as each starts: the table goes to stdout alone."""
    from visiongrad.models import ZOO, complexity
    from visiongrad.train.progress import Progress

    progress, rows = Progress(len(ZOO)), []
    for number, name in enumerate(ZOO, 1):
        progress.update(number - 1, f"measuring model {number}/{len(ZOO)}: {name}", force=True)
        rows.append(complexity.measure(name))
    return complexity.zoo_table(rows)
