"""Distillation: a small student trained on a teacher's softened outputs against the same
student trained on labels alone, over seeds (Hinton et al., 2015).

    OPENBLAS_NUM_THREADS=1 python -m benchmarks.distill [--dataset fashion-mnist]
        [--teacher vgg_small] [--teacher-epochs 5] [--epochs 15] [--student-hidden 50]
        [--temperature 4 [T ...]] [--alpha 0.9 0.5 [A ...]] [--seeds 0 1 2 3 4]
        [--subset N] [--cache DIR] [--write | --out FILE]

The teacher is a zoo model trained on the labels (Adam, ``--teacher-epochs``, seed 0, as
``benchmarks.compress`` trains its baselines); the student a one-hidden-layer net of
``--student-hidden`` units (39,760 parameters at 50). Each seed draws the student's initial
weights once and trains a copy of them in every arm: on cross-entropy with the labels
alone, and with ``DistillationLoss(T, alpha)`` for every pair of ``--temperature`` and
``--alpha``; every arm of a seed sees the same batches in the same order (the recipe draws
them from the seed alone). The summary per setting is the mean and sample standard
deviation over seeds of each arm and of the per-seed difference, and the number of seeds
the distilled student wins. ``--subset N`` trains the students on the first N training
images. ``--cache DIR`` keeps the trained teacher (the file ``benchmarks.compress`` would
keep) and its logits on the training images and test accuracy, so a second run trains
no teacher and runs no teacher forward pass. ``--write`` stores
``benchmarks/results/distill.json`` (``--out FILE``: that file instead), with the load
average before and after, as one of its experiments: a rerun with the same teacher,
student and training replaces its entry, another adds one.

History. With the Caffe LeNet-5 teacher (431,080 parameters, 0.898 after 4 epochs, two
points above the student) and T = 2, alpha = 0.5, five seeds gave a gain of +0.0009 ±
0.0044 (ahead on 4 of 5): within the seeds' spread. alpha = 0.9 at T = 4 and 8 lost to
the labels alone, and so did (seeds 0 and 1) cosine-annealed lr, ``--subset 10000`` and a
784-19-10 student of the modern LeNet-5: a teacher barely better than the student has
little to teach. Hence the course's SmallVGG (``vgg_small``) as the teacher: test accuracy
0.8832, 0.9171, 0.9135, 0.9228, 0.9220 after epochs 1-5 (seed 0, Adam 1e-3, batch 128; 5
kept, the last), 4.5 points above the 50-unit student on the labels alone.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
from pathlib import Path

import numpy as np

import visiongrad as vg
from visiongrad import models
from visiongrad.recipes import distill
from visiongrad.train.predict import evaluate, predict_logits

from .compress import baseline, load
from .saving import RESULTS, add_write_option, destination, save_json


def teacher_outputs(args, train, test, info) -> dict:
    """The trained teacher's logits on the training images, test accuracy and size (from
    ``--cache`` when there)."""
    cached = (Path(args.cache) / f"{args.dataset}-{args.teacher}-{args.teacher_epochs}-0-"
              f"logits.npz") if args.cache else None
    if cached is not None and cached.is_file():
        stored = np.load(cached)
        return {"logits": stored["logits"], "accuracy": float(stored["accuracy"]),
                "parameters": int(stored["parameters"])}
    teacher_args = argparse.Namespace(seed=0, epochs=args.teacher_epochs, lr=1e-3,
                                      batch_size=128, cache=args.cache)
    teacher = baseline(args.teacher, args.dataset, train, info, teacher_args)
    teacher.eval()
    outputs = {"logits": predict_logits(teacher, train[0]),
               "accuracy": float(evaluate(teacher, *test)["accuracy"]),
               "parameters": sum(p.data.size for p in teacher.parameters())}
    if cached is not None:
        np.savez(cached, **outputs)
    return outputs


def student_accuracy(arm: dict, temperature: float, alpha: float) -> float:
    """Test accuracy of a copy of ``arm["initial"]`` trained with ``(T, alpha)``
    (``alpha=0``: the labels alone)."""
    config = distill.Config(temperature=temperature, alpha=alpha, epochs=arm["epochs"],
                            seed=arm["seed"])
    student = distill.train_student(config, copy.deepcopy(arm["initial"]), arm["train"],
                                    arm["logits"])
    return float(evaluate(student, *arm["test"])["accuracy"])


def summary(runs: list[dict]) -> dict:
    """Mean and sample std over seeds of each arm and of the gain; the distilled wins."""
    keys = ("distilled", "labels_only", "gain")
    return {"means": {key: statistics.mean(run[key] for run in runs) for key in keys},
            "stds": {key: statistics.stdev(run[key] for run in runs) if len(runs) > 1
                     else 0.0 for key in keys},
            "wins": sum(run["distilled"] > run["labels_only"] for run in runs)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--teacher", default="vgg_small")
    parser.add_argument("--teacher-epochs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--student-hidden", type=int, default=50)
    parser.add_argument("--temperature", type=float, nargs="+", default=[4.0])
    parser.add_argument("--alpha", type=float, nargs="+", default=[0.9, 0.5])
    parser.add_argument("--subset", type=int, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--cache", default=None, help="folder keeping the trained teacher")
    add_write_option(parser, "benchmarks/results/distill.json")
    parser.add_argument("--out", default=None, help="write the results to this file")
    args = parser.parse_args(argv)
    load_before = [round(value, 2) for value in os.getloadavg()]

    train, test, info = load(args.dataset, args.data_dir)
    teacher = teacher_outputs(args, train, test, info)
    count = len(train[1]) if args.subset is None else args.subset
    subset, logits = (train[0][:count], train[1][:count]), teacher["logits"][:count]
    settings = [(temperature, alpha) for temperature in args.temperature
                for alpha in args.alpha]
    runs: dict = {setting: [] for setting in settings}
    for seed in args.seeds:
        vg.manual_seed(seed)
        initial = models.create("fc", hidden_dims=[args.student_hidden],
                                input_shape=tuple(info["input_shape"]),
                                num_classes=len(info["classes"]))
        arm = {"initial": initial, "train": subset, "logits": logits, "test": test,
               "epochs": args.epochs, "seed": seed}
        labels_only = student_accuracy(arm, 1.0, 0.0)
        print(f"seed {seed}: labels only {labels_only:.4f}", flush=True)
        for temperature, alpha in settings:
            distilled = student_accuracy(arm, temperature, alpha)
            runs[temperature, alpha].append({
                "seed": seed, "labels_only": labels_only, "distilled": distilled,
                "gain": distilled - labels_only})
            print(f"seed {seed}: T {temperature:g}, alpha {alpha:g}: distilled "
                  f"{distilled:.4f} ({distilled - labels_only:+.4f})", flush=True)
    student_parameters = sum(p.data.size for p in initial.parameters())
    print(f"teacher {args.teacher} ({args.teacher_epochs} epochs): {teacher['accuracy']:.4f},"
          f" {teacher['parameters']:,} parameters; student {student_parameters:,}")
    results = {"machine": platform.platform(), "numpy": np.__version__,
               "load_average": {"start": load_before,
                                "end": [round(value, 2) for value in os.getloadavg()]},
               "command": vars(args),
               "teacher": {"model": args.teacher, "epochs": args.teacher_epochs,
                           "accuracy": teacher["accuracy"],
                           "parameters": teacher["parameters"]},
               "student_parameters": student_parameters, "settings": []}
    for (temperature, alpha), setting_runs in runs.items():
        result = summary(setting_runs)
        means, stds = result["means"], result["stds"]
        print(f"T {temperature:g}, alpha {alpha:g} over {len(setting_runs)} seeds: distilled "
              f"{means['distilled']:.4f} +- {stds['distilled']:.4f}, labels only "
              f"{means['labels_only']:.4f} +- {stds['labels_only']:.4f}, gain "
              f"{means['gain']:+.4f} +- {stds['gain']:.4f}; distillation better in "
              f"{result['wins']} of {len(setting_runs)}")
        results["settings"].append({"temperature": temperature, "alpha": alpha,
                                    "runs": setting_runs, **result})
    path = destination(args, RESULTS / "distill.json")
    save_json(path, {"experiments": kept_experiments(path, results) + [results]})
    return results


def kept_experiments(path: Path | None, results: dict) -> list[dict]:
    """The experiments already in ``path`` but with another teacher, student or training
    (one entry per experiment: a rerun replaces its own)."""
    if path is None or not path.is_file():
        return []

    def experiment(entry: dict) -> tuple:
        command = entry["command"]
        return tuple(command[key] for key in ("dataset", "teacher", "teacher_epochs",
                                              "student_hidden", "epochs", "subset"))
    return [entry for entry in json.loads(path.read_text())["experiments"]
            if experiment(entry) != experiment(results)]


if __name__ == "__main__":
    main()
