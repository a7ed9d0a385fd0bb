"""``visiongrad train``: fit a model, save its checkpoint, plots, metrics and report
(and TensorBoard event files with ``--tensorboard``); or, with ``--ensemble N``, N models
(:mod:`visiongrad.cli.ensemble_run`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .ensemble_run import check_ensemble_options, run_ensemble
from .errors import CommandError, check_choice, user_errors
from .network import (
    CHECKPOINT_NAME,
    INTERNAL_KEYS,
    OPTIMIZERS,
    SCHEDULES,
    build_model,
    fit_network,
    fit_normalizer,
    load_split,
    network_info,
    split_off_validation,
)
from .options import DEFAULT_EPOCHS, add_training_options, positive_float, positive_int
from .output import output_folder, write_json


def register(commands) -> None:
    parser = commands.add_parser("train", help="train a model and save its checkpoint")
    add_training_options(parser)
    parser.add_argument("--resume", default=None, metavar="RUN_DIR_OR_CKPT",
                        help="continue a run exactly where its checkpoint stopped, with its "
                             "own options, up to --epochs epochs in all (default: the run's)")
    parser.add_argument("--tensorboard", action="store_true",
                        help="also write TensorBoard event files to OUT/tensorboard "
                             "(needs tensorboardX: pip install 'visiongrad[tensorboard]')")
    parser.add_argument("--distributed", action="store_true",
                        help="synchronous data-parallel training over MPI: run as "
                             "'mpirun -n K visiongrad train ... --distributed'; --batch-size "
                             "stays the global batch, rank 0 writes the output (needs "
                             "pip install 'visiongrad[distributed]')")
    parser.add_argument("--ensemble", type=int, default=None, metavar="N",
                        help="train N members from seeds --seed, --seed + 1, ... into "
                             "OUT/member-K and score their averaged probabilities "
                             "(metrics.json; 'visiongrad evaluate OUT')")
    parser.add_argument("--backend", choices=["local", "ray"], default="local",
                        help="with --ensemble: train the members in turn here, or as Ray "
                             "tasks (needs pip install 'visiongrad[distributed]')")
    parser.add_argument("--address", default=None,
                        help="with --backend ray: a running Ray cluster's address (default: "
                             "start Ray on this machine)")
    add_adversarial_options(parser)
    parser.set_defaults(run=run, out="visiongrad-run")


def add_adversarial_options(parser) -> None:
    """``--adversarial METHOD --eps E --steps K [--alpha A] [--trades-beta B]``."""
    from visiongrad.adversarial import ADVERSARIAL_METHODS

    parser.add_argument("--adversarial", choices=ADVERSARIAL_METHODS, default=None,
                        help="adversarial training: fgsm (random start, 'fast is better than "
                             "free'), pgd (Madry et al.) or trades, in pixel space [0, 1]")
    parser.add_argument("--eps", type=positive_float, default=0.1,
                        help="with --adversarial: the L-inf radius, pixels in [0, 1]")
    parser.add_argument("--steps", type=positive_int, default=7,
                        help="with --adversarial pgd or trades: attack steps per batch")
    parser.add_argument("--alpha", type=positive_float, default=None,
                        help="with --adversarial: step length (default 2.5 eps / steps; "
                             "fgsm: 1.25 eps)")
    parser.add_argument("--trades-beta", type=positive_float, default=6.0,
                        help="with --adversarial trades: weight of the robustness term")


def training_adversary(args: argparse.Namespace, normalize):
    """The Trainer's ``adversary`` for ``--adversarial`` (None without), attacking in
    pixel space through the run's standardisation."""
    method = getattr(args, "adversarial", None)
    if method is None:
        return None
    from visiongrad.adversarial import AdversarialTraining

    return AdversarialTraining(method, eps=args.eps, steps=args.steps, alpha=args.alpha,
                               beta=args.trades_beta, mean=normalize.mean_, std=normalize.std_)


def _rank(args: argparse.Namespace) -> int:
    """This process's MPI rank with ``--distributed`` (0 without); refuses what the
    distributed Trainer cannot do, in one line."""
    if not args.distributed:
        return 0
    if args.optimizer == "lbfgs":
        raise CommandError("--distributed does not support --optimizer lbfgs")
    from visiongrad.distributed import world

    try:
        return world().Get_rank()
    except ImportError as error:
        raise CommandError(str(error)) from None


def _resumed_options(args: argparse.Namespace) -> tuple[argparse.Namespace, Path, list]:
    """The options a run was started with (``--epochs`` may raise its total, and
    ``--tensorboard`` turn event files on), its checkpoint path and the commands that made
    it so far."""
    from visiongrad.train.checkpoint import load_checkpoint

    path = Path(args.resume)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    with user_errors(FileNotFoundError, ValueError, KeyError, TypeError, RecursionError,
                     context=f"cannot resume from {args.resume}: "):
        config = load_checkpoint(path)["config"]
    options = config.get("options") if isinstance(config, dict) else None
    if not isinstance(options, dict) or "model" not in options:
        raise CommandError(f"cannot resume from {path}: it was not written by visiongrad train")
    epochs = args.epochs if args.epochs is not None else options.get("epochs")
    merged = {**vars(args), **options, "resume": str(path), "epochs": epochs,
              "tensorboard": args.tensorboard or bool(options.get("tensorboard"))}
    commands = config.get("commands")
    return argparse.Namespace(**merged), path, commands if isinstance(commands, list) else []


