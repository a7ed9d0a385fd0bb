"""``visiongrad evaluate``: accuracy, per-class accuracy and confusion matrix."""

from __future__ import annotations

import argparse

from .ensemble_run import ensemble_checkpoints, load_members
from .errors import CommandError
from .network import check_input_shape, load_network, load_split
from .options import DEFAULT_DATASET, output_path
from .output import format_table, output_folder


def register(commands) -> None:
    parser = commands.add_parser("evaluate", help="accuracy of a checkpoint on a split")
    parser.add_argument("checkpoint", help="a checkpoint, or a 'train --ensemble' run's "
                                           "folder (its members' averaged probabilities)")
    parser.add_argument("--model", default=None,
                        help="architecture to load the weights into (default: the "
                             "checkpoint's own)")
    parser.add_argument("--dataset", default=None,
                        help="dataset name (default: the run's own, as the checkpoint records "
                             "it); its classes must be the checkpoint's")
    parser.add_argument("--data-dir", default=None,
                        help="folder holding the dataset's files (default: the run's own "
                             "for the run's dataset, else the standard place)")
    parser.add_argument("--split", default="test",
                        help="train or test (a run's validation images are a random part of "
                             "its train split; their accuracy is in the run's metrics.json)")
    parser.add_argument("--out", type=output_path, default=None,
                        help="folder for the confusion-matrix plot (default: none)")
    parser.set_defaults(run=run)


def _dataset_of(args: argparse.Namespace, info: dict) -> tuple[str, str | None]:
    """The dataset and data folder to score on: those given, else the run's own (its data
    folder only with its own dataset), else the embedded default."""
    options = info.get("options") if isinstance(info.get("options"), dict) else {}
    if args.dataset is not None:
        return args.dataset, args.data_dir
    dataset = options.get("dataset") if isinstance(options.get("dataset"), str) else None
    if dataset is None:
        return DEFAULT_DATASET, args.data_dir
    run_dir = options.get("data_dir") if isinstance(options.get("data_dir"), str) else None
    return dataset, args.data_dir or run_dir


def run(args: argparse.Namespace) -> None:
    """``visiongrad evaluate``: accuracy, per-class accuracy and confusion matrix."""
    from visiongrad.train import Ensemble, plots
    from visiongrad.train.trainer import evaluate

    if args.split not in ("train", "test"):
        raise CommandError(f"--split must be train or test, got {args.split!r}: the "
                           f"validation images are a random part of the train split that "
                           f"training held out, and their accuracy per epoch is in the run "
                           f"folder's metrics.json (best_val_accuracy, history)")
    members = ensemble_checkpoints(args.checkpoint)  # a train --ensemble run's folder
    if members:
        models, normalize, info = load_members(members, args.model)
        name = f"ensemble of {len(models)} {info['model']}"
    else:
        model, normalize, info = load_network(args.checkpoint, args.model)
        name = info["model"]
    name_of_dataset, data_dir = _dataset_of(args, info)
    dataset = load_split(name_of_dataset, args.split, data_dir)
    check_input_shape(info, dataset.images.shape[1:], f"{name_of_dataset} {args.split}")
    if list(dataset.classes) != list(info["classes"]):
        trained_on = info.get("options", {}).get("dataset") or "its training data"
        raise CommandError(f"{name_of_dataset} has classes {', '.join(dataset.classes)}, but "
                           f"the checkpoint was trained on {trained_on}, whose classes are "
                           f"{', '.join(map(str, info['classes']))}")
    x, num_classes = normalize(dataset.images), len(info["classes"])
    result = (Ensemble(models).evaluate(x, dataset.labels, num_classes=num_classes) if members
              else evaluate(model, x, dataset.labels, num_classes=num_classes))
    print(f"{name} on {name_of_dataset} {args.split} ({len(dataset.labels)} images): "
          f"accuracy {result['accuracy']:.4f}")
    rows = [[name, f"{accuracy:.4f}"]
            for name, accuracy in zip(info["classes"], result["per_class_accuracy"], strict=True)]
    print(format_table(["class", "accuracy"], rows))
    if args.out is not None:
        folder = output_folder(args.out)
        path = plots.plot_confusion_matrix(result["confusion"], info["classes"],
                                           folder / "confusion_matrix.png")
        print(f"confusion matrix: {path}")
