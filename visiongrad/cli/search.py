"""``visiongrad search``: learning rate x regularisation, coarse to fine or by successive
halving, in this process or as Ray tasks (``--backend ray``).

The output folder holds ``search.json`` (every trial), ``search.png``, ``options.json``
(the options the search ran with), the best setting's model (``checkpoint.safetensors``,
which ``evaluate``, ``predict`` and ``train --resume`` read), its curves and
``report.html``."""

from __future__ import annotations

import argparse
import math

import numpy as np

from visiongrad.recipes.errors import counted

from .errors import CommandError
from .network import (
    CHECKPOINT_NAME,
    build_model,
    fit_network,
    fit_normalizer,
    load_split,
    network_info,
    run_config,
    run_options,
    split_off_validation,
)
from .options import add_training_options, int_between, positive_float, trials
from .output import format_table, output_folder, write_json


def register(commands) -> None:
    parser = commands.add_parser("search", help="random or grid hyperparameter search")
    add_training_options(parser)
    parser.add_argument("--method", choices=["random", "grid", "halving"], default="random",
                        help="random or grid stages, coarse to fine; or successive halving "
                             "(--trials random settings for --epochs, the best 1/--eta for "
                             "--eta times as many, ... until one is left)")
    parser.add_argument("--eta", type=int_between(1, 1000), default=3,
                        help="successive halving's factor (at least 2)")
    parser.add_argument("--backend", choices=["local", "ray"], default="local",
                        help="run the trials in turn here, or as Ray tasks (needs pip "
                             "install 'visiongrad[distributed]')")
    parser.add_argument("--address", default=None,
                        help="with --backend ray: a running Ray cluster's address (default: "
                             "start Ray on this machine)")
    parser.add_argument("--trials", type=trials, default=8, help="trials per stage")
    parser.add_argument("--stages", type=int_between(1, 100), default=2,
                        help="coarse-to-fine stages")
    parser.add_argument("--lr-range", type=positive_float, nargs=2, default=[1e-4, 1e-1],
                        metavar=("LOW", "HIGH"))
    parser.add_argument("--reg-range", type=positive_float, nargs=2, default=[1e-6, 1e-2],
                        metavar=("LOW", "HIGH"))
    parser.set_defaults(run=run, out="visiongrad-search", epochs=1)


def run(args: argparse.Namespace) -> None:
    """``visiongrad search``: learning rate x regularisation, coarse to fine."""
    import visiongrad as vg
    from visiongrad.train import plots, search
    from visiongrad.train.halving import successive_halving

    run_config(args)  # every training option checked before any trial
    for name, (low, high) in (("--lr-range", args.lr_range), ("--reg-range", args.reg_range)):
        if not 0 < low < high:
            raise CommandError(f"{name} needs 0 < LOW < HIGH, got {low} {high}")
    if args.method == "halving" and args.eta < 2:
        raise CommandError(f"--eta must be at least 2, got {args.eta}")
    if args.address is not None and args.backend != "ray":
        raise CommandError("--address goes with --backend ray")
    run_trials = reporting(_trial_runner(args), _plan(args))
    vg.manual_seed(args.seed)
    dataset = load_split(args.dataset, "train", args.data_dir)
    x_train, y_train, x_val, y_val = split_off_validation(dataset.images, dataset.labels,
                                                          args.val_fraction)
    normalize = fit_normalizer(x_train)
    shape, num_classes = dataset.images.shape[1:], len(dataset.classes)
    build_model(args.model, shape, num_classes)  # an unknown name fails before any trial
    folder = output_folder(args.out, fresh=True)

    def validation_accuracy(lr: float, weight_decay: float, budget: int | None = None):
        epochs = args.epochs if budget is None else budget
        vg.manual_seed(trial_seed(args.seed, lr, weight_decay))
        trial = run_config({**vars(args), "lr": lr, "weight_decay": weight_decay,
                            "epochs": epochs})
        trainer = fit_network(build_model(args.model, shape, num_classes), trial,
                              x_train, y_train, x_val, y_val, normalize)
        return max(trainer.history["val_accuracy"], default=math.nan)

    space = {"lr": tuple(args.lr_range), "weight_decay": tuple(args.reg_range)}
    if args.method == "halving":
        results = successive_halving(validation_accuracy, space, trials=args.trials,
                                     min_budget=args.epochs, eta=args.eta,
                                     run_trials=run_trials)
    else:
        results = search(validation_accuracy, space, method=args.method, trials=args.trials,
                         stages=args.stages, run_trials=run_trials)
    # Stages and trials are numbered from 1 in the table and in search.json alike.
    rows = [{**r, "stage": r["stage"] + 1, "trial": r["trial"] + 1}
            for r in sorted(results, key=lambda r: -np.nan_to_num(r["score"], nan=-1.0))]
    for r in rows:
        if r["status"] == "failed":
            print(f"trial failed (lr {r['lr']:.2e}, weight decay {r['weight_decay']:.2e}): "
                  f"{r['message']}")
    print(format_table(["stage", "trial", "lr", "weight decay", "val accuracy", "status"],
                       [[r["stage"], r["trial"], f"{r['lr']:.2e}", f"{r['weight_decay']:.2e}",
                         f"{r['score']:.4f}", r["status"]] for r in rows]))
    write_json(folder / "search.json",  # a cut run's NaN score is JSON null
                [{**r, "score": r["score"] if math.isfinite(r["score"]) else None}
                 for r in rows])
    plots.plot_search([r["lr"] for r in rows], [r["weight_decay"] for r in rows],
                      [r["score"] for r in rows], folder / "search.png")
    write_json(folder / "options.json", run_options(args))
    print(f"results: {folder / 'search.json'}\nplot: {folder / 'search.png'}\n"
          f"options: {folder / 'options.json'}")
    best = next((r for r in rows if math.isfinite(r["score"])), None)
    if best is None:
        print("no trial finished: no model is kept")
        return
    _keep_best(args, best, rows, folder, dataset, (x_train, y_train, x_val, y_val), normalize)


