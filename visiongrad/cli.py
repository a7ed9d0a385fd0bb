"""The ``visiongrad`` command: train, evaluate, predict, search, summary and the demo.

Every subcommand is a thin layer over the library (``visiongrad.data``, ``models``,
``train``, ``classic``): it parses options, turns user mistakes into one-line errors, and
prints or writes what the library computes.

User errors (an unknown model, optimizer or config key, a missing data folder, a
checkpoint from another architecture, an image of the wrong size) print
``visiongrad: error: ...`` on stderr and exit with status 1, no traceback; argparse's own
usage errors exit with status 2.

>>> main(["summary", "lenet5"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

PROG = "visiongrad"


class CommandError(Exception):
    """A mistake in what the user asked for; reported as one line, without a traceback."""


# ----------------------------------------------------------------------------- output

REPORT_MARKER = ".visiongrad-output"
"""A file visiongrad writes into every folder it creates, so it knows it may write there."""


def _is_ours(folder: Path) -> bool:
    """True if ``folder`` is absent, empty, or was made by visiongrad."""
    if not folder.exists():
        return True
    return folder.is_dir() and (not any(folder.iterdir()) or (folder / REPORT_MARKER).exists())


def output_folder(path: str | os.PathLike) -> Path:
    """Create (or reuse) an output folder without ever touching a user's own files.

    ``path`` is used if it does not exist, is empty, or is an earlier visiongrad output
    (it holds :data:`REPORT_MARKER`); otherwise the first free ``path-2``, ``path-3``, ...
    is taken and a line says so. Only files visiongrad names are written inside.
    """
    folder, number = Path(path), 1
    while not _is_ours(folder):
        number += 1
        folder = Path(f"{path}-{number}")
    if number > 1:
        print(f"{path} holds files visiongrad did not write; writing to {folder} instead")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / REPORT_MARKER).write_text("written by visiongrad\n", encoding="utf-8")
    return folder


def format_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    """A plain-text table: columns padded to their widest cell, a rule under the header."""
    cells = [list(map(str, header))] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def read_images(paths: Sequence[str], channels: int, size: tuple[int, int]) -> np.ndarray:
    """Read PNG/JPEG files as a uint8 batch for a model taking ``channels`` x ``size``.

    Colour images are converted to grey for a one-channel model and grey ones to RGB for a
    three-channel model; the size must already match (no silent resizing).

    Returns
    -------
    ndarray of uint8, shape (N, channels, H, W)
    """
    mode = {1: "L", 3: "RGB"}.get(channels)
    if mode is None:
        raise CommandError(f"cannot read images for a model with {channels} input channels")
    height, width = size
    batch = []
    for path in paths:
        try:
            with Image.open(path) as image:
                image = image.convert(mode)
        except FileNotFoundError:
            raise CommandError(f"image not found: {path}") from None
        except (UnidentifiedImageError, OSError) as error:
            raise CommandError(f"cannot read image {path}: {error}") from None
        if image.size != (width, height):
            raise CommandError(f"image {path} is {image.width}x{image.height} pixels but the "
                               f"model takes {width}x{height}")
        pixels = np.asarray(image, dtype=np.uint8)
        batch.append(pixels[None] if channels == 1 else pixels.transpose(2, 0, 1))
    return np.stack(batch)


# ----------------------------------------------------------------------------- library glue

CHECKPOINT_NAME = "checkpoint.safetensors"
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
SCHEDULES = ("none", "step", "exponential", "cosine")


@contextlib.contextmanager
def user_errors(*kinds: type[BaseException], context: str = ""):
    """Re-raise the library's ``kinds`` of exception as a one-line :class:`CommandError`."""
    try:
        yield
    except kinds as error:
        message = error.args[0] if len(error.args) == 1 else str(error)
        raise CommandError(f"{context}{message}") from None


