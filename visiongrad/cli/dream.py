"""``visiongrad dream``: DeepDream of a photo through a feature network."""

from __future__ import annotations

import argparse

from .errors import CommandError, user_errors
from .options import octaves, positive_float
from .pictures import (
    add_network_options,
    check_layer,
    check_out,
    network_from_args,
    read_photo,
    write_png,
)


def register(commands) -> None:
    parser = commands.add_parser("dream", help="DeepDream: amplify what a layer sees",
                                 description="Amplifies what --layer of the feature network "
                                             "sees in IMAGE, coarse to fine (octaves).")
    parser.add_argument("image")
    parser.add_argument("--layer", default=None,
                        help="layer name (default: the network's third style layer)")
    parser.add_argument("--octaves", type=octaves, default=3)
    parser.add_argument("--octave-scale", type=positive_float, default=1.4)
    parser.add_argument("--lr", type=positive_float, default=0.01)
    add_network_options(parser)
    parser.set_defaults(run=run, iterations=10)


def run(args: argparse.Namespace) -> None:
    """``visiongrad dream``: DeepDream of a photo through a feature network."""
    from visiongrad import visualize

    check_out(args.out)
    photo = read_photo(args.image, args.size)
    network = network_from_args(args)
    layer = args.layer or network.style_layers[min(2, len(network.style_layers) - 1)]
    check_layer(network.model, layer)
    if args.octave_scale <= 1:
        raise CommandError(f"--octave-scale must be above 1, got {args.octave_scale}")
    with user_errors(ValueError):
        dream = visualize.deep_dream(network.pipeline(), f"net.{layer}", photo[None],
                                     args.octaves, args.octave_scale, args.iterations, args.lr,
                                     clamp=(0.0, 1.0), seed=args.seed)
    write_png(args.out, dream[0].transpose(1, 2, 0))
    print(f"dream of {args.image} at layer {layer}: {args.out}")

