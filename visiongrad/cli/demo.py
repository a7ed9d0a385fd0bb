"""``visiongrad demo``: kNN, softmax, two-layer net and convnet on the embedded data."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from visiongrad.recipes.classify import Config
from visiongrad.recipes.errors import counted

from .errors import PROG
from .network import (
    CHECKPOINT_NAME,
    build_model,
    fit_network,
    fit_normalizer,
    load_split,
    network_info,
    split_off_validation,
)
from .options import output_path, seed
from .output import format_table, output_folder, write_json
from .report import write_run_report

DEMO_DATASET = "fashion-mnist-mini"


DEMO_NETWORKS = {  # name in the report -> (models.create name, epochs of the full demo)
    "two-layer net": ("two_layer", 10),
    "convnet": ("three_layer_convnet", 6),
}


DEMO_QUICK_SIZES = (400, 100)  # train, test images of ``demo --quick``


def register(commands) -> None:
    parser = commands.add_parser(
        "demo", help="kNN, softmax, two-layer net and convnet on the embedded data")
    parser.add_argument("--out", type=output_path, default="visiongrad-demo", help="report folder")
    parser.add_argument("--seed", type=seed, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="a tiny slice and one epoch: checks the pipeline in seconds")
    parser.set_defaults(run=run)


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


def run(args: argparse.Namespace) -> None:
    """``visiongrad demo``: four classifiers on the embedded data, a table and a report."""
    import visiongrad as vg
    from visiongrad.classic import KNearestNeighbor, Softmax
    from visiongrad.train.metrics import classification_scores

    started = time.perf_counter()
    folder = output_folder(args.out, fresh=True)  # never into an earlier demo
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
        options = {"model": model_name, "dataset": DEMO_DATASET, "optimizer": "adam",
                   "lr": 1e-3, "weight_decay": 1e-4, "schedule": "cosine", "augment": False,
                   "batch_size": 64, "epochs": 1 if args.quick else epochs}
        info = network_info(options, train_images, classes, normalize,
                            commands=[args.command_line])
        model = build_model(model_name, train_images.shape[1:], len(classes))
        config = Config.from_options(options)
        trainers[name], timings, predicted = _fit_and_predict(
            f"[{step}/4] {name} ({model_name}, {counted(config.epochs, 'epoch')}, Adam)",
            lambda m=model, c=config, i=info: fit_network(m, c, x_train, y_train, x_val,
                                                         y_val, normalize, i),
            lambda trainer: trainer.predict_proba(x_test).argmax(axis=1))
        results[name] = {**timings, "params": info["options"],
                         **classification_scores(test_labels, predictions=predicted,
                                                num_classes=len(classes)),
                         "history": trainers[name].history}

    header = ["model", "test accuracy", "train time (s)", "predict time (s)"]
    rows = [[name, f"{r['accuracy']:.4f}", f"{r['train_seconds']:.1f}",
             f"{r['predict_seconds']:.1f}"] for name, r in results.items()]
    print()
    print(format_table(header, rows))
    summary = _write_demo_report(folder, results, trainers, classes)
    summary.update({"dataset": DEMO_DATASET, "quick": args.quick, "seed": args.seed,
                    "sizes": {"train": len(y_train), "validation": len(y_val),
                              "test": len(test_labels)},
                    "classes": classes, "models": results,
                    "wall_seconds": time.perf_counter() - started,
                    "visiongrad_version": vg.__version__})
    write_json(folder / "metrics.json", summary)
    best, network = summary["best_model"], summary["best_network"]
    report = write_run_report(
        folder, limit=n_test, tables=[("All four on the test set",
                                                             header, rows)],
        title=f"visiongrad demo: {network}, the best network (saved), on {DEMO_DATASET}")
    saved = (f"saved as {CHECKPOINT_NAME}" if best == network else
             f"a classic model, not saved; the checkpoint holds the best network, {network}")
    print(f"\nbest: {best} ({saved}); report in {folder}/ (metrics.json, plots, "
          f"checkpoint), {summary['wall_seconds']:.0f} s in all\nreport: {report}")
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
