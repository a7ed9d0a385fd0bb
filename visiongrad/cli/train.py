"""``visiongrad train``: fit a model, save its checkpoint and plots."""

from __future__ import annotations

import argparse

from .errors import check_choice
from .network import (
    CHECKPOINT_NAME,
    OPTIMIZERS,
    SCHEDULES,
    build_model,
    fit_network,
    fit_normalizer,
    load_split,
    network_info,
    split_off_validation,
)
from .options import add_training_options
from .output import output_folder


def register(commands) -> None:
    parser = commands.add_parser("train", help="train a model and save its checkpoint")
    add_training_options(parser)
    parser.set_defaults(run=run, out="visiongrad-run")


def run(args: argparse.Namespace) -> None:
    """``visiongrad train``: fit a model, save its checkpoint and plots."""
    import visiongrad as vg
    from visiongrad.train import plots

    check_choice("optimizer", args.optimizer, OPTIMIZERS)
    check_choice("schedule", args.schedule, SCHEDULES)
    vg.manual_seed(args.seed)
    dataset = load_split(args.dataset, "train", args.data_dir)
    model = build_model(args.model, dataset.images.shape[1:], len(dataset.classes))
    x_train, y_train, x_val, y_val = split_off_validation(dataset.images, dataset.labels,
                                                          args.val_fraction)
    normalize = fit_normalizer(x_train)
    folder = output_folder(args.out)
    print(f"training {args.model} on {len(y_train)} {args.dataset} images "
          f"({len(y_val)} held out for validation) for {args.epochs} epoch(s); output {folder}")
    info = network_info(args, dataset.images, dataset.classes, normalize)
    trainer = fit_network(model, args, x_train, y_train, x_val, y_val, normalize, info)
    if trainer.stop_reason is not None:
        print(f"training stopped early: {trainer.stop_reason}")
    checkpoint = trainer.save_checkpoint(folder / CHECKPOINT_NAME)
    plots.plot_loss(trainer.history, folder / "loss.png")
    plots.plot_accuracy(trainer.history, folder / "accuracy.png")
    plots.plot_update_ratios(trainer.history["update_ratio"], folder / "update_ratios.png",
                             iterations=trainer.history["update_ratio_iteration"])
    if trainer.best_epoch is not None:
        print(f"best validation accuracy {trainer.best_val_accuracy:.4f} "
              f"(epoch {trainer.best_epoch}); the checkpoint holds those weights")
    print(f"checkpoint: {checkpoint}\nplots: {folder}")
