"""``visiongrad evaluate``: accuracy, per-class accuracy and confusion matrix."""

from __future__ import annotations

import argparse

from .ensemble_run import ensemble_checkpoints, load_members
from .network import check_input_shape, load_network, load_split
from .options import add_data_options, output_path
from .output import format_table, output_folder


def register(commands) -> None:
    parser = commands.add_parser("evaluate", help="accuracy of a checkpoint on a split")
    parser.add_argument("checkpoint", help="a checkpoint, or a 'train --ensemble' run's "
                                           "folder (its members' averaged probabilities)")
    parser.add_argument("--model", default=None,
                        help="architecture to load the weights into (default: the "
                             "checkpoint's own)")
    add_data_options(parser)
    parser.add_argument("--split", default="test")
    parser.add_argument("--out", type=output_path, default=None,
                        help="folder for the confusion-matrix plot (default: none)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """``visiongrad evaluate``: accuracy, per-class accuracy and confusion matrix."""
    from visiongrad.train import Ensemble, plots
    from visiongrad.train.trainer import evaluate

    members = ensemble_checkpoints(args.checkpoint)  # a train --ensemble run's folder
    if members:
        models, normalize, info = load_members(members, args.model)
        name = f"ensemble of {len(models)} {info['model']}"
    else:
        model, normalize, info = load_network(args.checkpoint, args.model)
        name = info["model"]
    dataset = load_split(args.dataset, args.split, args.data_dir)
    check_input_shape(info, dataset.images.shape[1:], f"{args.dataset} {args.split}")
    x, num_classes = normalize(dataset.images), len(info["classes"])
    result = (Ensemble(models).evaluate(x, dataset.labels, num_classes=num_classes) if members
              else evaluate(model, x, dataset.labels, num_classes=num_classes))
    print(f"{name} on {args.dataset} {args.split} ({len(dataset.labels)} images): "
          f"accuracy {result['accuracy']:.4f}")
    rows = [[name, f"{accuracy:.4f}"]
            for name, accuracy in zip(info["classes"], result["per_class_accuracy"], strict=True)]
    print(format_table(["class", "accuracy"], rows))
    if args.out is not None:
        folder = output_folder(args.out)
        path = plots.plot_confusion_matrix(result["confusion"], info["classes"],
                                           folder / "confusion_matrix.png")
        print(f"confusion matrix: {path}")
