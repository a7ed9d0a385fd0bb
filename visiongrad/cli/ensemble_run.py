"""``visiongrad train --ensemble N``: N members from seeds ``--seed``, ``--seed + 1``, ...,
trained in turn here or as Ray tasks (``--backend ray``), and scored with their class
probabilities averaged (:class:`visiongrad.train.Ensemble`); and ``visiongrad evaluate``
of such a run's folder.

The output folder RUN holds ``member-1/``, ..., ``member-N/`` (each a ``checkpoint.safetensors``
that ``evaluate``, ``predict`` and ``train --resume`` take like any run's) and
``metrics.json``: each member's seed, status and validation and test accuracy, and the
ensemble's. All members hold out the same validation images (drawn from ``--seed``), so
the ensemble's validation accuracy is a fair one; member k's initial weights and shuffling
come from ``--seed + k - 1`` alone and its products run on one BLAS thread wherever it
runs, so it trains to the same weights, bit for bit, in turn here or on Ray (see
:class:`~visiongrad.train.ray_trials.RayTrials`). A member that
fails is reported (status ``"failed"`` and the error's last line) and the others go on.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

from visiongrad.recipes.errors import counted

from .errors import CommandError
from .network import (
    CHECKPOINT_NAME,
    build_model,
    fit_network,
    fit_normalizer,
    load_network,
    load_split,
    network_info,
    run_config,
    run_options,
    split_off_validation,
)
from .output import format_table, output_folder, write_json

MEMBER_FOLDER = "member-{}"
MAX_MEMBERS = 1000


def check_ensemble_options(args: argparse.Namespace) -> None:
    """Refuse, in one line, what an ensemble run cannot do (or options without one)."""
    if args.ensemble is None:
        if args.backend != "local" or args.address is not None:
            raise CommandError("--backend and --address go with --ensemble N")
        return
    if args.ensemble < 1:
        raise CommandError(f"--ensemble must be at least 1, got {args.ensemble}")
    if args.ensemble > MAX_MEMBERS:
        raise CommandError(f"--ensemble must be at most {MAX_MEMBERS}, got {args.ensemble}")
    for option, given in (("--distributed", args.distributed),
                          ("--resume", args.resume is not None),
                          ("--tensorboard", args.tensorboard)):
        if given:
            raise CommandError(f"--ensemble does not go with {option} (resume one member "
                               f"with --resume RUN/member-K)" if option == "--resume" else
                               f"--ensemble does not go with {option}")
    if args.address is not None and args.backend != "ray":
        raise CommandError("--address goes with --backend ray")


def run_members_locally(objective, settings) -> list[dict]:
    """``run_trials`` that trains the members in turn here; a member that raises becomes a
    ``"failed"`` row with the error's message, as :class:`RayTrials` reports it."""
    from visiongrad.train.search import run_trial

    rows = []
    for setting in settings:
        try:
            rows.append(run_trial(objective, setting))
        except Exception as error:  # noqa: BLE001 - any member's failure is reported
            rows.append({"score": math.nan, "status": "failed", "seconds": None,
                         "message": f"{type(error).__name__}: {error}"})
    return rows


class MemberTraining:
    """The objective of one member, ``objective(member=k, seed=s)``: train a fresh model
    from seed ``s``; return its best validation accuracy as the score and its whole
    checkpoint as bytes (a Ray worker may run on another machine than the one writing RUN).
    """

    def __init__(self, args: argparse.Namespace, split: tuple, normalize, info: dict,
                 image_shape: tuple, num_classes: int):
        self.args, self.split, self.normalize = args, split, normalize
        self.info, self.image_shape, self.num_classes = info, image_shape, num_classes

    def __call__(self, member: int, seed: int) -> dict:
        import visiongrad as vg

        options = run_config(member_options(self.args, seed))
        info = {**self.info, "options": {**self.info["options"], "seed": seed}}
        vg.manual_seed(seed)
        model = build_model(options.model, self.image_shape, self.num_classes)
        with tempfile.TemporaryDirectory() as scratch:
            checkpoint = Path(scratch) / CHECKPOINT_NAME
            trainer = fit_network(model, options, *self.split, self.normalize, info,
                                  checkpoint=checkpoint)
            trainer.save_checkpoint(checkpoint)
            contents = checkpoint.read_bytes()
        return {"score": max(trainer.history["val_accuracy"], default=math.nan),
                "checkpoint": contents, "epochs": trainer.epoch,
                "stop_reason": trainer.stop_reason}


def member_options(args: argparse.Namespace, seed: int) -> argparse.Namespace:
    """One member's options: the run's, with its own seed, as a plain run's (so that
    ``train --resume RUN/member-K`` continues that member alone)."""
    return argparse.Namespace(**{**vars(args), "seed": seed, "ensemble": None,
                                 "backend": "local", "address": None})


def _member_runner(args: argparse.Namespace):
    """The members' ``run_trials`` (in turn here or on Ray), with a progress line for each
    ("member 2/5: seed 1", and the whole ensemble's ETA)."""
    from .search import _trial_runner, reporting

    return reporting(run_members_locally if args.backend == "local" else _trial_runner(args),
                     [(args.ensemble, args.epochs)], unit="member",
                     describe=lambda setting, epochs: f"seed {setting['seed']}")


