"""``visiongrad report``: a run folder's report as one self-contained HTML page.

Every training command writes it into its run folder as ``report.html`` at the end of
the run; ``visiongrad report RUN_DIR`` writes it again (after ``evaluate`` on another
split, for instance). A classifier's page (``train``, ``demo``, ``finetune``, ``search``)
is drawn by :mod:`visiongrad.train.report` from the checkpoint (history, weights,
options, commands) and the test split the model is scored on; the other commands' pages
(caption, detect, segment, generate, lm) from the run record they leave
(:mod:`visiongrad.train.run_report`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from visiongrad.recipes.errors import RecipeError

from .errors import CommandError, user_errors
from .network import CHECKPOINT_NAME, check_input_shape, load_network, load_split
from .options import output_path, positive_int

REPORT_NAME = "report.html"


def register(commands) -> None:
    parser = commands.add_parser(
        "report", help="write a run folder's report as one self-contained HTML page")
    parser.add_argument("run_dir", metavar="RUN_DIR",
                        help=f"a run folder written by a training command (holding "
                             f"{CHECKPOINT_NAME})")
    parser.add_argument("--split", default="test", help="the split the model is scored on")
    parser.add_argument("--data-dir", default=None,
                        help="folder holding the dataset's files (default: the run's own)")
    parser.add_argument("--limit", type=positive_int, default=None,
                        help="score only the first N images of the split")
    parser.add_argument("--out", type=output_path, default=None,
                        help=f"the HTML file to write (default: RUN_DIR/{REPORT_NAME})")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    from visiongrad.train.run_report import render_record

    folder = Path(args.run_dir)
    if not (folder / CHECKPOINT_NAME).is_file():
        raise CommandError(f"{folder} holds no {CHECKPOINT_NAME}: not a visiongrad run folder")
    record = _record(folder)
    if record is not None and not record.get("rescored"):  # not a classifier: no split
        with user_errors(OSError, ValueError, context=f"cannot write the report of {folder}: "):
            path = render_record(folder, args.out)
    else:
        path = write_run_report(folder, split=args.split, data_dir=args.data_dir,
                                limit=args.limit, out=args.out)
    print(f"report: {path}")


def _record(folder: Path) -> dict | None:
    """The run record of ``folder`` (written by the training commands other than
    ``train``), or None."""
    from visiongrad.train.run_report import load_record

    with user_errors(ValueError, OSError):
        return load_record(folder)


def _scored_split(info: dict, model, normalize, dataset: str | None, data_dir: str | None,
                  split: str, limit: int | None):
    """(images, labels, probabilities) of the split, or a note saying why there are none."""
    from visiongrad.train.trainer import predict_proba

    if dataset is None:
        return None, f"the run does not name its dataset: no {split} set is scored"
    try:
        found = load_split(dataset, split, data_dir)
        check_input_shape(info, found.images.shape[1:], f"{dataset} {split}")
    except (CommandError, RecipeError) as error:
        return None, f"no {split} set is scored: {error}"
    images, labels = found.images[:limit], found.labels[:limit]
    return (images, labels, predict_proba(model, normalize(images))), None


def write_run_report(folder: Path, *, dataset: str | None = None, data_dir: str | None = None,
                     split: str = "test", limit: int | None = None, out: str | None = None,
                     title: str | None = None, tables: Sequence[tuple] = ()) -> Path:
    """Write the report of the run in ``folder`` (its checkpoint scored on ``split`` of
    ``dataset``, by default the run's own); return the HTML file's path.

    A split that cannot be read leaves the test-set sections out, with a note saying why.
    """
    from visiongrad import nn
    from visiongrad.train.checkpoint import load_checkpoint
    from visiongrad.train.metrics import classification_scores
    from visiongrad.train.report import write_report
    from visiongrad.train.run_report import record_extras

    checkpoint = folder / CHECKPOINT_NAME
    model, normalize, info = load_network(str(checkpoint))
    contents = load_checkpoint(checkpoint)
    state, history = contents["state"] or {}, contents["history"] or {}
    options = info.get("options", {})
    dataset = dataset or options.get("dataset")
    data_dir = data_dir or options.get("data_dir")
    scored, note = _scored_split(info, model, normalize, dataset, data_dir, split, limit)
    summary = {"model": info["model"], "dataset": dataset, "epochs": state.get("epoch"),
               "iterations": state.get("iteration")}
    for key, name in (("epoch_loss", "last epoch's training loss"),
                      ("train_accuracy", "last epoch's training accuracy"),
                      ("val_loss", "last epoch's validation loss"),
                      ("val_accuracy", "last epoch's validation accuracy")):
        if history.get(key):
            summary[name] = float(history[key][-1])
    if state.get("best_epoch") is not None:
        summary["best validation accuracy (its weights are the checkpoint's)"] = \
            float(state["best_val_accuracy"])
        summary["best epoch"] = state["best_epoch"]
    if history.get("stop_reason"):
        summary["stopped early"] = history["stop_reason"]
    report = {}
    if scored is not None:
        images, labels, probabilities = scored
        scores = classification_scores(labels, probabilities=probabilities,
                                       num_classes=len(info["classes"]))
        summary[f"{split} accuracy ({len(labels)} images)"] = scores["accuracy"]
        summary[f"{split} loss"] = scores["loss"]
        report = {"scores": scores, "images": images, "labels": labels,
                  "probabilities": probabilities}
    first_conv = next((module for module in model.modules() if isinstance(module, nn.Conv2d)
                       and module.weight.data.shape[1] in (1, 3)), None)
    record = _record(folder)
    extras = {"tables": list(tables), "figures": []}
    if record is not None:  # a search's trials and scatter beside its best model
        found = record_extras(folder, record, curves=False)  # the checkpoint has those
        extras = {"tables": [*tables, *found["tables"]], "figures": found["figures"]}
    path = Path(out) if out is not None else folder / REPORT_NAME
    with user_errors(OSError, context=f"cannot write {path}: "):
        write_report(path, title=title or f"{info['model']} on {dataset}", history=history,
                     summary=summary, classes=info["classes"], config=options,
                     commands=info.get("commands", []), notes=[note] if note else [],
                     **extras,
                     first_layer=None if first_conv is None else first_conv.weight.data,
                     **report)
    return path