def load_split(name: str, split: str, data_dir: str | None):
    """``data.load_dataset`` with a missing folder or unknown name as a user error."""
    from visiongrad import data

    if data_dir is not None and not os.path.isdir(data_dir):
        raise CommandError(f"data folder not found: {data_dir}")
    with user_errors(FileNotFoundError, KeyError, ValueError):
        return data.load_dataset(name, split=split, data_dir=data_dir)


def check_choice(kind: str, name: str, known: Sequence[str]) -> None:
    """Raise a user error naming ``name`` and the known choices unless it is one of them."""
    if name not in known:
        raise CommandError(f"unknown {kind} {name!r} (choose from {', '.join(known)})")


def fit_normalizer(images: np.ndarray):
    """Per-channel standardisation of ``images / 255``, fitted on training images."""
    from visiongrad.data import ChannelNormalizer

    return ChannelNormalizer(scale=255.0).fit(images)


def normalizer_state(normalizer) -> dict:
    """The fitted statistics of a ``ChannelNormalizer``, JSON-ready (stored in checkpoints)."""
    return {"scale": normalizer.scale, "mean": normalizer.mean_.tolist(),
            "std": normalizer.std_.tolist()}


def restore_normalizer(state: dict, image_shape: Sequence[int]):
    """The ``ChannelNormalizer`` whose statistics :func:`normalizer_state` recorded."""
    from visiongrad.data import ChannelNormalizer

    normalizer = ChannelNormalizer(scale=state["scale"])
    normalizer.mean_ = np.asarray(state["mean"], dtype=np.float64)
    normalizer.std_ = np.asarray(state["std"], dtype=np.float64)
    normalizer.image_shape_ = tuple(image_shape)
    return normalizer


def build_model(name: str, input_shape: Sequence[int], num_classes: int):
    """``models.create`` for images of ``input_shape`` (C, H, W), unknown names as errors."""
    from visiongrad import models

    check_choice("model", name, sorted(models.available()))
    with user_errors(ValueError, TypeError, context=f"cannot build {name}: "):
        return models.create(name, input_shape=tuple(input_shape), num_classes=num_classes)


def build_optimizer(name: str, parameters, lr: float, weight_decay: float):
    """One of :data:`OPTIMIZERS` (momentum and Nesterov in the course's form, mu = 0.9)."""
    from visiongrad import optim

    check_choice("optimizer", name, OPTIMIZERS)
    classes = {"sgd": optim.SGD, "momentum": optim.Momentum, "nesterov": optim.Nesterov,
               "adagrad": optim.AdaGrad, "rmsprop": optim.RMSProp, "adam": optim.Adam}
    with user_errors(ValueError):
        return classes[name](parameters, lr=lr, weight_decay=weight_decay)


def build_schedule(name: str, optimizer, epochs: int):
    """A per-epoch learning-rate schedule (``None`` for ``"none"``)."""
    from visiongrad.optim import lr_scheduler

    check_choice("schedule", name, SCHEDULES)
    if name == "step":
        return lr_scheduler.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.1)
    if name == "exponential":
        return lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    if name == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    return None


def split_off_validation(images: np.ndarray, labels: np.ndarray, fraction: float):
    """Hold out a random, stratified ``fraction`` of a training split (seeded generator)."""
    from visiongrad.data import train_val_split

    if not 0.0 < fraction < 1.0:
        raise CommandError(f"--val-fraction must be between 0 and 1, got {fraction}")
    return train_val_split(images, labels, val_fraction=fraction)


def fit_network(model, args: argparse.Namespace, train_images: np.ndarray,
                train_labels: np.ndarray, val_images: np.ndarray, val_labels: np.ndarray,
                normalize, info: dict | None = None):
    """Train ``model`` with the options in ``args``; return the fitted Trainer.

    ``info`` (see :func:`network_info`) goes into the Trainer's checkpoints, so that
    ``evaluate`` and ``predict`` can rebuild and feed the model.
    """
    from visiongrad.data import DataLoader, transforms
    from visiongrad.train.trainer import Trainer

    optimizer = build_optimizer(args.optimizer, model.parameters(), args.lr, args.weight_decay)
    augment = [transforms.RandomHorizontalFlip(),
               transforms.RandomCrop(train_images.shape[-2:], padding=2)] if args.augment else []
    loader = DataLoader((train_images, train_labels), batch_size=args.batch_size, shuffle=True,
                        transform=transforms.Compose([*augment, normalize]))
    trainer = Trainer(model, optimizer,
                      scheduler=build_schedule(args.schedule, optimizer, args.epochs),
                      epochs=args.epochs, config=info)
    trainer.fit(loader, x_val=normalize(val_images), y_val=val_labels)
    return trainer