def run_ensemble(args: argparse.Namespace) -> None:
    """Train ``args.ensemble`` members, write their checkpoints and the summary."""
    import visiongrad as vg
    from visiongrad.train.checkpoint import atomic_write_bytes

    run_members = _member_runner(args)  # Ray missing: one line before any work
    vg.manual_seed(args.seed)
    dataset = load_split(args.dataset, "train", args.data_dir)
    shape, num_classes = tuple(dataset.images.shape[1:]), len(dataset.classes)
    build_model(args.model, shape, num_classes)  # an unknown name fails before any member
    split = split_off_validation(dataset.images, dataset.labels, args.val_fraction)
    normalize = fit_normalizer(split[0])
    test = load_split(args.dataset, "test", args.data_dir)
    folder = output_folder(args.out, fresh=True)
    print(f"training an ensemble of {args.ensemble} {args.model} on {len(split[1])} "
          f"{args.dataset} images ({len(split[3])} held out for validation) for "
          f"{counted(args.epochs, 'epoch')} each, seeds {args.seed} to "
          f"{args.seed + args.ensemble - 1}"
          f", {'as Ray tasks' if args.backend == 'ray' else 'in turn'}; output {folder}",
          flush=True)
    info = network_info(run_options(member_options(args, args.seed)), dataset.images,
                        dataset.classes, normalize, commands=[args.command_line])
    objective = MemberTraining(
        argparse.Namespace(**{k: v for k, v in vars(args).items() if k != "run"}),
        split, normalize, info, shape, num_classes)
    settings = [{"member": k, "seed": args.seed + k - 1} for k in range(1, args.ensemble + 1)]
    members, paths = [], []
    for setting, row in zip(settings, run_members(objective, settings), strict=True):
        summary = {**setting, "status": row["status"]}
        if "checkpoint" in row:
            path = folder / MEMBER_FOLDER.format(setting["member"]) / CHECKPOINT_NAME
            path.parent.mkdir()
            atomic_write_bytes(path, row["checkpoint"])
            paths.append(path)
            summary.update(checkpoint=str(path.relative_to(folder)), epochs=row["epochs"],
                           stop_reason=row["stop_reason"])
        else:
            summary["message"] = row.get("message")
            print(f"member {setting['member']} (seed {setting['seed']}) failed: "
                  f"{summary['message']}")
        members.append(summary)
    if not paths:
        write_json(folder / "metrics.json", {"members": members, "ensemble": None})
        raise CommandError(f"every member of the ensemble failed; see {folder / 'metrics.json'}")
    scores = score_ensemble(paths, {"val": (split[2], split[3]),
                                    "test": (test.images, test.labels)})
    for summary, member_scores in zip([m for m in members if "checkpoint" in m],
                                      scores["members"], strict=True):
        summary.update(member_scores)
    write_json(folder / "metrics.json", {
        "model": args.model, "dataset": args.dataset, "members": members,
        "ensemble": {"members": len(paths), **scores["ensemble"]},
        "options": run_options(args)})
    print(format_table(["member", "seed", "val accuracy", "test accuracy", "status"],
                       [[m["member"], m["seed"], _accuracy(m, "val"), _accuracy(m, "test"),
                         m["status"]] for m in members]
                       + [["ensemble", "", _accuracy(scores["ensemble"], "val"),
                           _accuracy(scores["ensemble"], "test"), counted(len(paths), "member")]]))
    print(f"checkpoints: {folder}/member-K/{CHECKPOINT_NAME}\nmetrics.json: {folder}\n"
          f"evaluate the ensemble: visiongrad evaluate {folder}")


def _accuracy(scores: dict, split: str) -> str:
    value = scores.get(f"{split}_accuracy")
    return "-" if value is None else f"{value:.4f}"


def load_members(paths, model_name: str | None = None):
    """The members' models (eval mode), their shared preprocessing and the first's info;
    members trained on other data or preprocessing are a user error."""
    members = [load_network(str(path), model_name) for path in paths]
    _, normalize, info = members[0]
    for path, (_, _, other) in zip(paths[1:], members[1:], strict=True):
        if (other["normalize"], other["classes"], other["input_shape"]) != (
                info["normalize"], info["classes"], info["input_shape"]):
            raise CommandError(f"{path} was trained on other data or preprocessing than "
                               f"{paths[0]}; they do not form one ensemble")
    return [model for model, _, _ in members], normalize, info


def score_ensemble(paths, splits: dict) -> dict:
    """Each member's and the ensemble's accuracy on every ``{name: (images, labels)}``:
    ``{"members": [{"NAME_accuracy": ...}, ...], "ensemble": {...}}``."""
    from visiongrad.train import Ensemble
    from visiongrad.train.trainer import evaluate

    models, normalize, info = load_members(paths)
    ensemble = Ensemble(models)
    scores = {"members": [{} for _ in models], "ensemble": {}}
    for name, (images, labels) in splits.items():
        x = normalize(images)
        for member, model in zip(scores["members"], models, strict=True):
            member[f"{name}_accuracy"] = evaluate(model, x, labels)["accuracy"]
        scores["ensemble"][f"{name}_accuracy"] = ensemble.evaluate(
            x, labels, num_classes=len(info["classes"]))["accuracy"]
    return scores


def ensemble_checkpoints(folder: str | Path) -> list[Path]:
    """The members' checkpoints in an ensemble run's folder, in member order (none: [])."""
    found = Path(folder).glob(f"{MEMBER_FOLDER.format('*')}/{CHECKPOINT_NAME}")
    numbered = [(int(path.parent.name.split("-")[1]), path) for path in found
                if path.parent.name.split("-")[1].isdigit()]
    return [path for _, path in sorted(numbered)]