def _summary_writer_class():
    """tensorboardX's ``SummaryWriter``, imported only for ``--tensorboard``."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise CommandError("--tensorboard needs the tensorboardX package: "
                           "pip install 'visiongrad[tensorboard]'") from None
    return SummaryWriter


def run(args: argparse.Namespace) -> None:
    """``visiongrad train``: fit a model (or resume a run), save its checkpoint, plots,
    metrics.json and report.html (and TensorBoard event files with ``--tensorboard``)."""
    import visiongrad as vg

    from .report import write_run_report

    check_ensemble_options(args)
    if args.ensemble is not None and getattr(args, "adversarial", None):
        raise CommandError("--adversarial does not combine with --ensemble")
    commands = []
    distributed = args.distributed
    if args.resume is not None:
        args, checkpoint, commands = _resumed_options(args)
        args.distributed = distributed  # the rank count may change across a resume
        folder = checkpoint.parent
    writes = _rank(args) == 0  # rank 0 writes the output and prints
    if args.epochs is None:
        args.epochs = DEFAULT_EPOCHS
    summary_writer_class = _summary_writer_class() if args.tensorboard and writes else None
    check_choice("optimizer", args.optimizer, OPTIMIZERS)
    check_choice("schedule", args.schedule, SCHEDULES)
    if args.ensemble is not None:
        run_ensemble(args)
        return
    vg.manual_seed(args.seed)
    dataset = load_split(args.dataset, "train", args.data_dir)
    model = build_model(args.model, dataset.images.shape[1:], len(dataset.classes))
    x_train, y_train, x_val, y_val = split_off_validation(dataset.images, dataset.labels,
                                                          args.val_fraction)
    normalize = fit_normalizer(x_train)
    adversary = training_adversary(args, normalize)
    if args.resume is None:
        folder = output_folder(args.out, fresh=True) if writes else Path(args.out)
        checkpoint = folder / CHECKPOINT_NAME
    if not writes:
        fit_network(model, args, x_train, y_train, x_val, y_val, normalize,
                    resume=args.resume is not None, checkpoint=checkpoint, adversary=adversary)
        return
    print(f"{'resuming' if args.resume else 'training'} {args.model} on {len(y_train)} "
          f"{args.dataset} images ({len(y_val)} held out for validation) for {args.epochs} "
          f"epoch(s) in all; output {folder}")
    info = network_info(args, dataset.images, dataset.classes, normalize,
                        commands=[*commands, args.command_line])
    writer = (summary_writer_class(logdir=str(folder / "tensorboard"))
              if summary_writer_class is not None else None)
    try:
        trainer = fit_network(model, args, x_train, y_train, x_val, y_val, normalize, info,
                              checkpoint=checkpoint, resume=args.resume is not None,
                              summary_writer=writer, adversary=adversary)
    finally:
        if writer is not None:
            writer.close()
    if trainer.stop_reason is not None:
        print(f"training stopped early: {trainer.stop_reason}")
    trainer.save_checkpoint(checkpoint)
    write_run_files(folder, trainer, args)
    report = write_run_report(folder)
    if trainer.best_epoch is not None:
        print(f"best validation accuracy {trainer.best_val_accuracy:.4f} "
              f"(epoch {trainer.best_epoch}); the checkpoint holds those weights")
    print(f"checkpoint: {checkpoint}\nplots and metrics.json: {folder}\nreport: {report}")
    if writer is not None:
        print(f"TensorBoard: tensorboard --logdir {folder / 'tensorboard'}")


def write_run_files(folder: Path, trainer, args: argparse.Namespace) -> None:
    """The run's plots and ``metrics.json`` (per-epoch history, best epoch, options)."""
    from visiongrad.train import plots

    history = trainer.history
    plots.plot_loss(history, folder / "loss.png")
    plots.plot_accuracy(history, folder / "accuracy.png")
    plots.plot_update_ratios(history["update_ratio"], folder / "update_ratios.png",
                             iterations=history["update_ratio_iteration"])
    per_epoch = ("epoch_loss", "train_accuracy", "val_loss", "val_accuracy", "lr",
                 "epoch_seconds")
    write_json(folder / "metrics.json", {
        "model": args.model, "dataset": args.dataset, "epochs": trainer.epoch,
        "best_epoch": trainer.best_epoch,
        "best_val_accuracy": trainer.best_val_accuracy if trainer.best_epoch else None,
        "stop_reason": trainer.stop_reason,
        "history": {key: history.get(key, []) for key in per_epoch},
        "options": {key: value for key, value in vars(args).items()
                    if key not in INTERNAL_KEYS}})