def network_info(args: argparse.Namespace, images: np.ndarray, classes: Sequence[str],
                 normalize) -> dict:
    """What a checkpoint needs to rebuild and feed its model, plus how it was trained."""
    options = {key: value for key, value in vars(args).items() if key not in _INTERNAL_KEYS}
    return {"model": args.model, "input_shape": list(images.shape[1:]),
            "classes": list(classes), "normalize": normalizer_state(normalize),
            "options": options}


def load_network(path: str, model_name: str | None = None):
    """Rebuild a checkpoint's model and preprocessing; return ``(model, normalize, info)``.

    ``info`` is the checkpoint's config as :func:`network_info` wrote it.

    The architecture is the checkpoint's own (``info["model"]``) unless ``model_name`` is
    given; weights that do not fit it are a user error naming the mismatched keys.
    """
    from visiongrad.train.checkpoint import load_checkpoint, load_model_state

    with user_errors(FileNotFoundError, ValueError):
        checkpoint = load_checkpoint(path)
    info = dict(checkpoint["config"] or {})
    missing = [key for key in ("input_shape", "classes", "normalize") if key not in info]
    if missing:
        raise CommandError(f"checkpoint {path} was not written by the visiongrad command "
                           f"(its config lacks {', '.join(missing)})")
    info["model"] = model_name or info.get("model")
    if info["model"] is None:
        raise CommandError(f"checkpoint {path} does not name its model; pass --model")
    model = build_model(info["model"], info["input_shape"], len(info["classes"]))
    with user_errors(ValueError, context=f"checkpoint {path} does not fit a {info['model']} "
                                         f"model: "):
        load_model_state(model, checkpoint["model"], source="its weights")
    model.eval()
    return model, restore_normalizer(info["normalize"], info["input_shape"]), info


# ----------------------------------------------------------------------------- commands


def run_train(args: argparse.Namespace) -> None:
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


def run_evaluate(args: argparse.Namespace) -> None:
    """``visiongrad evaluate``: accuracy, per-class accuracy and confusion matrix."""
    from visiongrad.train import plots
    from visiongrad.train.trainer import evaluate

    model, normalize, info = load_network(args.checkpoint, args.model)
    dataset = load_split(args.dataset, args.split, args.data_dir)
    _check_input_shape(info, dataset.images.shape[1:], f"{args.dataset} {args.split}")
    result = evaluate(model, normalize(dataset.images), dataset.labels,
                      num_classes=len(info["classes"]))
    print(f"{info['model']} on {args.dataset} {args.split} ({len(dataset.labels)} images): "
          f"accuracy {result['accuracy']:.4f}")
    rows = [[name, f"{accuracy:.4f}"]
            for name, accuracy in zip(info["classes"], result["per_class_accuracy"], strict=True)]
    print(format_table(["class", "accuracy"], rows))
    if args.out is not None:
        folder = output_folder(args.out)
        path = plots.plot_confusion_matrix(result["confusion"], info["classes"],
                                           folder / "confusion_matrix.png")
        print(f"confusion matrix: {path}")


def _check_input_shape(info: dict, shape: Sequence[int], source: str) -> None:
    expected = tuple(info["input_shape"])
    if tuple(shape) != expected:
        raise CommandError(f"{source} has images of shape {tuple(shape)} but the checkpoint's "
                           f"{info['model']} takes {expected}")


