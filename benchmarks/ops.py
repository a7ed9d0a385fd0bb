"""Single ops side by side with PyTorch CPU, in one process.

    python -m benchmarks.ops [--repeats N] [--warmup N] [--only TEXT]

For each op at the shapes of the course's networks (the three-layer convnet on 1x28x28,
the small VGG-style net and small ResNet of ``train_step`` on 28x28, and VGG-style 3x3
convolutions on 32x32 inputs), times the forward pass alone (no graph, as in inference)
and forward + backward (as in a training step), visiongrad and PyTorch taking turns of a
few calls in this one process (``train_step.time_alternating``), so that drifting load on
a shared machine hits both. Prints medians and the ratio visiongrad / PyTorch and writes
``benchmarks/results/ops.json``. Both use float32 and 2 threads.

Inputs that a convolution produces inside a network (batch norm's, ReLU's, pooling's and
the next convolution's) are given to visiongrad in channels-last memory, as its
convolutions return them, and to PyTorch in its own default NCHW layout; the upstream
gradient comes in the layout of each library's output, as the next layer would send it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
from pathlib import Path

import numpy as np

import visiongrad as vg
from visiongrad import functional as F
from visiongrad.accel import as_nchw

from .saving import add_write_option, destination, save_json
from .train_step import time_alternating

RESULTS = Path(__file__).parent / "results"


def torch_functional():
    import torch

    return torch.nn.functional


def activation(shape, seed=0):
    """A float32 NCHW activation and the same values channels-last (what a visiongrad
    convolution returns): (for visiongrad, for PyTorch)."""
    x = np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)
    return as_nchw(np.ascontiguousarray(x.transpose(0, 2, 3, 1))), x


def conv_case(x_shape, filters, kernel, padding, input_grad, stride=1):
    """conv2d with bias; the input channels-last unless it is the network's image."""
    rng = np.random.default_rng(1)
    vx, tx = activation(x_shape) if input_grad else (activation(x_shape)[1],) * 2
    w = rng.standard_normal((filters, x_shape[1], kernel, kernel), dtype=np.float32) * 0.1
    b = np.zeros(filters, dtype=np.float32)
    return (lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding),
            lambda x, w, b: torch_functional().conv2d(x, w, b, stride=stride, padding=padding),
            [vx, w, b], [tx, w, b], [input_grad, True, True])


def pool_case(x_shape, kernel):
    vx, tx = activation(x_shape)
    return (lambda x: F.max_pool2d(x, kernel), lambda x: torch_functional().max_pool2d(x, kernel),
            [vx], [tx], [True])


def batch_norm_case(x_shape):
    """Training-mode batch norm with running statistics, as BatchNorm2d in train()."""
    import torch

    vx, tx = activation(x_shape)
    channels = x_shape[1]
    gamma, beta = np.ones(channels, np.float32), np.zeros(channels, np.float32)
    vg_stats = np.zeros(channels, np.float32), np.ones(channels, np.float32)
    torch_stats = torch.zeros(channels), torch.ones(channels)
    return (lambda x, g, b: F.batch_norm(x, *vg_stats, g, b, training=True),
            lambda x, g, b: torch_functional().batch_norm(x, *torch_stats, g, b, training=True),
            [vx, gamma, beta], [tx, gamma, beta], [True, True, True])


def relu_case(x_shape):
    vx, tx = activation(x_shape)
    return F.relu, torch_functional().relu, [vx], [tx], [True]


def linear_case(batch, features_in, features_out):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((batch, features_in), dtype=np.float32)
    w = rng.standard_normal((features_out, features_in), dtype=np.float32) * 0.05
    b = np.zeros(features_out, dtype=np.float32)
    return F.linear, torch_functional().linear, [x, w, b], [x, w, b], [True, True, True]


def cross_entropy_case(batch, classes):
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((batch, classes), dtype=np.float32)
    labels = rng.integers(0, classes, batch)
    return (lambda z: F.cross_entropy(z, labels),
            lambda z: torch_functional().cross_entropy(z, _torch_tensor(labels)),
            [logits], [logits], [True])


def _torch_tensor(array):
    import torch

    return torch.from_numpy(array)


