"""Speed of the recurrent sequence ops: ``nn.LSTM`` and ``nn.GRU`` forward + backward
against ``torch.nn.LSTM`` / ``torch.nn.GRU`` on the CPU.

Both layers start from the same weights (PyTorch's state_dict loaded into visiongrad) and
run the same float32 batch (N 64, T 50, D 128, H 256, batch_first) in this one process
with the same number of threads, taking turns of a few steps (``train_step``'s
``time_alternating``); a step is the layer's forward pass over the sequence and the
backward pass of the sum of its outputs (gradients for the input and every weight). The
table shows medians and the ratio visiongrad / PyTorch; the 1-minute load average before
and after is recorded, since only ratios taken in one process mean anything on a shared
machine. Writes ``benchmarks/results/recurrent.json``.

    python -m benchmarks.recurrent [--steps 60] [--threads 2] [--cells lstm,gru]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

import visiongrad as vg
from visiongrad import nn
from visiongrad.accel.blas import thread_count_functions

from .saving import add_write_option, destination, save_json
from .train_step import summarize, time_alternating

RESULTS = Path(__file__).parent / "results" / "recurrent.json"
SHAPE = {"N": 64, "T": 50, "D": 128, "H": 256}


def layer_pair(cell: str, torch):
    """(torch layer, visiongrad layer) with the same weights."""
    torch.manual_seed(0)
    reference = getattr(torch.nn, cell.upper())(SHAPE["D"], SHAPE["H"], batch_first=True)
    ours = getattr(nn, cell.upper())(SHAPE["D"], SHAPE["H"], batch_first=True)
    ours.load_state_dict({k: v.detach().numpy() for k, v in reference.state_dict().items()})
    return reference, ours


def step_function(layer):
    """One forward + backward step of ``layer`` (either library: their APIs match)."""
    def step(x):
        layer.zero_grad()
        x.grad = None
        output, _ = layer(x)
        output.sum().backward()
    return step


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=60, help="timed steps per library")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cells", default="lstm,gru")
    add_write_option(parser, "benchmarks/results/recurrent.json")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    blas = thread_count_functions()
    if blas is not None:
        blas[1](args.threads)
    rng = np.random.default_rng(0)
    x_array = rng.standard_normal((SHAPE["N"], SHAPE["T"], SHAPE["D"])).astype(np.float32)
    results = {"shape": SHAPE, "dtype": "float32", "threads": args.threads,
               "steps": args.steps, "torch": torch.__version__, "numpy": np.__version__,
               "load_average_before": [round(v, 2) for v in os.getloadavg()], "cells": {}}
    print(f"{'cell':5} {'visiongrad ms':>14} {'pytorch ms':>11} {'ratio':>6}")
    for cell in args.cells.split(","):
        reference, ours = layer_pair(cell, torch)
        x = vg.tensor(x_array, requires_grad=True)
        tx = torch.from_numpy(x_array.copy()).requires_grad_(True)
        ours_times, torch_times = time_alternating(step_function(ours), step_function(reference),
                                                   (x,), (tx,), args.steps, args.warmup)
        row = {"visiongrad": summarize(ours_times), "pytorch": summarize(torch_times)}
        row["ratio"] = row["visiongrad"]["median_ms"] / row["pytorch"]["median_ms"]
        results["cells"][cell] = row
        print(f"{cell:5} {row['visiongrad']['median_ms']:14.1f} "
              f"{row['pytorch']['median_ms']:11.1f} {row['ratio']:6.2f}", flush=True)
    results["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    print(f"load average before {results['load_average_before']}, after "
          f"{results['load_average_after']}")
    save_json(destination(args, RESULTS), results, indent=2, show=args.write)
    return results


if __name__ == "__main__":
    main()
