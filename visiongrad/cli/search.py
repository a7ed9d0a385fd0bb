"""``visiongrad search``: learning rate x regularisation, coarse to fine."""

from __future__ import annotations

import argparse
import math

import numpy as np

from .errors import CommandError, check_choice
from .network import (
    OPTIMIZERS,
    SCHEDULES,
    build_model,
    fit_network,
    fit_normalizer,
    load_split,
    split_off_validation,
)
from .options import add_training_options, positive_int
from .output import format_table, output_folder, write_json


def register(commands) -> None:
    parser = commands.add_parser("search", help="random or grid hyperparameter search")
    add_training_options(parser)
    parser.add_argument("--method", choices=["random", "grid"], default="random")
    parser.add_argument("--trials", type=positive_int, default=8, help="trials per stage")
    parser.add_argument("--stages", type=positive_int, default=2, help="coarse-to-fine stages")
    parser.add_argument("--lr-range", type=float, nargs=2, default=[1e-4, 1e-1],
                        metavar=("LOW", "HIGH"))
    parser.add_argument("--reg-range", type=float, nargs=2, default=[1e-6, 1e-2],
                        metavar=("LOW", "HIGH"))
    parser.set_defaults(run=run, out="visiongrad-search", epochs=1)


def run(args: argparse.Namespace) -> None:
    """``visiongrad search``: learning rate x regularisation, coarse to fine."""
    import visiongrad as vg
    from visiongrad.train import plots, search

    check_choice("optimizer", args.optimizer, OPTIMIZERS)
    check_choice("schedule", args.schedule, SCHEDULES)
    for name, (low, high) in (("--lr-range", args.lr_range), ("--reg-range", args.reg_range)):
        if not 0 < low < high:
            raise CommandError(f"{name} needs 0 < LOW < HIGH, got {low} {high}")
    vg.manual_seed(args.seed)
    dataset = load_split(args.dataset, "train", args.data_dir)
    x_train, y_train, x_val, y_val = split_off_validation(dataset.images, dataset.labels,
                                                          args.val_fraction)
    normalize = fit_normalizer(x_train)
    shape, num_classes = dataset.images.shape[1:], len(dataset.classes)
    build_model(args.model, shape, num_classes)  # an unknown name fails before any trial
    folder = output_folder(args.out, fresh=True)
    total, done = args.trials * args.stages, []

    def validation_accuracy(lr: float, weight_decay: float) -> float:
        done.append(lr)
        stage = (len(done) - 1) // args.trials + 1
        print(f"trial {len(done)}/{total} (stage {stage}/{args.stages}): lr {lr:.2e}, "
              f"weight decay {weight_decay:.2e}", flush=True)
        trial = argparse.Namespace(**{**vars(args), "lr": lr, "weight_decay": weight_decay})
        trainer = fit_network(build_model(args.model, shape, num_classes), trial,
                              x_train, y_train, x_val, y_val, normalize)
        return max(trainer.history["val_accuracy"], default=math.nan)

    results = search(validation_accuracy,
                     {"lr": tuple(args.lr_range), "weight_decay": tuple(args.reg_range)},
                     method=args.method, trials=args.trials, stages=args.stages)
    # Stages and trials are numbered from 1 in the table and in search.json alike.
    rows = [{**r, "stage": r["stage"] + 1, "trial": r["trial"] + 1}
            for r in sorted(results, key=lambda r: -np.nan_to_num(r["score"], nan=-1.0))]
    print(format_table(["stage", "trial", "lr", "weight decay", "val accuracy", "status"],
                       [[r["stage"], r["trial"], f"{r['lr']:.2e}", f"{r['weight_decay']:.2e}",
                         f"{r['score']:.4f}", r["status"]] for r in rows]))
    write_json(folder / "search.json",  # a cut run's NaN score is JSON null
                [{**r, "score": r["score"] if math.isfinite(r["score"]) else None}
                 for r in rows])
    plots.plot_search([r["lr"] for r in rows], [r["weight_decay"] for r in rows],
                      [r["score"] for r in rows], folder / "search.png")
    print(f"results: {folder / 'search.json'}\nplot: {folder / 'search.png'}")
