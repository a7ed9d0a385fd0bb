"""``visiongrad quantize``: post-training int8 quantization of a trained run, or
(``--weights binary|ternary``) a few epochs of training it with binary or ternary weights;
either prints the per-layer table and the accuracy before and after."""

from __future__ import annotations

import argparse
from pathlib import Path

from .errors import CommandError, user_errors
from .network import CHECKPOINT_NAME, load_network
from .options import batch_size, epochs, fraction, positive_float, positive_int
from .output import format_table, output_folder, write_json


def register(commands) -> None:
    parser = commands.add_parser(
        "quantize", help="int8 post-training quantization of a trained run",
        description="Calibrate activation ranges on training images, quantize weights per "
                    "channel to int8, and write an int8 checkpoint that evaluate, predict and "
                    "export read; prints the per-layer table and the test accuracy of the "
                    "float and the int8 model.")
    parser.add_argument("source", metavar="RUN", help="a training run's folder or its checkpoint")
    parser.add_argument("--calibration", type=positive_int, default=1000,
                        help="training images to calibrate on")
    parser.add_argument("--method", default="minmax", choices=("minmax", "percentile", "mse"),
                        help="how activation ranges are chosen")
    parser.add_argument("--percentile", type=float, default=99.99)
    parser.add_argument("--dataset", default=None,
                        help="dataset of the calibration and test images (default: the run's)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weights", default="int8", choices=("int8", "binary", "ternary"),
                        help="int8: post-training quantization (no training); binary or "
                             "ternary: train the run's model with such weights")
    low_bit = parser.add_argument_group("binary and ternary weights (trained)")
    low_bit.add_argument("--epochs", type=epochs, default=None, help="training epochs (1)")
    low_bit.add_argument("--lr", type=positive_float, default=None,
                         help="Adam's learning rate (1e-4)")
    low_bit.add_argument("--batch-size", type=batch_size, default=None, help="(128)")
    low_bit.add_argument("--threshold", type=fraction, default=None,
                         help="ternary: weights within threshold x max|w| become 0 (0.05)")
    low_bit.add_argument("--all-layers", action="store_true",
                         help="the first and last layers too (default: they stay float32)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.set_defaults(run=run)


LOW_BIT_OPTIONS = ("epochs", "lr", "batch_size", "threshold")


def run(args: argparse.Namespace) -> None:
    from visiongrad.recipes import quantize as recipe

    given = [f"--{name.replace('_', '-')}" for name in LOW_BIT_OPTIONS
             if getattr(args, name) is not None] + (["--all-layers"] if args.all_layers else [])
    if args.weights == "int8" and given:
        raise CommandError(f"{', '.join(given)} train binary or ternary weights: add "
                           f"--weights binary or --weights ternary (int8 is not trained)")
    source = Path(args.source)
    checkpoint = source / CHECKPOINT_NAME if source.is_dir() else source
    model, normalize, info = load_network(str(checkpoint))
    if "int8" in info:
        raise CommandError(f"{checkpoint} is already an int8 checkpoint")
    options = info.get("options") if isinstance(info.get("options"), dict) else {}
    dataset = args.dataset or options.get("dataset") or "fashion-mnist-mini"
    data_dir = args.data_dir if args.data_dir is not None else options.get("data_dir")
    if args.weights != "int8":
        return run_low_bit(args, model, normalize, info, dataset, data_dir)
    with user_errors(ValueError, context="cannot quantize: "):
        config = recipe.Config(out=args.out, calibration=args.calibration, method=args.method,
                                percentile=args.percentile, dataset=dataset, data_dir=data_dir,
                                seed=args.seed)
    config.out = str(output_folder(args.out))
    with user_errors(ValueError, FileNotFoundError, KeyError,
                     context=f"cannot quantize {info['model']}: "):
        result = recipe.run(config, model, normalize, info, source=str(checkpoint))
    rows = [[row["layer"], row["kind"], "x".join(map(str, row["shape"])), 8,
             row["float32_bytes"], row["int8_bytes"],
             "float32" if row["out_scale"] is None
             else f"{row['out_scale']:.4g} / {row['out_zero_point']}",
             f"{row['sqnr_db']:.1f}"] for row in result["layers"]]
    print(format_table(["layer", "kind", "weight", "bits", "float32 bytes", "int8 bytes",
                        "output scale / zero", "SQNR dB"], rows))
    report_result(result, info, dataset, "int8", config.out)
    print(f"int8 checkpoint: {result['checkpoint']}")


def run_low_bit(args, model, normalize, info: dict, dataset: str, data_dir) -> None:
    """``--weights binary|ternary``: train, print the table and both accuracies."""
    from visiongrad.recipes import low_bit as recipe
    from visiongrad.recipes.classify import load_split

    with user_errors(ValueError, context="cannot quantize: "):
        given = {name: getattr(args, name) for name in LOW_BIT_OPTIONS
                 if getattr(args, name) is not None}
        config = recipe.Config(out=args.out, weights=args.weights,
                               keep_first_last=not args.all_layers, seed=args.seed, **given)
        recipe.check_model(model, info, config)
    train, test = (load_split(dataset, split, data_dir) for split in ("train", "test"))
    config.out = str(output_folder(args.out))
    with user_errors(ValueError, context=f"cannot quantize {info['model']}: "):
        result = recipe.run(config, model, normalize, info, train, test)
    print(format_table(["layer", "kind", "weight", "bits", "float32 bytes", "deployed bytes",
                        "zeros"],
                       [[row["layer"], row["kind"], "x".join(map(str, row["shape"])),
                         row["bits"], row["float32_bytes"], row["deployed_bytes"],
                         f"{row['zeros']:.3f}"] for row in result["layers"]]))
    report_result(result, info, dataset, args.weights, config.out)
    print(f"{args.weights} checkpoint (its weights stored as float32): {result['checkpoint']}")


def report_result(result: dict, info: dict, dataset: str, kind: str, out: str) -> None:
    """Print the float32 and ``kind`` test accuracies and write ``out``/metrics.json."""
    accuracy = result["accuracy"]
    print(f"{info['model']} on {dataset} test ({result['test_images']} images): accuracy "
          f"float32 {accuracy['float32']:.4f}, {kind} {accuracy[kind]:.4f} "
          f"({100 * (accuracy[kind] - accuracy['float32']):+.2f} points)")
    write_json(Path(out) / "metrics.json", result)
