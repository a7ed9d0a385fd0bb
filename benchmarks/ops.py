"""Single ops side by side with PyTorch CPU, in one process.

    python -m benchmarks.ops [--repeats N] [--warmup N] [--only TEXT]

For each op at the shapes of the course's networks (the three-layer convnet on 1x28x28
and VGG-style 3x3 convolutions on 32x32 inputs), times the forward pass alone (no graph,
as in inference) and forward + backward (as in a training step), visiongrad and PyTorch
alternating call by call so that drifting load on a shared machine hits both. Prints
medians and the ratio visiongrad / PyTorch and writes ``benchmarks/results/ops.json``.
Both use float32 and 2 threads.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

import visiongrad as vg
from visiongrad import functional as F

RESULTS = Path(__file__).parent / "results"


def conv_case(x_shape, filters, kernel, padding, input_grad):
    """(visiongrad, torch) callables for conv2d forward and forward + backward."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape, dtype=np.float32)
    w = rng.standard_normal((filters, x_shape[1], kernel, kernel), dtype=np.float32) * 0.1
    b = np.zeros(filters, dtype=np.float32)
    return (lambda vx, vw, vb: F.conv2d(vx, vw, vb, padding=padding),
            lambda tx, tw, tb: torch_functional().conv2d(tx, tw, tb, padding=padding),
            [x, w, b], [input_grad, True, True])


def pool_case(x_shape, kernel):
    x = np.random.default_rng(0).standard_normal(x_shape, dtype=np.float32)
    return (lambda vx: F.max_pool2d(vx, kernel),
            lambda tx: torch_functional().max_pool2d(tx, kernel),
            [x], [True])


CASES = {
    "conv2d 128x1x28x28 -> 32, 5x5 pad 2 (convnet)": lambda: conv_case(
        (128, 1, 28, 28), 32, 5, 2, input_grad=False),
    "conv2d 128x32x32x32 -> 32, 3x3 pad 1 (VGG)": lambda: conv_case(
        (128, 32, 32, 32), 32, 3, 1, input_grad=True),
    "conv2d 128x64x16x16 -> 64, 3x3 pad 1 (VGG)": lambda: conv_case(
        (128, 64, 16, 16), 64, 3, 1, input_grad=True),
    "max_pool2d 128x32x28x28, 2x2 (convnet)": lambda: pool_case((128, 32, 28, 28), 2),
    "max_pool2d 128x32x32x32, 2x2 (VGG)": lambda: pool_case((128, 32, 32, 32), 2),
}


def torch_functional():
    import torch

    return torch.nn.functional


def runners(vg_op, torch_op, arrays, needs_grad):
    """Zero-argument callables: forward only and forward + backward, for each library."""
    import torch

    vg_inputs = [vg.tensor(a, requires_grad=g) for a, g in zip(arrays, needs_grad, strict=True)]
    torch_inputs = [torch.tensor(a, requires_grad=g)
                    for a, g in zip(arrays, needs_grad, strict=True)]
    upstream = np.random.default_rng(1).standard_normal(
        vg_op(*vg_inputs).shape, dtype=np.float32)
    torch_upstream = torch.tensor(upstream)

    def vg_forward():
        with vg.no_grad():
            vg_op(*vg_inputs)

    def torch_forward():
        with torch.no_grad():
            torch_op(*torch_inputs)

    def vg_train():
        for t in vg_inputs:
            t.grad = None
        vg_op(*vg_inputs).backward(upstream)

    def torch_train():
        for t in torch_inputs:
            t.grad = None
        torch_op(*torch_inputs).backward(torch_upstream)

    return {"forward": (vg_forward, torch_forward),
            "forward+backward": (vg_train, torch_train)}


def side_by_side(ours, theirs, repeats: int, warmup: int) -> dict:
    """Medians (and min, max) in ms of two callables run alternately, after warm-up."""
    for _ in range(warmup):
        ours()
        theirs()
    times = {"visiongrad": [], "torch": []}
    for i in range(repeats):
        pair = [("visiongrad", ours), ("torch", theirs)]
        for name, fn in pair if i % 2 == 0 else pair[::-1]:
            start = time.perf_counter()
            fn()
            times[name].append(1e3 * (time.perf_counter() - start))
    row = {f"{name}_{stat}_ms": round(fn(ts), 3) for name, ts in times.items()
           for stat, fn in (("median", statistics.median), ("min", min), ("max", max))}
    row["ratio"] = round(row["visiongrad_median_ms"] / row["torch_median_ms"], 3)
    return row


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(2)
    rows = []
    print(f"{'op':48} {'pass':17} {'visiongrad ms':>13} {'torch ms':>9} {'ratio':>6}")
    for name, build in CASES.items():
        if args.only not in name:
            continue
        for phase, (ours, theirs) in runners(*build()).items():
            row = {"op": name, "pass": phase,
                   **side_by_side(ours, theirs, args.repeats, args.warmup)}
            rows.append(row)
            print(f"{name:48} {phase:17} {row['visiongrad_median_ms']:13.2f} "
                  f"{row['torch_median_ms']:9.2f} {row['ratio']:6.2f}", flush=True)
    report = {"machine": f"{platform.processor() or platform.machine()}, "
                         f"{os.cpu_count()} cores",
              "numpy": np.__version__, "torch": torch.__version__, "threads": 2,
              "repeats": args.repeats, "dtype": "float32", "rows": rows}
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "ops.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"-> {path}")


if __name__ == "__main__":
    main()
