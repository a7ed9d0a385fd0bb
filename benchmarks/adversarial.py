"""Acceptance measurements of ``visiongrad.adversarial`` (issue 32).

    python -m benchmarks.adversarial speed [--write]
    python -m benchmarks.adversarial table --runs RUN [RUN ...] [--images 500] [--keep RUN]
                                     [--write]

``speed``: the time of one L-inf PGD step (forward, backward, sign step, projection) on a
batch of 256 Fashion-MNIST test images, visiongrad beside torchattacks on the same network
(the first run's weights, or a fresh three-layer convnet, copied into PyTorch with the same
state_dict keys, standardisation in front), in the same process: the median over
``--repeats`` attacks of ``--steps`` steps each, divided by the steps; on all the cores
the process may use (PyTorch's default threads), then again pinned to one core with one
thread each, where a loaded machine cannot stall one thread of a parallel region.

``table``: for each run of ``visiongrad train`` (a standard and an FGSM-RS three-layer
convnet, and Madry et al.'s network trained with PGD, by the commands in ``TRAIN``;
``validation`` holds each run's per-epoch clean and robust validation accuracy and
the epoch its checkpoint holds, from its metrics.json), accuracy on the first ``--images``
test images clean and under FGSM, PGD-40, PGD-40 with 10 restarts, C&W (L2 change up to
``--cw-eps``, else counted as failed), Square (score queries only) and a transfer attack
(PGD-40 crafted on the ``--surrogate`` run, or on the first other run for that run
itself), all at eps 0.1 in pixels in [0, 1].

Prints everything and the load average (the machine is shared); with ``--write`` also
writes benchmarks/results/adversarial_speed.json or adversarial_table.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from functools import partial
from pathlib import Path

import numpy as np

from visiongrad import adversarial as adv
from visiongrad.data import load_dataset
from visiongrad.recipes.adversarial import load_classifier

RESULTS = Path(__file__).parent / "results"
DATA = "/usr/share/datasets/fashion-mnist"
TRAIN = {
    "standard": "visiongrad train --dataset fashion-mnist --model three_layer_convnet "
                "--epochs 2 --out standard",
    "fgsm-rs": "visiongrad train --dataset fashion-mnist --model three_layer_convnet "
               "--epochs 2 --adversarial fgsm --eps 0.1 --out fgsm-rs",
    "pgd": "visiongrad train --dataset fashion-mnist --model madry_convnet --epochs 24 "
           "--batch-size 128 --schedule cosine --adversarial pgd --eps 0.1 --steps 7 "
           "--out pgd  # the checkpoint holds the most robust validation epoch",
}
EPS = 0.1


def test_images(count: int):
    data = load_dataset("fashion-mnist", split="test", data_dir=DATA)
    return ((data.images[:count] / np.float32(255)).astype(np.float32),
            data.labels[:count].astype(np.int64))


def torch_twin(classifier):
    """The classifier (``OnPixels`` over a three-layer convnet) in PyTorch: the same
    standardisation and weights, the same state_dict keys."""
    import torch

    network = classifier.model
    conv, hidden, out = network[0], network[4], network[6]
    twin = torch.nn.Sequential(
        torch.nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size,
                        padding=conv.padding), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(hidden.in_features, hidden.out_features),
        torch.nn.ReLU(), torch.nn.Linear(out.in_features, out.out_features))
    twin.load_state_dict({name: torch.from_numpy(np.array(value.data))
                          for name, value in network.state_dict().items()})
    mean, std = (torch.from_numpy(a) for a in (classifier.mean, classifier.std))

    class Standardised(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.network = twin

        def forward(self, x):
            return self.network((x - mean) / std)

    return Standardised().eval()


def speed(args) -> dict:
    import torch
    import torchattacks

    classifier = (load_classifier(args.runs[0])[0] if args.runs else _fresh_convnet())
    x, y = test_images(args.batch)
    twin = torch_twin(classifier)
    attack = torchattacks.PGD(twin, eps=EPS, alpha=0.01, steps=args.steps, random_start=False)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    calls = {"visiongrad": lambda: adv.pgd(classifier, x, y, EPS, 0.01, args.steps),
             "torchattacks": lambda: attack(tx, ty)}
    result = {"batch": args.batch, "steps_per_attack": args.steps, "repeats": args.repeats,
              **_timed(calls, args), "torch_threads": torch.get_num_threads()}
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) > 1:  # again on one core, one thread each: no thread waits on a busy core
        os.sched_setaffinity(0, cores[:1])
        torch.set_num_threads(1)
        try:
            result["one_core"] = _timed(calls, args)
        finally:
            os.sched_setaffinity(0, cores)
            torch.set_num_threads(result["torch_threads"])
    return {**result, **_machine()}


def _timed(calls: dict, args) -> dict:
    """Median seconds per step of each call's attack over ``args.repeats`` interleaved
    turns (so both see the same load), and their ratio."""
    timings: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(args.repeats):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            timings[name].append((time.perf_counter() - started) / args.steps)
    ours, theirs = (float(np.median(timings[k])) for k in ("visiongrad", "torchattacks"))
    print(f"PGD step on {args.batch} images, {len(os.sched_getaffinity(0))} core(s): "
          f"visiongrad {1000 * ours:.1f} ms, torchattacks {1000 * theirs:.1f} ms (median of "
          f"{args.repeats}); ratio {ours / theirs:.2f}x; load average {os.getloadavg()}",
          flush=True)
    return {"visiongrad_step_s": ours, "torchattacks_step_s": theirs, "ratio": ours / theirs,
            "all_timings": timings}


def _fresh_convnet():
    from visiongrad import models

    network = models.create("three_layer_convnet", input_shape=(1, 28, 28), num_classes=10)
    return adv.OnPixels(network.eval(), [0.286], [0.353]).eval()


def table(args) -> dict:
    x, y = test_images(args.images)
    classifiers = {Path(run).name: load_classifier(run)[0] for run in args.runs}
    names = list(classifiers)
    pgd40 = partial(adv.pgd, eps=EPS, alpha=2.5 * EPS / 40, steps=40)
    attacks = {
        "FGSM": partial(adv.fgsm, eps=EPS),
        "PGD-40": pgd40,
        "PGD-40 x10 restarts": partial(adv.pgd, eps=EPS, alpha=2.5 * EPS / 40, steps=40,
                                       random_start=True, restarts=10, seed=0),
        f"C&W (L2 <= {args.cw_eps:g})": adv.within_budget(
            partial(adv.carlini_wagner_l2, steps=args.cw_steps, lr=0.05), args.cw_eps),
        f"Square ({args.queries} queries)": partial(adv.square_attack, eps=EPS,
                                                    queries=args.queries, seed=0),
    }
    rows = {}
    for name in (name for name in names if name not in args.keep):
        model = classifiers[name]
        others = [other for other in names if other != name]
        surrogate = args.surrogate if args.surrogate in others else (others or [name])[0]
        row = {"clean": adv.robust_accuracy(model, (x, y), None)}
        for attack_name, attack in attacks.items():
            started = time.perf_counter()
            row[attack_name] = adv.robust_accuracy(model, (x, y), attack)
            print(f"{name}: {attack_name} {row[attack_name]:.4f} "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
        if surrogate != name:
            row[f"transfer (PGD-40 on {surrogate})"] = adv.robust_accuracy(
                model, (x, y), adv.transfer_attack(classifiers[surrogate], pgd40))
        rows[name] = row
        print(f"{name}: " + ", ".join(f"{k} {v:.4f}" for k, v in row.items()), flush=True)
    kept = _kept_rows(args.keep, len(y))
    validation = {Path(run).name: _validation(Path(run)) for run in args.runs}
    return {"images": len(y), "eps": EPS, "rows": {**kept, **rows}, "kept": sorted(kept),
            "train": TRAIN, "validation": validation, **_machine()}


def _validation(run: Path) -> dict | None:
    """A run's per-epoch validation accuracy (clean, and robust for an adversarial run) and
    the epoch its checkpoint holds, from its metrics.json (None without one)."""
    path = run / "metrics.json"
    if not path.is_file():
        return None
    metrics = json.loads(path.read_text(encoding="utf-8"))
    history = metrics["history"]
    return {"best_epoch": metrics["best_epoch"], "epochs": metrics["epochs"],
            "val_accuracy": history["val_accuracy"],
            "val_robust_accuracy": history.get("val_robust_accuracy")}


def _kept_rows(names: list[str], images: int) -> dict:
    """The rows of ``names`` from the table written before (same images and eps): runs
    that did not change are not attacked again."""
    if not names:
        return {}
    before = json.loads((RESULTS / "adversarial_table.json").read_text(encoding="utf-8"))
    if (before["images"], before["eps"]) != (images, EPS) or not set(names) <= set(
            before["rows"]):
        raise SystemExit(f"--keep {' '.join(names)}: the table written before has no such "
                         f"rows on {images} images at eps {EPS}")
    return {name: before["rows"][name] for name in names}


def _machine() -> dict:
    return {"load_average": os.getloadavg(), "cpu_count": os.cpu_count(),
            "python": platform.python_version(), "numpy": np.__version__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("speed", "table"))
    parser.add_argument("--runs", nargs="*", default=[])
    parser.add_argument("--surrogate", default="standard",
                        help="the run (folder name) the transfer attack crafts on")
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--cw-eps", type=float, default=1.5)
    parser.add_argument("--cw-steps", type=int, default=50)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--keep", nargs="*", default=[],
                        help="table: rows (run folder names) kept from the table written "
                             "before instead of measured again (runs in --runs too serve "
                             "as transfer surrogates)")
    parser.add_argument("--write", action="store_true", help="write the results JSON")
    args = parser.parse_args()
    if args.what == "table" and not args.runs:
        parser.error("table needs --runs")
    result = speed(args) if args.what == "speed" else table(args)
    print(f"load average {os.getloadavg()}")
    if args.write:
        path = RESULTS / f"adversarial_{args.what}.json"
        path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
