"""``visiongrad style``: CONTENT painted in the textures of STYLE (Gatys et al.)."""

from __future__ import annotations

import argparse

from .errors import user_errors
from .options import non_negative_float, positive_float
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
        "style", help="neural style transfer of a photo",
        description="Optimises the pixels of CONTENT to keep its content-layer features "
                    "and take STYLE's Gram matrices.")
    parser.add_argument("content")
    parser.add_argument("style")
    parser.add_argument("--style-weight", type=non_negative_float, default=5.0,
                        help="weight of each style layer (relative to the content's 1)")
    parser.add_argument("--tv-weight", type=non_negative_float, default=1e-4)
    parser.add_argument("--optimizer", default="lbfgs", choices=("lbfgs", "adam"))
    parser.add_argument("--lr", type=positive_float, default=1.0)
    add_network_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """``visiongrad style``: CONTENT painted in the textures of STYLE (Gatys et al.)."""
    from visiongrad import visualize

    check_out(args.out)
    content = read_photo(args.content, args.size)
    style = read_photo(args.style, args.size)
    network = network_from_args(args)
    with user_errors(ValueError):
        image = visualize.style_transfer(
            content, style, network, style_weights=[args.style_weight] * len(
                network.style_layers), tv_weight=args.tv_weight, iterations=args.iterations,
            optimizer=args.optimizer, learning_rate=args.lr, seed=args.seed,
            on_step=step_progress("style"))
    write_png(args.out, image[0].transpose(1, 2, 0))
    print(f"{args.content} in the style of {args.style}: {args.out}")
