"""``visiongrad fool``: an imperceptibly changed image the classifier calls --target."""

from __future__ import annotations

import argparse

import numpy as np

from .errors import CommandError
from .explain import class_index, load_input, predicted
from .options import iterations, output_path, positive_float
from .pictures import as_rgb, check_out, heatmap, side_by_side, write_png

METHODS = ("min_norm", "least_norm", "ascent")


def register(commands) -> None:
    parser = commands.add_parser(
        "fool", help="a fooling image: tiny change, chosen wrong class",
        description="Writes the image, the fooling image and their difference (magnified). "
                    "Pixels stay in 0-255.")
    parser.add_argument("checkpoint")
    parser.add_argument("image")
    parser.add_argument("--target", required=True, help="class name or index")
    parser.add_argument("--method", choices=METHODS, default="min_norm",
                        help="min_norm: least-norm steps to the target, then a walk along "
                             "the boundary that shrinks the change; least_norm: "
                             "stop at the first crossing; ascent: the course's gradient ascent")
    parser.add_argument("--allowance", choices=("uniform", "brightness"), default="uniform",
                        help="brightness: each pixel may change in proportion to its "
                             "brightness plus 0.1, so a dark background stays untouched")
    parser.add_argument("--lr", type=positive_float, default=1.0,
                        help="largest step length in the normalised image space")
    parser.add_argument("--max-iter", type=iterations, default=100)
    parser.add_argument("--resize", action="store_true")
    parser.add_argument("--invert", action="store_true")
    parser.add_argument("--out", type=output_path, default="fool.png")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """``visiongrad fool``: an imperceptibly changed image the classifier calls --target."""
    from visiongrad import visualize

    check_out(args.out)
    model, info, normalize, raw, x = load_input(args)
    classes = info["classes"]
    target = class_index(args.target, classes, None)
    before = predicted(model, x)
    valid = tuple(normalize(np.full_like(raw, v))[:1, :, :1, :1] for v in (0, 255))
    allowance = (visualize.brightness_allowance(x, valid) if args.allowance == "brightness"
                 else None)
    fooled = visualize.fooling_image(model, x, target, args.lr, args.max_iter, clamp=valid,
                                     method=args.method, allowance=allowance)
    after = predicted(model, fooled)
    pixels, changed = (normalize.inverse_transform(v)[0] for v in (x, fooled))
    change = float(np.linalg.norm(changed - pixels) / np.linalg.norm(pixels))
    largest = float(np.abs(changed - pixels).max())
    difference = np.abs(changed - pixels).max(axis=0)
    write_png(args.out, side_by_side(as_rgb(pixels / 255.0), as_rgb(changed / 255.0),
                                     heatmap(difference), scale=max(1, 256 // x.shape[2])))
    print(f"predicted {classes[before]} -> {classes[after]} (target {classes[target]}); "
          f"relative L2 change {change:.4f}, largest pixel change {largest:.0f} of 255: "
          f"{args.out}")
    if after != target:
        raise CommandError(f"not fooled after {args.max_iter} steps (try a larger --max-iter)")
