"""``visiongrad fool``: an imperceptibly changed image the classifier calls --target."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from visiongrad.imaging import as_rgb, save_panels, save_png

from .errors import CommandError, user_errors
from .explain import class_index, load_input, prediction
from .options import iterations, output_path, positive_float
from .pictures import check_out

METHODS = ("min_norm", "least_norm", "ascent")


def register(commands) -> None:
    parser = commands.add_parser(
        "fool", help="a fooling image: tiny change, chosen wrong class",
        description="Writes a figure of the image, the difference (magnified) and the "
                    "fooling image, each captioned with its class and confidence, and the "
                    "fooling image alone (8-bit pixels, each rounded away from the "
                    "original; the prediction printed is of that file).")
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
    parser.add_argument("--out", type=output_path, default="fool.png",
                        help="the figure: original, perturbation and adversarial image, "
                             "each with its class and confidence")
    parser.add_argument("--adversarial-out", type=output_path, default=None, metavar="PNG",
                        help="the adversarial image alone, in the input's size and pixels "
                             "(for predict; default: OUT's name with -adversarial)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """``visiongrad fool``: an imperceptibly changed image the classifier calls --target."""
    from visiongrad import visualize

    check_out(args.out)
    adversarial = args.adversarial_out or str(Path(args.out).with_name(
        f"{Path(args.out).stem}-adversarial.png"))
    check_out(adversarial)
    if Path(adversarial).resolve() == Path(args.out).resolve():
        raise CommandError(f"--adversarial-out must differ from --out ({args.out})")
    model, info, normalize, raw, x = load_input(args)
    classes = info["classes"]
    target = class_index(args.target, classes, None)
    before, start = prediction(model, x)
    valid = tuple(normalize(np.full_like(raw, v))[:1, :, :1, :1] for v in (0, 255))
    allowance = (visualize.brightness_allowance(x, valid) if args.allowance == "brightness"
                 else None)
    fooled = visualize.fooling_image(model, x, target, args.lr, args.max_iter, clamp=valid,
                                     method=args.method, allowance=allowance)
    pixels = raw[0].astype(np.float64)
    changed = normalize.inverse_transform(fooled)[0]
    # 8-bit pixels, each rounded away from the original: the saved change is at least the
    # computed one, and what the printed prediction is of is the file predict will read
    saved = np.clip(np.where(changed > pixels, np.ceil(changed - 1e-6),
                             np.floor(changed + 1e-6)), 0, 255).astype(np.uint8)
    after, confidence = prediction(model, normalize(saved[None]).astype(np.float32))
    change = float(np.linalg.norm(saved - pixels) / np.linalg.norm(pixels))
    largest = float(np.abs(saved - pixels).max())
    with user_errors(OSError, ValueError, context="cannot write the pictures: "):
        written = 255 - saved if args.invert else saved  # in the input file's own terms
        save_png(written[0] if len(written) == 1 else as_rgb(written), adversarial)
        save_panels([(f"original: {classes[before]} ({start:.2f})", as_rgb(pixels / 255), None),
                     ("perturbation (magnified)", np.abs(saved - pixels).max(axis=0),
                      "pixel change (of 255)"),
                     (f"adversarial: {classes[after]} ({confidence:.2f})",
                      as_rgb(saved / 255), None)],
                    args.out, title=f"{args.method}: {classes[before]} -> {classes[after]} "
                                    f"(target {classes[target]}), relative L2 change "
                                    f"{change:.4f}")
    print(f"predicted {classes[before]} -> {classes[after]} (target {classes[target]}); "
          f"relative L2 change {change:.4f}, largest pixel change {largest:.0f} of 255: "
          f"{args.out}; the adversarial image alone: {adversarial}")
    if after != target:
        raise CommandError(f"not fooled after {args.max_iter} steps (try a larger --max-iter)")
