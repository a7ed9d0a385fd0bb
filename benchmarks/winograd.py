"""Winograd F(2x2, 3x3) (``ops/winograd.py``) against visiongrad's current convolution path
(``F.conv2d``: the compiled direct kernels where they fit, else im2col and a product) on
the course's 3x3 stride-1 layers: forward, and forward plus backward, median milliseconds.

Run from the repository root::

    python -m benchmarks.winograd

Winograd saves multiplications (16 instead of 36 per 2x2 outputs per channel pair), but in
NumPy each of its transforms is a pass over tiles that hold 4x the input (every 4x4 tile
overlaps its neighbours by 2), and the 16 products are small matrix products; the direct
kernel keeps each tile of outputs in registers while the input streams past once. The
table says which wins where; ``ops/conv.py`` chooses Winograd only where it does.
Writes ``benchmarks/results/winograd.json``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import visiongrad as vg
from visiongrad import functional as F
from visiongrad.accel.machine import cpu_model
from visiongrad.ops.winograd import WinogradConv2d

from .saving import add_write_option, destination, save_json

RESULTS = Path(__file__).parent / "results"
LAYERS = {  # name: (N, C, H, F): the course's 3x3 stride-1 layers at a training batch
    "vgg_small conv2 (28x28, 32->32)": (64, 32, 28, 32),
    "vgg_small conv3 (14x14, 32->64)": (64, 32, 14, 64),
    "vgg_small conv4 (14x14, 64->64)": (64, 64, 14, 64),
    "resnet_small stage 1 (32x32, 16->16)": (64, 16, 32, 16),
    "style transfer (one 56x56 image, 64->64)": (1, 64, 56, 64),
}


def median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def measure(shape, repeats: int) -> dict:
    n, c, h, f = shape
    rng = np.random.default_rng(0)
    x = vg.tensor(rng.standard_normal((n, c, h, h)).astype(np.float32), requires_grad=True)
    w = vg.tensor(rng.standard_normal((f, c, 3, 3)).astype(np.float32) * 0.1,
                  requires_grad=True)
    upstream = rng.standard_normal((n, f, h, h)).astype(np.float32)
    algorithms = {"current": lambda: F.conv2d(x, w, None, 1, 1),
                  "winograd": lambda: WinogradConv2d.apply(x, w, padding=(1, 1))}
    result = {}
    for name, conv in algorithms.items():
        with vg.no_grad():
            forward = median_ms(conv, repeats)
        result[name] = {"forward_ms": forward,
                        "forward_backward_ms": median_ms(lambda c=conv: c().backward(upstream),
                                                         repeats)}
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default=None, help="write the results to this JSON file")
    add_write_option(parser, "benchmarks/results/winograd.json")
    args = parser.parse_args(argv)
    results = {name: measure(shape, args.repeats) for name, shape in LAYERS.items()}
    save_json(destination(args, RESULTS / "winograd.json"),
              {"cpu": cpu_model(), "results": results}, show=False)
    print("| layer | current fwd | Winograd fwd | current fwd+bwd | Winograd fwd+bwd |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['current']['forward_ms']:.1f} ms | "
              f"{r['winograd']['forward_ms']:.1f} ms | "
              f"{r['current']['forward_backward_ms']:.1f} ms | "
              f"{r['winograd']['forward_backward_ms']:.1f} ms |")


if __name__ == "__main__":
    main()
