"""``visiongrad attack RUN``: robust accuracy of a trained classifier under an attack, the
accuracy-vs-eps curve and a report (:mod:`visiongrad.recipes.adversarial`)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .errors import CommandError, user_errors
from .network import CHECKPOINT_NAME, load_network, load_split
from .options import (
    add_data_options,
    count,
    int_between,
    iterations,
    non_negative_int,
    positive_float,
    positive_int,
)
from .output import output_folder


def register(commands) -> None:
    from visiongrad.adversarial import METHODS

    parser = commands.add_parser(
        "attack", help="robust accuracy under an adversarial attack, with a report",
        description="Attacks the run's classifier on test images (pixels in [0, 1]) and "
                    "writes metrics.json, examples.png, accuracy_vs_eps.png and report.html.")
    parser.add_argument("run_dir", metavar="RUN", help="a run folder of visiongrad train, or its "
                                                   "checkpoint")
    parser.add_argument("--method", choices=METHODS, default="pgd")
    parser.add_argument("--eps", type=positive_float, default=0.1,
                        help="L-inf radius in pixels (L2 for pgd-l2, deepfool, cw)")
    parser.add_argument("--steps", type=iterations, default=40)
    parser.add_argument("--restarts", type=int_between(1, 1000), default=1,
                        help="PGD from that many random starts (1: from the image)")
    parser.add_argument("--alpha", type=positive_float, default=None,
                        help="step length (default: 2.5 eps / steps for PGD)")
    parser.add_argument("--queries", type=iterations, default=1000,
                        help="the square attack's queries per image")
    parser.add_argument("--epsilons", type=float, nargs="+",
                        default=[0.0, 0.025, 0.05, 0.1, 0.15, 0.2],
                        help="the curve's radii")
    parser.add_argument("--images", type=count, default=1000,
                        help="test images attacked (the first ones)")
    parser.add_argument("--batch-size", type=positive_int, default=256)
    parser.add_argument("--checks", action="store_true",
                        help="also run the gradient-masking sanity checks")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    add_data_options(parser)
    parser.add_argument("--out", default="attack", help="output folder")
    parser.set_defaults(run=run, dataset=None)  # default: the run's own dataset


def run(args: argparse.Namespace) -> None:
    """``visiongrad attack``: attack, score, write the report."""
    from visiongrad.adversarial import OnPixels
    from visiongrad.recipes import adversarial as recipe

    with user_errors(ValueError, context="attack: "):
        config = recipe.Config(method=args.method, eps=args.eps, steps=args.steps,
                               restarts=args.restarts, alpha=args.alpha,
                               epsilons=tuple(args.epsilons), images=args.images,
                               batch_size=args.batch_size, queries=args.queries,
                               checks=args.checks, seed=args.seed)
    path = Path(args.run_dir)
    model, normalize, info = load_network(str(path / CHECKPOINT_NAME if path.is_dir()
                                              else path))
    dataset_name = args.dataset or info.get("options", {}).get("dataset")
    if dataset_name is None:
        raise CommandError(f"{args.run_dir} does not name its dataset; pass --dataset")
    dataset = load_split(dataset_name, "test", args.data_dir)
    if tuple(dataset.images.shape[1:]) != tuple(info["input_shape"]):
        raise CommandError(f"{dataset_name} has images of shape {dataset.images.shape[1:]} "
                           f"but the run's {info['model']} takes {tuple(info['input_shape'])}")
    images = (dataset.images[:args.images] / np.float32(normalize.scale)).astype(np.float32)
    classifier = OnPixels(model, normalize.mean_, normalize.std_)
    folder = output_folder(args.out)
    print(f"attacking {info['model']} from {args.run_dir} on {len(images)} {dataset_name} test "
          f"images with {args.method}; output {folder}")
    result = recipe.run(config, classifier, images, dataset.labels[:args.images],
                        classes=info["classes"], out=folder, commands=[args.command_line])
    if result["checks"] is not None:
        for check, passed in result["checks"]["checks"].items():
            print(f"{'passed' if passed else 'FAILED'}: {check}")
    print(f"report: {folder / 'report.html'}")