def _keep_best(args: argparse.Namespace, best: dict, rows: list, folder, dataset, split,
               normalize) -> None:
    """Train the best setting again with its trial's seed (the trial's own weights, which
    may have been trained on Ray) into ``folder``'s checkpoint, with its curves and the
    report (the trials' table and scatter beside the model's pages)."""
    import visiongrad as vg
    from visiongrad.train.run_report import write_run_record

    from .report import write_run_report
    from .train import write_curves

    settings = run_options({**vars(args), "lr": best["lr"], "weight_decay": best["weight_decay"],
                            "epochs": best.get("budget", args.epochs)})
    print(f"keeping the best setting, trained again with its trial's seed and budget: "
          f"lr {best['lr']:.2e}, weight decay {best['weight_decay']:.2e}, epochs "
          f"{settings['epochs']}", flush=True)
    vg.manual_seed(trial_seed(args.seed, best["lr"], best["weight_decay"]))
    checkpoint = folder / CHECKPOINT_NAME
    info = network_info(settings, dataset.images, dataset.classes, normalize,
                        [args.command_line])
    trainer = fit_network(build_model(args.model, dataset.images.shape[1:],
                                      len(dataset.classes)),
                          run_config(settings), *split, normalize, info, checkpoint=checkpoint)
    trainer.save_checkpoint(checkpoint)
    write_curves(folder, trainer.history)
    write_run_record(folder, title=f"{args.model} search on {args.dataset}", curves={},
                     config=run_options(args), commands=[args.command_line], rescored=True,
                     figures=[("Validation accuracy of every trial", "search.png")],
                     tables=[("Trials", ["stage", "trial", "lr", "weight decay",
                                         "val accuracy", "status"],
                              [[r["stage"], r["trial"], f"{r['lr']:.2e}",
                                f"{r['weight_decay']:.2e}", f"{r['score']:.4f}", r["status"]]
                               for r in rows])])
    report = write_run_report(folder, title=f"the best of a {args.model} search on "
                                            f"{args.dataset}")
    print(f"checkpoint: {checkpoint}\nreport: {report}")


def trial_seed(seed: int, lr: float, weight_decay: float) -> int:
    """The seed of one trial's initial weights and shuffling: from the run's ``--seed`` and
    the trial's setting only, so a trial scores the same in turn here or on Ray."""
    words = np.frombuffer(np.float64([lr, weight_decay]).tobytes(), np.uint32)
    return int(np.random.SeedSequence([seed, *words.tolist()]).generate_state(1)[0])


def _plan(args: argparse.Namespace) -> list[tuple[int, int]]:
    """(trials, epochs per trial) of each stage the search will run (halving: each rung
    keeps the best 1/--eta, with --eta times the epochs, until one is left)."""
    if args.method != "halving":
        return [(args.trials, args.epochs)] * args.stages
    plan = [(args.trials, args.epochs)]
    while plan[-1][0] > 1:
        plan.append((max(1, plan[-1][0] // args.eta), plan[-1][1] * args.eta))
    return plan


def _setting(setting, epochs: int) -> str:
    """How a trial of ``epochs`` epochs is named in its progress line."""
    return (f"lr {setting['lr']:.2e}, weight decay {setting['weight_decay']:.2e}, "
            f"{counted(epochs, 'epoch')}")


def reporting(run_trials, plan: list[tuple[int, int]], unit: str = "trial",
              describe=_setting):
    """``run_trials`` with progress lines (:class:`~visiongrad.train.progress.Progress`,
    counting the epochs trained; ``plan`` holds (trials, epochs of each) per stage): one as
    each trial starts ("stage 1/2, trial 3/8: " and ``describe(setting, epochs)``) when
    they run in turn here, one as each result comes back from Ray."""
    from visiongrad.train.progress import Progress
    from visiongrad.train.ray_trials import RayTrials

    progress = Progress(sum(count * epochs for count, epochs in plan), write=print)
    stages = iter(enumerate(plan, 1))

    def run(objective, settings):
        stage, (_, epochs) = next(stages, (len(plan), plan[-1]))
        where, start = f"stage {stage}/{len(plan)}, " if len(plan) > 1 else "", progress.done
        if isinstance(run_trials, RayTrials):
            return run_trials(objective, settings, on_row=lambda done, count: progress.update(
                start + done * epochs, f"{where}{unit} {done}/{count} back from Ray",
                force=True))
        rows = []
        for number, setting in enumerate(settings, 1):
            progress.update(progress.done, f"{where}{unit} {number}/{len(settings)}: "
                            f"{describe(setting, epochs)}", force=True)
            rows += run_trials(objective, [setting])
            progress.done += epochs
        return rows
    return run


def _trial_runner(args: argparse.Namespace):
    """``run_trials`` for the backend: in turn here, or Ray tasks (Ray missing: one line)."""
    from visiongrad.train.search import run_locally

    if args.backend == "local":
        return run_locally
    from visiongrad.train.ray_trials import RayTrials, ray_module

    try:
        ray_module()
    except ImportError as error:
        raise CommandError(str(error)) from None
    return RayTrials(args.address)
