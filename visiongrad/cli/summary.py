"""``visiongrad summary``: the model's layer table."""

from __future__ import annotations

import argparse
import sys

from .network import build_model
from .options import positive_int


def register(commands) -> None:
    parser = commands.add_parser("summary", help="layer table: shapes, parameters, FLOPs")
    parser.add_argument("model")
    parser.add_argument("--input-shape", type=positive_int, nargs=3, default=[1, 28, 28],
                        metavar=("C", "H", "W"))
    parser.add_argument("--num-classes", type=positive_int, default=10)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """``visiongrad summary``: the model's layer table."""
    from visiongrad import nn

    model = build_model(args.model, args.input_shape, args.num_classes)
    nn.summary(model, tuple(args.input_shape), file=sys.stdout)