def run_predict(args: argparse.Namespace) -> None:
    """``visiongrad predict``: top label and its probability per image (all in the CSV)."""
    from visiongrad.train.trainer import predict_proba

    if bool(args.images) == (args.dataset is not None):
        raise CommandError("give image files or --dataset, not both or neither")
    model, normalize, info = load_network(args.checkpoint, args.model)
    channels, height, width = info["input_shape"]
    if args.images:
        names, images = list(args.images), read_images(args.images, channels, (height, width))
    else:
        dataset = load_split(args.dataset, args.split, args.data_dir)
        _check_input_shape(info, dataset.images.shape[1:], f"{args.dataset} {args.split}")
        images = dataset.images[:args.limit]
        names = [f"{args.dataset}/{args.split}/{index}" for index in range(len(images))]
    probabilities = predict_proba(model, normalize(images))
    labels = probabilities.argmax(axis=1)
    classes = info["classes"]
    rows = [[name, classes[label], f"{row[label]:.4f}"]
            for name, label, row in zip(names, labels, probabilities, strict=True)]
    print(format_table(["image", "label", "probability"], rows))
    if args.csv is not None:
        _write_predictions_csv(args.csv, names, labels, probabilities, classes)
        print(f"predictions: {args.csv}")


def _write_predictions_csv(path: str, names: Sequence[str], labels: np.ndarray,
                           probabilities: np.ndarray, classes: Sequence[str]) -> None:
    with user_errors(OSError, context=f"cannot write {path}: "), \
            open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "label", *classes])
        for name, label, row in zip(names, labels, probabilities, strict=True):
            writer.writerow([name, classes[label], *(f"{p:.6f}" for p in row)])


def run_summary(args: argparse.Namespace) -> None:
    """``visiongrad summary``: the model's layer table."""
    from visiongrad import nn

    model = build_model(args.model, args.input_shape, args.num_classes)
    nn.summary(model, tuple(args.input_shape), file=sys.stdout)


def run_search(args: argparse.Namespace) -> None:
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
    folder = output_folder(args.out)

    def validation_accuracy(lr: float, weight_decay: float) -> float:
        trial = argparse.Namespace(**{**vars(args), "lr": lr, "weight_decay": weight_decay})
        trainer = fit_network(build_model(args.model, shape, num_classes), trial,
                              x_train, y_train, x_val, y_val, normalize)
        return max(trainer.history["val_accuracy"], default=math.nan)

    results = search(validation_accuracy,
                     {"lr": tuple(args.lr_range), "weight_decay": tuple(args.reg_range)},
                     method=args.method, trials=args.trials, stages=args.stages)
    rows = sorted(results, key=lambda r: -np.nan_to_num(r["score"], nan=-1.0))
    print(format_table(["stage", "lr", "weight decay", "val accuracy", "status"],
                       [[r["stage"] + 1, f"{r['lr']:.2e}", f"{r['weight_decay']:.2e}",
                         f"{r['score']:.4f}", r["status"]] for r in rows]))
    _write_json(folder / "search.json",  # a cut run's NaN score is JSON null
                [{**r, "score": r["score"] if math.isfinite(r["score"]) else None}
                 for r in rows])
    plots.plot_search([r["lr"] for r in rows], [r["weight_decay"] for r in rows],
                      [r["score"] for r in rows], folder / "search.png")
    print(f"results: {folder / 'search.json'}\nplot: {folder / 'search.png'}")


