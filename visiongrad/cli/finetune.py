"""``visiongrad finetune CHECKPOINT``: adapt a trained network to another dataset: a new
classifier head for its classes, the rest fine-tuned at a lower rate or frozen, on a few
labelled images per class if asked."""

from __future__ import annotations

import argparse

from visiongrad.recipes.classify import FREEZE, labelled_subset

from .network import CHECKPOINT_NAME, run_config, run_options
from .options import (
    add_data_options,
    batch_size,
    epochs,
    output_path,
    positive_float,
    positive_int,
    seed,
)
from .output import output_folder, write_json
from .report import write_run_report
from .train import write_curves

__all__ = ["labelled_subset", "register", "run"]


def register(commands) -> None:
    parser = commands.add_parser("finetune", help="fine-tune a checkpoint on another dataset "
                                                  "(new head; features frozen or not)")
    parser.add_argument("checkpoint", metavar="CHECKPOINT",
                        help="a checkpoint (or run folder) written by visiongrad train")
    add_data_options(parser)
    parser.add_argument("--labels-per-class", type=positive_int, default=None, metavar="K",
                        help="train on K labelled images of each class, drawn with --seed "
                             "(default: every training image)")
    parser.add_argument("--freeze", default="none", choices=FREEZE,
                        help="features: train only the new head (batch norm kept in "
                             "evaluation mode); none: train every layer")
    parser.add_argument("--epochs", type=epochs, default=10)
    parser.add_argument("--batch-size", type=batch_size, default=32)
    parser.add_argument("--lr", type=positive_float, default=1e-3,
                        help="Adam learning rate of the new head")
    parser.add_argument("--body-lr", type=positive_float, default=1e-3,
                        help="Adam learning rate of the pretrained layers (--freeze none)")
    parser.add_argument("--augment", action="store_true",
                        help="random crops of the images padded by 2 pixels (shifts; no "
                             "flips, which would change digits)")
    parser.add_argument("--seed", type=seed, default=0)
    parser.add_argument("--out", type=output_path, default="visiongrad-finetune")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """``visiongrad finetune``: new head, fine-tuning, test accuracy, a checkpoint that
    ``evaluate`` and ``predict`` read."""
    from visiongrad.recipes import classify
    from visiongrad.train.checkpoint import load_checkpoint

    config = run_config(args, config_class=classify.FinetuneConfig)
    metrics, folder = classify.finetune(config, options=run_options(args),
                                        commands=[args.command_line],
                                        output=lambda path: output_folder(path, fresh=True))
    write_json(folder / "metrics.json", metrics)
    print(f"checkpoint: {folder / CHECKPOINT_NAME}")
    history = load_checkpoint(folder / CHECKPOINT_NAME)["history"] or {}
    print(f"curves: {', '.join(write_curves(folder, history))}\n"
          f"report: {write_run_report(folder)}")