CASES = {
    "conv2d 128x1x28x28 -> 32, 5x5 pad 2 (convnet)": lambda: conv_case(
        (128, 1, 28, 28), 32, 5, 2, input_grad=False),
    "conv2d 128x1x28x28 -> 16, 3x3 pad 1 (ResNet stem)": lambda: conv_case(
        (128, 1, 28, 28), 16, 3, 1, input_grad=False),
    "conv2d 128x16x28x28 -> 16, 3x3 pad 1 (ResNet)": lambda: conv_case(
        (128, 16, 28, 28), 16, 3, 1, input_grad=True),
    "conv2d 128x16x28x28 -> 32, 3x3 stride 2 pad 1 (ResNet)": lambda: conv_case(
        (128, 16, 28, 28), 32, 3, 1, input_grad=True, stride=2),
    "conv2d 128x16x28x28 -> 32, 1x1 stride 2 (ResNet shortcut)": lambda: conv_case(
        (128, 16, 28, 28), 32, 1, 0, input_grad=True, stride=2),
    "conv2d 128x32x28x28 -> 32, 3x3 pad 1 (VGG)": lambda: conv_case(
        (128, 32, 28, 28), 32, 3, 1, input_grad=True),
    "conv2d 128x64x14x14 -> 64, 3x3 pad 1 (VGG)": lambda: conv_case(
        (128, 64, 14, 14), 64, 3, 1, input_grad=True),
    "conv2d 128x32x32x32 -> 32, 3x3 pad 1 (VGG 32x32)": lambda: conv_case(
        (128, 32, 32, 32), 32, 3, 1, input_grad=True),
    "conv2d 128x64x16x16 -> 64, 3x3 pad 1 (VGG 32x32)": lambda: conv_case(
        (128, 64, 16, 16), 64, 3, 1, input_grad=True),
    "max_pool2d 128x32x28x28, 2x2 (convnet, VGG)": lambda: pool_case((128, 32, 28, 28), 2),
    "max_pool2d 128x32x32x32, 2x2 (VGG 32x32)": lambda: pool_case((128, 32, 32, 32), 2),
    "batch_norm 128x16x28x28 (ResNet)": lambda: batch_norm_case((128, 16, 28, 28)),
    "batch_norm 128x32x28x28 (VGG)": lambda: batch_norm_case((128, 32, 28, 28)),
    "batch_norm 128x64x14x14 (VGG)": lambda: batch_norm_case((128, 64, 14, 14)),
    "relu 128x32x28x28 (VGG)": lambda: relu_case((128, 32, 28, 28)),
    "linear 128x784 -> 512 (MLP)": lambda: linear_case(128, 784, 512),
    "linear 128x3136 -> 256 (VGG)": lambda: linear_case(128, 3136, 256),
    "cross_entropy 128x10": lambda: cross_entropy_case(128, 10),
}


def runners(vg_op, torch_op, vg_arrays, torch_arrays, needs_grad):
    """Zero-argument callables: forward only and forward + backward, for each library."""
    import torch

    vg_inputs = [vg.tensor(a, requires_grad=g) for a, g in zip(vg_arrays, needs_grad,
                                                                strict=True)]
    torch_inputs = [torch.tensor(a, requires_grad=g)
                    for a, g in zip(torch_arrays, needs_grad, strict=True)]
    out = vg_op(*vg_inputs).data
    values = np.random.default_rng(1).standard_normal(out.shape, dtype=np.float32)
    upstream = np.empty_like(out)  # in the memory layout of the op's output, as in a network
    upstream[...] = values
    torch_upstream = torch.tensor(values)

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
    """Medians (and min, max) in ms of two callables taking turns, after warm-up."""
    ours_s, theirs_s = time_alternating(ours, theirs, (), (), repeats, warmup)
    times = {"visiongrad": [1e3 * s for s in ours_s], "torch": [1e3 * s for s in theirs_s]}
    row = {f"{name}_{stat}_ms": round(fn(ts), 3) for name, ts in times.items()
           for stat, fn in (("median", statistics.median), ("min", min), ("max", max))}
    row["ratio"] = round(row["visiongrad_median_ms"] / row["torch_median_ms"], 3)
    return row


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    add_write_option(parser, "benchmarks/results/ops.json")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(2)
    rows = []
    print(f"{'op':58} {'pass':17} {'visiongrad ms':>13} {'torch ms':>9} {'ratio':>6}")
    for name, build in CASES.items():
        if args.only not in name:
            continue
        for phase, (ours, theirs) in runners(*build()).items():
            row = {"op": name, "pass": phase,
                   **side_by_side(ours, theirs, args.repeats, args.warmup)}
            rows.append(row)
            print(f"{name:58} {phase:17} {row['visiongrad_median_ms']:13.2f} "
                  f"{row['torch_median_ms']:9.2f} {row['ratio']:6.2f}", flush=True)
    report = {"machine": f"{platform.processor() or platform.machine()}, "
                         f"{os.cpu_count()} cores",
              "numpy": np.__version__, "torch": torch.__version__, "threads": 2,
              "repeats": args.repeats, "dtype": "float32", "rows": rows}
    save_json(destination(args, RESULTS / "ops.json"), report, indent=2, show=args.write)


if __name__ == "__main__":
    main()
