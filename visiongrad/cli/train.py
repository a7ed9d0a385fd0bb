"""``visiongrad train``: fit a model, save its checkpoint, plots, metrics and report
(and TensorBoard event files with ``--tensorboard``); or, with ``--ensemble N``, N models
(:mod:`visiongrad.cli.ensemble_run`)."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from .ensemble_run import check_ensemble_options, run_ensemble
from .errors import CommandError, Interrupted, user_errors
from .network import CHECKPOINT_NAME, run_config, run_options
from .options import DEFAULT_EPOCHS, add_training_options, iterations, positive_float
from .output import REPORT_MARKER, output_folder, write_json


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
    parser.add_argument("--steps", type=iterations, default=7,
                        help="with --adversarial pgd or trades: attack steps per batch")
    parser.add_argument("--alpha", type=positive_float, default=None,
                        help="with --adversarial: step length (default 2.5 eps / steps; "
                             "fgsm: 1.25 eps)")
    parser.add_argument("--trades-beta", type=positive_float, default=6.0,
                        help="with --adversarial trades: weight of the robustness term")


def _rank(args: argparse.Namespace) -> int:
    """This process's MPI rank with ``--distributed`` (0 without); refuses what the
    distributed Trainer cannot do, in one line."""
    if not args.distributed:
        return 0
    if args.optimizer == "lbfgs":
        raise CommandError("--distributed does not support --optimizer lbfgs")
    from visiongrad.distributed import world

    try:
        comm = world()
    except ImportError as error:
        raise CommandError(str(error)) from None
    if comm.Get_size() == 1:
        print("--distributed in a single process (not started by mpiexec): training as one "
              "rank; for K ranks run 'mpiexec -n K visiongrad train ... --distributed'",
              flush=True)
    return comm.Get_rank()


def _resumed_options(args: argparse.Namespace) -> tuple[argparse.Namespace, Path, list]:
    """The options a run was started with (``--epochs`` may raise its total, and
    ``--tensorboard`` turn event files on), checked as the command line's are, its
    checkpoint path and the commands that made it so far."""
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
              "tensorboard": args.tensorboard or options.get("tensorboard") is True}
    run_config(merged, source=f"cannot resume from {path}: its stored options are out of "
                              f"range: ")
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
    from visiongrad.recipes import classify

    from .report import write_run_report

    check_ensemble_options(args)
    if args.ensemble is not None and getattr(args, "adversarial", None):
        raise CommandError("--adversarial does not combine with --ensemble")
    commands, resume = [], None
    distributed = args.distributed
    if args.resume is not None:
        args, resume, commands = _resumed_options(args)
        args.distributed = distributed  # the rank count may change across a resume
    writes = _rank(args) == 0  # rank 0 writes the output and prints
    if args.epochs is None:
        args.epochs = DEFAULT_EPOCHS
    summary_writer_class = _summary_writer_class() if args.tensorboard and writes else None
    config = run_config(args)
    if args.ensemble is not None:
        run_ensemble(args)
        return
    made = [] if resume is None else [resume.parent]

    def output(path: str) -> Path:
        made.append(output_folder(path, fresh=True))
        return made[-1]

    try:
        trainer, checkpoint = classify.run(
            config, resume=resume, commands=[*commands, args.command_line],
            options=run_options(args), summary_writer_class=summary_writer_class,
            writes=writes, output=output)
    except KeyboardInterrupt:
        if not writes or not made:
            raise
        raise Interrupted(_what_was_kept(made[-1], args)) from None
    if not writes:
        return
    folder = checkpoint.parent
    write_run_files(folder, trainer, args)
    report = write_run_report(folder)
    if trainer.best_epoch is not None:
        robust = "robust " if getattr(args, "adversarial", None) else ""
        print(f"best {robust}validation accuracy {trainer.best_val_accuracy:.4f} "
              f"(epoch {trainer.best_epoch}); the checkpoint holds those weights")
    print(f"checkpoint: {checkpoint}\nplots and metrics.json: {folder}\nreport: {report}")
    if summary_writer_class is not None:
        print(f"TensorBoard event files: {folder / 'tensorboard'} (to view them: pip install "
              f"tensorboard, then tensorboard --logdir {folder / 'tensorboard'})")


def _what_was_kept(folder: Path, args: argparse.Namespace) -> str:
    """After Ctrl-C: the finished epochs' metrics.json and curves, written from the
    checkpoint, and a line saying what it holds and how to resume; a folder holding
    nothing yet (stopped in the first epoch) is removed, so the next run may take its
    name."""
    from visiongrad.train.checkpoint import load_checkpoint

    checkpoint = folder / CHECKPOINT_NAME
    if checkpoint.is_file():
        contents = load_checkpoint(checkpoint)
        state, history = contents["state"] or {}, contents["history"] or {}
        write_run_files(folder, argparse.Namespace(
            history=history, epoch=state.get("epoch"), best_epoch=state.get("best_epoch"),
            best_val_accuracy=state.get("best_val_accuracy"),
            stop_reason=history.get("stop_reason")), args)
        return (f"{folder} holds epoch {state.get('epoch')} of {args.epochs}; resume with "
                f"visiongrad train --resume {shlex.quote(str(folder))}")
    if sorted(path.name for path in folder.iterdir()) == [REPORT_MARKER]:
        (folder / REPORT_MARKER).unlink()
        folder.rmdir()
        return f"no epoch had finished; {folder} is removed"
    return f"no epoch had finished; {folder} holds no checkpoint"


def write_run_files(folder: Path, trainer, args: argparse.Namespace) -> None:
    """The run's ``metrics.json`` (per-epoch history, best epoch, options) and plots
    (:func:`write_curves`)."""
    history = trainer.history
    per_epoch = ("epoch_loss", "train_accuracy", "val_loss", "val_accuracy", "lr",
                 "epoch_seconds", *(["val_robust_accuracy"] if "val_robust_accuracy" in history
                                    else []))
    write_json(folder / "metrics.json", {
        "model": args.model, "dataset": args.dataset, "epochs": trainer.epoch,
        "best_epoch": trainer.best_epoch,
        "best_val_accuracy": trainer.best_val_accuracy if trainer.best_epoch else None,
        "stop_reason": trainer.stop_reason,
        "history": {key: history.get(key, []) for key in per_epoch},
        "options": run_options(args)})
    write_curves(folder, history)


def write_curves(folder: Path, history: dict) -> list[str]:
    """A classifier run's ``loss.png``, ``accuracy.png`` and ``update_ratios.png``; their
    names. A plot without data (a run stopped in its first epoch has no accuracy curve)
    is left out with a line saying why."""
    from visiongrad.train import plots

    written = []
    for name, draw in (
            ("loss.png", lambda path: plots.plot_loss(history, path)),
            ("accuracy.png", lambda path: plots.plot_accuracy(history, path)),
            ("update_ratios.png", lambda path: plots.plot_update_ratios(
                history.get("update_ratio", []), path,
                iterations=history.get("update_ratio_iteration")))):
        try:
            draw(folder / name)
            written.append(name)
        except ValueError as error:
            print(f"no {name}: {error}")
    return written
