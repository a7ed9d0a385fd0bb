"""``visiongrad fool``: an imperceptibly changed image the classifier calls --target."""

from __future__ import annotations

import argparse

import numpy as np

from .errors import CommandError
from .explain import class_index, load_input, predicted
from .options import positive_float, positive_int
from .pictures import as_rgb, check_out, heatmap, side_by_side, write_png


def register(commands) -> None:
    parser = commands.add_parser(
        "fool", help="a fooling image: tiny change, chosen wrong class",
        description="Writes the image, the fooling image and their difference (magnified).")
    parser.add_argument("checkpoint")
    parser.add_argument("image")
    parser.add_argument("--target", required=True, help="class name or index")
    parser.add_argument("--lr", type=positive_float, default=1.0,
                        help="step length in the normalised image space")
    parser.add_argument("--max-iter", type=positive_int, default=100)
    parser.add_argument("--resize", action="store_true")
    parser.add_argument("--invert", action="store_true")
    parser.add_argument("--out", default="fool.png")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """``visiongrad fool``: an imperceptibly changed image the classifier calls --target."""
    from visiongrad import visualize

    check_out(args.out)
    model, info, normalize, raw, x = load_input(args)
    classes = info["classes"]
    target = class_index(args.target, classes, None)
    before = predicted(model, x)
    fooled = visualize.fooling_image(model, x, target, args.lr, args.max_iter)
    after = predicted(model, fooled)
    change = float(np.linalg.norm(fooled - x) / np.linalg.norm(x))
    original, made = (as_rgb(normalize.inverse_transform(v)[0] / 255.0) for v in (x, fooled))
    difference = np.abs(fooled[0] - x[0]).max(axis=0)
    write_png(args.out, side_by_side(original, made, heatmap(difference),
                                     scale=max(1, 256 // x.shape[2])))
    print(f"predicted {classes[before]} -> {classes[after]} (target {classes[target]}); "
          f"relative L2 change {change:.4f}: {args.out}")
    if after != target:
        raise CommandError(f"not fooled after {args.max_iter} steps (try a larger --max-iter)")
