"""``visiongrad texture``: a new texture with the Gram statistics of STYLE."""

from __future__ import annotations

import argparse

from .errors import user_errors
from .options import positive_float
from .pictures import (
    add_network_options,
    check_out,
    network_from_args,
    read_photo,
    step_progress,
    write_png,
)


def register(commands) -> None:
    parser = commands.add_parser(
        "texture", help="texture synthesis from a style image (Gram matrices)",
        description="Optimises noise until its Gram matrices in the feature network match "
                    "STYLE's.")
    parser.add_argument("style")
    parser.add_argument("--optimizer", default="lbfgs", choices=("lbfgs", "adam"))
    parser.add_argument("--lr", type=positive_float, default=1.0)
    add_network_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """``visiongrad texture``: a new texture with the Gram statistics of STYLE."""
    from visiongrad import visualize

    check_out(args.out)
    style = read_photo(args.style, args.size)
    network = network_from_args(args)
    with user_errors(ValueError):
        image = visualize.synthesize_texture(style, network, iterations=args.iterations,
                                             optimizer=args.optimizer,
                                             learning_rate=args.lr, seed=args.seed,
                                             on_step=step_progress("texture"))
    write_png(args.out, image[0].transpose(1, 2, 0))
    print(f"texture of {args.style}: {args.out}")
