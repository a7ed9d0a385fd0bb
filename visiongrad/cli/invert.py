"""``visiongrad invert``: reconstruct a photo from one layer's features."""

from __future__ import annotations

import argparse

from .errors import user_errors
from .options import non_negative_float, positive_float
from .pictures import (
    add_network_options,
    check_layer,
    check_out,
    network_from_args,
    read_photo,
    step_progress,
    write_png,
)


def register(commands) -> None:
    parser = commands.add_parser(
        "invert", help="feature inversion: an image from a layer's code",
        description="Starts from noise and matches --layer's features of IMAGE, with "
                    "total-variation regularisation.")
    parser.add_argument("image")
    parser.add_argument("--layer", default=None,
                        help="layer name (default: the network's content layer)")
    parser.add_argument("--tv-weight", type=non_negative_float, default=1e-3)
    parser.add_argument("--lr", type=positive_float, default=1.0)
    parser.add_argument("--optimizer", default="lbfgs", choices=("lbfgs", "adam"))
    add_network_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """``visiongrad invert``: reconstruct a photo from one layer's features."""
    from visiongrad import visualize

    check_out(args.out)
    photo = read_photo(args.image, args.size)
    network = network_from_args(args)
    layer = args.layer or network.content_layer
    check_layer(network.model, layer)
    with user_errors(ValueError):
        image = visualize.invert_features(
            network.pipeline(), f"net.{layer}", photo[None], args.tv_weight, args.iterations,
            args.lr, args.optimizer, clamp=(0.0, 1.0), seed=args.seed, noise_mean=0.5,
            on_step=step_progress("invert"))
    write_png(args.out, image[0].transpose(1, 2, 0))
    print(f"{args.image} reconstructed from layer {layer}: {args.out}")