def _json_default(value):
    """NumPy scalars and arrays as plain JSON numbers and lists."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _write_json(path: Path, value) -> None:
    """Write ``value`` as indented JSON atomically."""
    temporary = path.with_name(f".{path.name}.tmp")
    text = json.dumps(value, indent=2, default=_json_default)
    temporary.write_text(text + "\n", encoding="utf-8")
    os.replace(temporary, path)


DEMO_DATASET = "fashion-mnist-mini"
DEMO_NETWORKS = {  # name in the report -> (models.create name, epochs of the full demo)
    "two-layer net": ("two_layer", 10),
    "convnet": ("three_layer_convnet", 6),
}
DEMO_QUICK_SIZES = (400, 100)  # train, test images of ``demo --quick``


def _fit_and_predict(label: str, fit, predict) -> tuple[object, dict, np.ndarray]:
    """Time ``model = fit()`` and ``predict(model)``; return (model, timings, predictions)."""
    print(f"{label} ...", flush=True)
    started = time.perf_counter()
    model = fit()
    trained = time.perf_counter()
    predictions = predict(model)
    timings = {"train_seconds": trained - started,
               "predict_seconds": time.perf_counter() - trained}
    print(f"{label}: trained in {timings['train_seconds']:.1f} s, test set predicted in "
          f"{timings['predict_seconds']:.1f} s", flush=True)
    return model, timings, predictions


def run_demo(args: argparse.Namespace) -> None:
    """``visiongrad demo``: four classifiers on the embedded data, a table and a report."""
    import visiongrad as vg
    from visiongrad.classic import KNearestNeighbor, Softmax
    from visiongrad.train.metrics import classification_scores

    started = time.perf_counter()
    folder = output_folder(args.out)
    vg.manual_seed(args.seed)
    train_set = load_split(DEMO_DATASET, "train", None)
    test_set = load_split(DEMO_DATASET, "test", None)
    n_train, n_test = DEMO_QUICK_SIZES if args.quick else (None, None)
    train_images, train_labels = train_set.images[:n_train], train_set.labels[:n_train]
    test_images, test_labels = test_set.images[:n_test], test_set.labels[:n_test]
    classes = list(train_set.classes)
    x_train, y_train, x_val, y_val = split_off_validation(train_images, train_labels, 0.1)
    normalize = fit_normalizer(x_train)
    x_test = normalize(test_images)
    flat_train = normalize(x_train).reshape(len(x_train), -1)
    flat_test = x_test.reshape(len(x_test), -1)
    print(f"{DEMO_DATASET}: {len(y_train)} training, {len(y_val)} validation and "
          f"{len(test_labels)} test images of shape {train_images.shape[1:]}, "
          f"{len(classes)} classes; report folder {folder}")

    results, trainers = {}, {}
    classifiers = {"kNN": ("k-nearest neighbours (k=5, L2)", KNearestNeighbor(k=5, metric="l2")),
                   "softmax": ("softmax classifier (SGD)", Softmax(learning_rate=0.1))}
    for step, (name, (label, classifier)) in enumerate(classifiers.items(), start=1):
        _, timings, predicted = _fit_and_predict(
            f"[{step}/4] {label}", lambda c=classifier: c.fit(flat_train, y_train),
            lambda fitted: fitted.predict(flat_test))
        results[name] = {**timings, "params": classifier.get_params(),
                         **classification_scores(test_labels, predictions=predicted,
                                                num_classes=len(classes))}
    for step, (name, (model_name, epochs)) in enumerate(DEMO_NETWORKS.items(), start=3):
        options = argparse.Namespace(model=model_name, optimizer="adam", lr=1e-3,
                                     weight_decay=1e-4, schedule="cosine", augment=False,
                                     batch_size=64, epochs=1 if args.quick else epochs)
        info = network_info(options, train_images, classes, normalize)
        model = build_model(model_name, train_images.shape[1:], len(classes))
        trainers[name], timings, predicted = _fit_and_predict(
            f"[{step}/4] {name} ({model_name}, {options.epochs} epochs, Adam)",
            lambda m=model, o=options, i=info: fit_network(m, o, x_train, y_train, x_val,
                                                          y_val, normalize, i),
            lambda trainer: trainer.predict_proba(x_test).argmax(axis=1))
        results[name] = {**timings, "params": info["options"],
                         **classification_scores(test_labels, predictions=predicted,
                                                num_classes=len(classes)),
                         "history": trainers[name].history}

    print()
    print(format_table(["model", "test accuracy", "train time (s)", "predict time (s)"],
                       [[name, f"{r['accuracy']:.4f}", f"{r['train_seconds']:.1f}",
                         f"{r['predict_seconds']:.1f}"] for name, r in results.items()]))
    summary = _write_demo_report(folder, results, trainers, classes)
    summary.update({"dataset": DEMO_DATASET, "quick": args.quick, "seed": args.seed,
                    "sizes": {"train": len(y_train), "validation": len(y_val),
                              "test": len(test_labels)},
                    "classes": classes, "models": results,
                    "wall_seconds": time.perf_counter() - started,
                    "visiongrad_version": vg.__version__})
    _write_json(folder / "metrics.json", summary)
    print(f"\nbest: {summary['best_model']}; report in {folder}/ (metrics.json, plots, "
          f"checkpoint), {summary['wall_seconds']:.0f} s in all")
    print(f"try: {PROG} evaluate {summary['checkpoint']}")


def _write_demo_report(folder: Path, results: dict, trainers: dict, classes: list) -> dict:
    """The demo's plots and best-network checkpoint; return what metrics.json adds."""
    from visiongrad import nn
    from visiongrad.train import plots

    for name, trainer in trainers.items():
        stem = name.replace(" ", "_").replace("-", "_")
        plots.plot_loss(trainer.history, folder / f"loss_{stem}.png")
        plots.plot_accuracy(trainer.history, folder / f"accuracy_{stem}.png")
    best = max(results, key=lambda name: results[name]["accuracy"])
    plots.plot_confusion_matrix(np.array(results[best]["confusion"]), classes,
                                folder / "confusion_matrix.png",
                                title=f"Confusion matrix of the best model, {best} (test set)")
    first_conv = next(module for module in trainers["convnet"].model.modules()
                      if isinstance(module, nn.Conv2d))
    plots.plot_filters(first_conv.weight.data, folder / "convnet_filters.png",
                       title="Convnet: first-layer filters")
    best_network = max(trainers, key=lambda name: results[name]["accuracy"])
    checkpoint = trainers[best_network].save_checkpoint(folder / CHECKPOINT_NAME)
    return {"best_model": best, "best_network": best_network, "checkpoint": checkpoint}


