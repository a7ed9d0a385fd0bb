"""Where a visiongrad step's time goes: each op's forward and backward, the optimizer, and
the engine around them.

    python -m benchmarks.profile_step [--model resnet] [--steps 20] [--warmup 3] [--by-shape]

Runs one of the ``train_step`` networks (same weights, batches and step as there: forward,
cross-entropy, backward and SGD-momentum on batch 128; inference on batch 256) with the
forward and backward of every ``Function`` timed. An op's time is exclusive: an op run
inside another op is counted once, for itself. "engine" is the rest of the step: calling
the modules, recording and ordering the graph, adding up the gradients of a tensor used
twice (a residual block's input), Python itself.
Prints medians over the steps (so the rows need not add up exactly to the step's median)
and writes ``benchmarks/results/profile_<model>.json``. ``--by-shape`` splits the
convolutions' rows by geometry ("Conv2d backward 64->128 3x3/2 16x16": channels, kernel,
stride, input size), summed over the layers that share it.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections import defaultdict
from pathlib import Path

import numpy as np  # noqa: F401  (NumPy before visiongrad, as users import them)

import visiongrad as vg
from visiongrad.autograd import Function

from .saving import add_write_option, destination, save_json
from .train_step import SHAPES, batches, build_pair

RESULTS = Path(__file__).parent / "results"
ENGINE = "engine (modules, graph, Python)"
STEP = "whole step"


class OpClock:
    """Exclusive wall time per op class and pass ("Conv2d backward"), summed since
    ``seconds`` was last cleared; with ``by_shape``, convolutions per geometry."""

    def __init__(self, by_shape: bool = False):
        self.seconds = defaultdict(float)
        self.by_shape = by_shape
        self._inner = []  # time spent in ops nested in each running op, innermost last

    def label(self, node, phase: str, args) -> str:
        label = f"{type(node).__name__} {phase}"
        if not (self.by_shape and type(node).__name__ == "Conv2d"):
            return label
        x, weight = (args[0], args[1]) if phase == "forward" else (node.x, node.weight)
        stride = node.geometry[0][0] if hasattr(node, "geometry") else "?"
        f, c, kh, kw = weight.shape
        return f"{label} {c}->{f} {kh}x{kw}/{stride} {x.shape[2]}x{x.shape[3]}"

    def timed(self, method, phase: str):
        def run(node, *args, **kwargs):
            self._inner.append(0.0)
            start = time.perf_counter()
            try:
                return method(node, *args, **kwargs)
            finally:
                spent = time.perf_counter() - start
                self.seconds[self.label(node, phase, args)] += spent - self._inner.pop()
                if self._inner:
                    self._inner[-1] += spent
        return run


def all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from all_subclasses(sub)


@contextlib.contextmanager
def clocked_ops(clock: OpClock):
    """Every Function subclass's own forward and backward timed by ``clock`` inside."""
    patched = [(cls, name, cls.__dict__[name]) for cls in all_subclasses(Function)
               for name in ("forward", "backward") if name in cls.__dict__]
    try:
        for cls, name, method in patched:
            setattr(cls, name, clock.timed(method, name))
        yield clock
    finally:
        for cls, name, method in patched:
            setattr(cls, name, method)


def profile(name: str, model, steps: int, warmup: int, by_shape: bool = False) -> dict:
    """For training and inference: the median ms per step of each op's forward and
    backward, the optimizer, the engine (the rest) and the whole step."""
    optimizer = vg.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    clock = OpClock(by_shape)
    train_x, train_y = (vg.tensor(a) for a in batches(name, "train"))
    infer_x = vg.tensor(batches(name, "infer")[0])

    def train():
        model.train()
        optimizer.zero_grad()
        vg.functional.cross_entropy(model(train_x), train_y).backward()
        start = time.perf_counter()
        optimizer.step()
        return {"optimizer step": time.perf_counter() - start}

    def infer():
        model.eval()
        with vg.no_grad():
            model(infer_x)
        return {}

    report = {}
    with clocked_ops(clock):
        for phase, step in (("train", train), ("infer", infer)):
            rows = defaultdict(list)
            for index in range(warmup + steps):
                clock.seconds.clear()
                start = time.perf_counter()
                extra = step()
                total = time.perf_counter() - start
                if index < warmup:
                    continue
                parts = {**clock.seconds, **extra}
                for key, seconds in parts.items():
                    rows[key].append(seconds)
                rows[ENGINE].append(total - sum(parts.values()))
                rows[STEP].append(total)
            report[phase] = {label: 1e3 * statistics.median(seconds)
                             for label, seconds in rows.items()}
    return report


def print_report(model_name: str, report: dict) -> None:
    for phase, rows in report.items():
        total = rows[STEP]
        print(f"\n{model_name} {phase}: median step {total:.1f} ms")
        for label, ms in sorted(rows.items(), key=lambda item: -item[1]):
            if label != STEP and ms >= 0.05:
                print(f"  {label:36} {ms:8.2f} ms {100 * ms / total:5.1f}%")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="resnet", choices=sorted(SHAPES))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--by-shape", action="store_true",
                        help="convolutions' rows per geometry (written to profile_<model>"
                             "_by_shape.json)")
    add_write_option(parser, "benchmarks/results/profile_<model>.json")
    args = parser.parse_args(argv)
    _, model = build_pair(args.model)
    report = profile(args.model, model, args.steps, args.warmup, args.by_shape)
    print_report(args.model, report)
    path = RESULTS / f"profile_{args.model}{'_by_shape' if args.by_shape else ''}.json"
    save_json(destination(args, path), {"model": args.model, "steps": args.steps, **report},
              indent=2, show=args.write)


if __name__ == "__main__":
    main()
