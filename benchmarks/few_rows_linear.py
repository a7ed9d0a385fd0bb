"""Speed of the linear layer's few-rows kernel (``visiongrad/accel/linear.py``) against
NumPy's OpenBLAS (``x @ weight.T + bias``) on the shapes that set where it is used.

Both run on the same float32 operands in this process, taking turns (``ROUNDS`` of each),
on the threads OpenBLAS and visiongrad's helpers have (run it under ``taskset -c 0`` for
one core). The table shows the best time of each, taken as the thread's CPU time on one
core (the machine's other work then does not count), else wall time, and the ratio
kernel / OpenBLAS; the load average before and after goes into the JSON.

    python -m benchmarks.few_rows_linear [--write]
    taskset -c 0 python -m benchmarks.few_rows_linear
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from visiongrad.accel import linear, threads

from .saving import add_write_option, destination, save_json

RESULTS = Path(__file__).parent / "results" / "few_rows_linear.json"
SHAPES = [(32, 25088, 4096), (32, 4096, 4096), (32, 4096, 1000), (8, 4096, 4096),
          (32, 784, 512), (33, 1001, 77), (64, 4096, 4096), (128, 784, 512), (1, 25088, 4096)]
"""(M, K, N): VGG's classifier at batch 32 (and 8), the MLP's first layer at 32 and 128
rows, rows past the kernel's range (64, 128) and a single row."""
ROUNDS = 5


def openblas(x, weight, bias):
    return x @ weight.T + bias


def best_seconds(functions, operands, rounds: int, clock) -> list[float]:
    """The best time of each function of ``operands`` over ``rounds`` turns, one call each
    per turn."""
    best = [float("inf")] * len(functions)
    for function in functions:
        function(*operands)
    for _ in range(rounds):
        for i, function in enumerate(functions):
            start = clock()
            function(*operands)
            best[i] = min(best[i], clock() - start)
    return best


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    add_write_option(parser, "benchmarks/results/few_rows_linear.json")
    args = parser.parse_args(argv)
    one_core = threads.available_cores() == 1
    clock = time.thread_time if one_core else time.perf_counter
    results = {"rounds": args.rounds, "clock": "thread CPU time" if one_core else "wall", "cores":
               threads.available_cores(), "load_average_before":
               [round(v, 2) for v in os.getloadavg()], "shapes": []}
    rng = np.random.default_rng(0)
    print(f"{'M':>4} {'K':>6} {'N':>5} {'openblas ms':>12} {'kernel ms':>10} {'ratio':>6}")
    for M, K, N in SHAPES:
        x = rng.standard_normal((M, K), dtype=np.float32)
        weight = rng.standard_normal((N, K), dtype=np.float32)
        bias = rng.standard_normal(N, dtype=np.float32)
        saved = linear.FEW_ROWS, linear.MIN_WEIGHT_SIZE
        linear.FEW_ROWS, linear.MIN_WEIGHT_SIZE = range(1, M + 1), 0  # every shape here
        try:
            if linear.linear_few_rows(x, weight, bias) is None:
                raise SystemExit("the few-rows kernel does not run here (no compiled "
                                 "library, or no AVX-512F)")
            reference, kernel = best_seconds([openblas, linear.linear_few_rows],
                                             (x, weight, bias), args.rounds, clock)
        finally:
            linear.FEW_ROWS, linear.MIN_WEIGHT_SIZE = saved
        print(f"{M:>4} {K:>6} {N:>5} {1e3 * reference:>12.2f} {1e3 * kernel:>10.2f} "
              f"{kernel / reference:>6.2f}")
        results["shapes"].append({"M": M, "K": K, "N": N, "openblas_ms": 1e3 * reference,
                                  "kernel_ms": 1e3 * kernel, "ratio": kernel / reference})
    results["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    print(f"load average before {results['load_average_before']}, after "
          f"{results['load_average_after']}")
    save_json(destination(args, RESULTS), results, show=False)
    return results


if __name__ == "__main__":
    main()