# ----------------------------------------------------------------------------- parsing


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default="fashion-mnist-mini",
                        help="dataset name (default: %(default)s, embedded in the package)")
    parser.add_argument("--data-dir", default=None,
                        help="folder holding the dataset's files (default: the standard place)")


def _add_training_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None, metavar="FILE.json",
                        help="JSON file whose keys are this command's options "
                             "(command-line options win)")
    parser.add_argument("--model", default="three_layer_convnet", help="model name")
    _add_data_options(parser)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--optimizer", default="adam", help="sgd, momentum, nesterov, "
                        "adagrad, rmsprop or adam (default: %(default)s)")
    parser.add_argument("--lr", type=float, default=1e-3, help="learning rate")
    parser.add_argument("--schedule", default="none",
                        help="learning-rate schedule: none, step, exponential, cosine")
    parser.add_argument("--weight-decay", type=float, default=0.0,
                        help="L2 regularisation strength")
    parser.add_argument("--augment", action="store_true",
                        help="random horizontal flips and crops while training")
    parser.add_argument("--val-fraction", type=float, default=0.1,
                        help="fraction of the training split held out for validation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="output folder")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand (each sets ``args.run``)."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Deep learning for visual recognition, from scratch in NumPy.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train a model and save its checkpoint")
    _add_training_options(train)
    train.set_defaults(run=run_train, out="visiongrad-run")

    evaluate = commands.add_parser("evaluate", help="accuracy of a checkpoint on a split")
    evaluate.add_argument("checkpoint")
    evaluate.add_argument("--model", default=None,
                          help="architecture to load the weights into (default: the "
                               "checkpoint's own)")
    _add_data_options(evaluate)
    evaluate.add_argument("--split", default="test")
    evaluate.add_argument("--out", default=None,
                          help="folder for the confusion-matrix plot (default: none)")
    evaluate.set_defaults(run=run_evaluate)

    predict = commands.add_parser("predict", help="labels and probabilities for images")
    predict.add_argument("checkpoint")
    predict.add_argument("--model", default=None,
                         help="architecture to load the weights into (default: the "
                              "checkpoint's own)")
    predict.add_argument("images", nargs="*", help="PNG or JPEG files")
    predict.add_argument("--dataset", default=None,
                         help="predict a dataset split instead of image files")
    predict.add_argument("--data-dir", default=None)
    predict.add_argument("--split", default="test")
    predict.add_argument("--limit", type=int, default=None,
                         help="only the first N images of the split")
    predict.add_argument("--csv", default=None, help="also write the predictions to this file")
    predict.set_defaults(run=run_predict)

    search = commands.add_parser("search", help="random or grid hyperparameter search")
    _add_training_options(search)
    search.add_argument("--method", choices=["random", "grid"], default="random")
    search.add_argument("--trials", type=int, default=8, help="trials per stage")
    search.add_argument("--stages", type=int, default=2, help="coarse-to-fine stages")
    search.add_argument("--lr-range", type=float, nargs=2, default=[1e-4, 1e-1],
                        metavar=("LOW", "HIGH"))
    search.add_argument("--reg-range", type=float, nargs=2, default=[1e-6, 1e-2],
                        metavar=("LOW", "HIGH"))
    search.set_defaults(run=run_search, out="visiongrad-search", epochs=1)

    summary = commands.add_parser("summary", help="layer table: shapes, parameters, FLOPs")
    summary.add_argument("model")
    summary.add_argument("--input-shape", type=int, nargs=3, default=[1, 28, 28],
                         metavar=("C", "H", "W"))
    summary.add_argument("--num-classes", type=int, default=10)
    summary.set_defaults(run=run_summary)

    demo = commands.add_parser(
        "demo", help="kNN, softmax, two-layer net and convnet on the embedded data")
    demo.add_argument("--out", default="visiongrad-demo", help="report folder")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--quick", action="store_true",
                      help="a tiny slice and one epoch: checks the pipeline in seconds")
    demo.set_defaults(run=run_demo)
    return parser


