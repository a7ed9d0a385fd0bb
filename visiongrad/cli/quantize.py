"""``visiongrad quantize``: post-training int8 quantization of a trained run, with the
per-layer table and the accuracy before and after."""

from __future__ import annotations

import argparse
from pathlib import Path

from .errors import CommandError, user_errors
from .network import CHECKPOINT_NAME, load_network
from .options import positive_int
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
    parser.add_argument("--out", required=True, help="output folder")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    from visiongrad.recipes import quantize as recipe

    source = Path(args.source)
    checkpoint = source / CHECKPOINT_NAME if source.is_dir() else source
    model, normalize, info = load_network(str(checkpoint))
    if "int8" in info:
        raise CommandError(f"{checkpoint} is already an int8 checkpoint")
    options = info.get("options") if isinstance(info.get("options"), dict) else {}
    dataset = args.dataset or options.get("dataset") or "fashion-mnist-mini"
    data_dir = args.data_dir if args.data_dir is not None else options.get("data_dir")
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
    accuracy = result["accuracy"]
    print(f"{info['model']} on {dataset} test ({result['test_images']} images): accuracy "
          f"float32 {accuracy['float32']:.4f}, int8 {accuracy['int8']:.4f} "
          f"({100 * (accuracy['int8'] - accuracy['float32']):+.2f} points)")
    write_json(Path(config.out) / "metrics.json", result)
    print(f"int8 checkpoint: {result['checkpoint']}")