_INTERNAL_KEYS = {"command", "run", "config"}


def _apply_config(parser: argparse.ArgumentParser, argv: list[str],
                  args: argparse.Namespace) -> argparse.Namespace:
    """Re-parse with the options of ``args.config`` placed before the command line's own.

    Each key becomes its option (``"batch_size": 32`` -> ``--batch-size 32``), so argparse
    checks types and choices as for typed options, and an option given on the command
    line, coming later, wins.
    """
    if getattr(args, "config", None) is None:
        return args
    config = _read_config(args.config)
    known = set(vars(args)) - _INTERNAL_KEYS
    tokens = []
    for key, value in config.items():
        dest = key.replace("-", "_")
        if dest not in known:
            raise CommandError(f"unknown key {key!r} in config {args.config} "
                               f"(known keys: {', '.join(sorted(known))})")
        option = "--" + dest.replace("_", "-")
        if isinstance(value, bool):
            tokens += [option] if value else []
        elif isinstance(value, list):
            tokens += [option, *map(str, value)]
        elif value is not None:
            tokens += [option, str(value)]
    position = argv.index(args.command) + 1
    return parser.parse_args(argv[:position] + tokens + argv[position:])


def _read_config(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except FileNotFoundError:
        raise CommandError(f"config file not found: {path}") from None
    except json.JSONDecodeError as error:
        raise CommandError(f"config {path} is not valid JSON: {error}") from None
    if not isinstance(config, dict):
        raise CommandError(f"config {path} must hold a JSON object, got {type(config).__name__}")
    return config


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``visiongrad`` command; return its exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 1 for a user error (one line on stderr), 130 when interrupted.
        Usage errors raise ``SystemExit(2)`` from argparse.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args = _apply_config(parser, argv, args)
        args.run(args)
    except CommandError as error:
        print(f"{PROG}: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    return 0
