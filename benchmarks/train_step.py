"""Training-step and inference speed of the course's networks: visiongrad vs PyTorch CPU.

Each network is built by one function from a layer namespace, once with ``visiongrad.nn``
and once with ``torch.nn`` (the APIs match), and the PyTorch weights are copied into
visiongrad so both start identical. Both frameworks then run the same batch in this one
process with 2 threads each, taking turns of a few steps (``BLOCK``): a training step
(forward, cross-entropy, backward, SGD-momentum update) on batch 128 and inference on
batch 256 (torchvision's ResNet-18 and VGG-11: 3 x 64 x 64 input, batch 32 for both).
The table shows medians (with min/max) over the timed steps and the ratio
visiongrad / PyTorch; only ratios taken in one process mean anything on a shared machine.
The default of 100 timed steps (20 turns each) is for that machine: on the 2-core VM these
figures come from, one turn's MLP step ranged 3.0-6.7 ms for either framework as the load
around it came and went, so that the MLP's ratio over 30 steps (6 turns) ranged 0.84-1.25
from one run to the next, and over 100 steps 0.86-0.99 (fifteen runs).

Peak memory is measured separately: each framework runs a few training steps in a fresh
child process that imports and builds only that framework's model (the other library's
allocations, freed or kept, would blur the figure: visiongrad's import keeps freed blocks
in glibc's heap, where a later allocation of the other library lands without growing the
resident set), and the growth of its peak resident set (Linux VmHWM, reset just before the
steps) over its resident set after building the model is reported.

How close a step comes to the machine's limit: NumPy's SGEMM rate is measured first (the
best of a few 2048^3 float32 products on the same threads), each network's step FLOPs are
counted (2 x multiply-adds of every convolution and linear layer, three times the forward
pass for a training step: forward, input gradient, weight gradient), and the table's
"SGEMM share" is the SGEMM-bound time, FLOPs / rate, over each library's median step.
The load average before and after the run goes into the JSON.

    python -m benchmarks.train_step [--steps 100] [--warmup 3] [--models mlp,convnet,vgg,resnet]
    python -m benchmarks.train_step --models resnet18,vgg11 --steps 20 \
        --results benchmarks/results/train_step_zoo.json   # torchvision's, 64x64
    python -m benchmarks.train_step --write   # into benchmarks/results/train_step.json
    taskset -c 0 python -m benchmarks.train_step --threads 1 ...   # one core each

``--threads`` sets PyTorch's thread count (2 by default); visiongrad uses the cores the
process may run on, so a one-thread comparison runs under ``taskset`` on one core.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time
from pathlib import Path

import numpy as np

from .saving import add_write_option, save_json

RESULTS = Path(__file__).parent / "results" / "train_step.json"
THREADS = 2


# ----- the four workloads, written once for both frameworks ------------------------------

def mlp(nn):
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512),
                         nn.ReLU(), nn.Linear(512, 10))


def convnet(nn):
    """The course's three-layer convnet: conv 32 5x5 pad 2 - relu - pool - fc100 - relu - fc10."""
    return nn.Sequential(nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 14 * 14, 100), nn.ReLU(),
                         nn.Linear(100, 10))


def vgg(nn):
    """[conv3x3(32)-BN-ReLU]x2 - pool - [conv3x3(64)-BN-ReLU]x2 - pool - fc256 - fc10."""
    def conv_bn_relu(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]

    return nn.Sequential(*conv_bn_relu(1, 32), *conv_bn_relu(32, 32), nn.MaxPool2d(2),
                         *conv_bn_relu(32, 64), *conv_bn_relu(64, 64), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64 * 7 * 7, 256), nn.ReLU(),
                         nn.Linear(256, 10))


def resnet(nn):
    """conv3x3(16) + three stages of two basic blocks (16/32/64), GAP, fc10; the blocks are
    each library's own (``basic_block``)."""
    block = basic_block(nn)
    layers = [nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    for c_in, c_out, stride in [(16, 16, 1), (16, 32, 2), (32, 64, 2)]:
        downsample = None
        if stride != 1 or c_in != c_out:
            downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                                       nn.BatchNorm2d(c_out))
        layers += [block(c_in, c_out, stride, downsample), block(c_out, c_out, 1)]
    gap = nn.GlobalAvgPool2d() if hasattr(nn, "GlobalAvgPool2d") else nn.AdaptiveAvgPool2d(1)
    return nn.Sequential(*layers, gap, nn.Flatten(), nn.Linear(64, 10))


def basic_block(nn):
    """The library's own ResNet basic block for this ``nn``: torchvision's ``BasicBlock``
    for ``torch.nn`` and ``visiongrad.models.BasicBlock`` otherwise (the same layers, names,
    sums and constructor), which is what a user of either model zoo runs. visiongrad's
    runs its last batch norm, the shortcut's sum and the ReLU as one op; a block written
    here with the modules called one by one measured 11% slower in visiongrad."""
    if nn.__name__.startswith("torch"):
        return torchvision_models().resnet.BasicBlock
    from visiongrad import models

    return models.BasicBlock


WORKLOADS = {"mlp": mlp, "convnet": convnet, "vgg": vgg, "resnet": resnet}
"""Networks written once for both frameworks' ``nn``: Fashion-MNIST-sized input, batch 128
for training and 256 for inference."""

ZOO = {"resnet18": "resnet18", "vgg11": "vgg11"}
"""torchvision's networks (the same state_dict keys in ``visiongrad.models``): 1000 classes
on 3 x 64 x 64 input, batch 32 for training and inference."""

SHAPES = {**{name: ((1, 28, 28), 10, 128, 256) for name in WORKLOADS},
          **{name: ((3, 64, 64), 1000, 32, 32) for name in ZOO}}
"""Per network: input shape (C, H, W), classes, training batch, inference batch."""


def torchvision_models():
    """torchvision's model code without its compiled ops (they do not load on a CPU build of
    torch; the models need none of them)."""
    import sys
    import types

    sys.modules.setdefault("torchvision._meta_registrations",
                           types.ModuleType("torchvision._meta_registrations"))
    import torchvision.models

    return torchvision.models


# ----- one framework's step functions ----------------------------------------------------

def build_pair(name: str):
    """The PyTorch and the visiongrad model, with identical weights."""
    import torch

    import visiongrad as vg
    from visiongrad import models

    torch.manual_seed(0)
    if name in ZOO:
        torch_model = getattr(torchvision_models(), ZOO[name])(num_classes=1000)
        vg_model = models.create(ZOO[name], num_classes=1000)
    else:
        torch_model = WORKLOADS[name](torch.nn)
        vg_model = WORKLOADS[name](vg.nn)
    vg_model.load_state_dict({k: v.numpy().copy() for k, v in torch_model.state_dict().items()})
    return torch_model, vg_model


def step_functions(model, optim, functional, no_grad, lr=0.01):
    """Training-step and inference functions for ``model``, written once for both
    frameworks: pass ``torch.optim, torch.nn.functional, torch.no_grad`` or
    ``vg.optim, vg.functional, vg.no_grad`` (the APIs match)."""
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.9)

    def train(x, y):
        model.train()
        optimizer.zero_grad()
        loss = functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    def infer(x):
        model.eval()
        with no_grad():
            return model(x).numpy()

    return train, infer


def torch_steps(model):
    import torch

    return step_functions(model, torch.optim, torch.nn.functional, torch.no_grad)


def visiongrad_steps(model):
    import visiongrad as vg

    return step_functions(model, vg.optim, vg.functional, vg.no_grad)


def batches(name: str, phase: str, seed: int = 0):
    """A random batch for network ``name``'s ``phase`` ("train" or "infer")."""
    input_shape, classes, train_batch, infer_batch = SHAPES[name]
    batch_size = train_batch if phase == "train" else infer_batch
    rng = np.random.default_rng(seed)
    x = rng.random((batch_size, *input_shape), dtype=np.float32)
    y = rng.integers(0, classes, batch_size)
    return x, y


BLOCK = 5
"""Timed steps per turn."""

SETTLE_SECONDS = 0.3
"""Untimed steps start each turn for at least this long. Both thread pools (OpenBLAS's and
PyTorch's OpenMP one) keep spinning on the cores for a while after their last call, and a
step run inside the other framework's spin is measured here as up to 2-3x slower (PyTorch's
MLP step 10 ms instead of 3.7 ms, its convnet step 40 ms instead of 19 ms)."""


def time_alternating(step_a, step_b, args_a, args_b, steps, warmup):
    """Run a and b in alternating turns of ``BLOCK`` timed steps, each turn after untimed
    steps for ``SETTLE_SECONDS``; return the two lists of seconds per timed step."""
    times_a, times_b = [], []
    for step, args in ((step_a, args_a), (step_b, args_b)):
        for _ in range(warmup):
            step(*args)
    while len(times_a) < steps:
        for step, args, times in ((step_a, args_a, times_a), (step_b, args_b, times_b)):
            settled = time.perf_counter() + SETTLE_SECONDS
            step(*args)
            while time.perf_counter() < settled:
                step(*args)
            for _ in range(min(BLOCK, steps - len(times))):
                start = time.perf_counter()
                step(*args)
                times.append(time.perf_counter() - start)
    return times_a, times_b


def sgemm_gflops(size: int = 2048, repeats: int = 5) -> float:
    """NumPy's float32 matrix-product rate in GFLOP/s: the best of ``repeats`` products of
    two ``size`` x ``size`` matrices (after one untimed)."""
    rng = np.random.default_rng(0)
    a, b = (rng.random((size, size), dtype=np.float32) for _ in range(2))
    out = np.empty_like(a)
    np.matmul(a, b, out=out)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best / 1e9


def forward_flops(model, x) -> int:
    """2 x the multiply-adds of every convolution and linear layer in one forward pass of
    visiongrad ``model`` on ``x``: 2 x output size x (input channels / groups) x kernel
    area for a convolution, 2 x output size x input features for a linear layer."""
    import visiongrad as vg

    total = 0

    def count(module, inputs, output):
        nonlocal total
        total += 2 * output.size * int(np.prod(module.weight.shape[1:]))

    handles = [module.register_forward_hook(count) for module in model.modules()
               if isinstance(module, (vg.nn.Conv2d, vg.nn.Linear))]
    model.eval()
    with vg.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    return total


def summarize(seconds):
    return {"median_ms": 1e3 * statistics.median(seconds), "min_ms": 1e3 * min(seconds),
            "max_ms": 1e3 * max(seconds)}


# ----- peak memory, one framework per child process --------------------------------------

def build_one(name: str, framework: str):
    """``name``'s network in one framework only ("torch" or "visiongrad"), nothing of the
    other imported."""
    if framework == "torch":
        import torch

        torch.manual_seed(0)
        if name in ZOO:
            return getattr(torchvision_models(), ZOO[name])(num_classes=1000)
        return WORKLOADS[name](torch.nn)
    import visiongrad as vg
    from visiongrad import models

    return models.create(ZOO[name], num_classes=1000) if name in ZOO else WORKLOADS[name](vg.nn)


def _peak_rss_child(name, framework, steps, queue):
    _set_threads(framework == "torch")
    model = build_one(name, framework)
    x, y = batches(name, "train")
    if framework == "torch":
        import torch
        train, _ = torch_steps(model)
        x, y = torch.from_numpy(x), torch.from_numpy(y)
    else:
        import visiongrad as vg
        train, _ = visiongrad_steps(model)
        x, y = vg.tensor(x), vg.tensor(y)
    del model  # the step closures keep it
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    base = _status_kb("VmRSS")
    for _ in range(steps):
        train(x, y)
    queue.put((_status_kb("VmHWM") - base) / 1024)


def _status_kb(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def peak_memory_mb(name, framework, steps=3):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_peak_rss_child, args=(name, framework, steps, queue))
    child.start()
    child.join()
    return queue.get() if child.exitcode == 0 else float("nan")


def _set_threads(torch_too: bool = True):
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, str(THREADS))
    if torch_too:
        import torch
        torch.set_num_threads(THREADS)


def main(argv=None):
    global THREADS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--models", default="mlp,convnet,vgg,resnet")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs")
    parser.add_argument("--results", type=Path, default=None,
                        help="write the JSON to this file")
    add_write_option(parser, "benchmarks/results/train_step.json")
    parser.add_argument("--threads", type=int, default=THREADS,
                        help="PyTorch's threads (visiongrad's: the cores of the affinity mask)")
    args = parser.parse_args(argv)
    THREADS = args.threads
    _set_threads()
    import torch

    import visiongrad as vg

    results = {"threads": THREADS, "steps": args.steps, "torch": torch.__version__,
               "numpy": np.__version__, "cpu": os.uname().machine,
               "load_average_before": [round(v, 2) for v in os.getloadavg()],
               "sgemm_gflops": sgemm_gflops(), "models": {}}
    print(f"load average {results['load_average_before']}; NumPy SGEMM "
          f"{results['sgemm_gflops']:.0f} GFLOP/s on {THREADS} threads")
    header = (f"{'model':8} {'phase':6} {'visiongrad ms':>14} {'pytorch ms':>11} {'ratio':>6}"
              f" {'GFLOP':>6} {'vg SGEMM share':>14} {'pt SGEMM share':>14}"
              f" {'vg peak MB':>10} {'pt peak MB':>10}")
    print(header)
    print("-" * len(header))
    for name in args.models.split(","):
        torch_model, vg_model = build_pair(name)
        torch_train, torch_infer = torch_steps(torch_model)
        vg_train, vg_infer = visiongrad_steps(vg_model)
        row = {}
        for phase in ("train", "infer"):
            x_array, y_array = batches(name, phase)
            x, y = vg.tensor(x_array), vg.tensor(y_array)
            tx, ty = torch.from_numpy(x_array), torch.from_numpy(y_array)
            if phase == "train":
                vg_times, torch_times = time_alternating(vg_train, torch_train, (x, y),
                                                         (tx, ty), args.steps, args.warmup)
            else:
                vg_times, torch_times = time_alternating(vg_infer, torch_infer, (x,), (tx,),
                                                         args.steps, args.warmup)
            vg_stats, torch_stats = summarize(vg_times), summarize(torch_times)
            ratio = vg_stats["median_ms"] / torch_stats["median_ms"]
            flops = forward_flops(vg_model, x) * (3 if phase == "train" else 1)
            bound_ms = 1e3 * flops / (results["sgemm_gflops"] * 1e9)
            row[phase] = {"visiongrad": vg_stats, "pytorch": torch_stats, "ratio": ratio,
                          "gflop": flops / 1e9, "sgemm_bound_ms": bound_ms,
                          "sgemm_share": {"visiongrad": bound_ms / vg_stats["median_ms"],
                                          "pytorch": bound_ms / torch_stats["median_ms"]}}
        if not args.no_memory:
            row["peak_memory_mb"] = {"visiongrad": peak_memory_mb(name, "visiongrad"),
                                     "pytorch": peak_memory_mb(name, "torch")}
        memory = row.get("peak_memory_mb", {})
        for phase in ("train", "infer"):
            r = row[phase]
            extra = (f" {memory['visiongrad']:10.0f} {memory['pytorch']:10.0f}"
                     if memory and phase == "train" else "")
            print(f"{name:8} {phase:6} {r['visiongrad']['median_ms']:14.1f} "
                  f"{r['pytorch']['median_ms']:11.1f} {r['ratio']:6.2f} {r['gflop']:6.2f} "
                  f"{r['sgemm_share']['visiongrad']:14.0%} {r['sgemm_share']['pytorch']:14.0%}"
                  f"{extra}")
        results["models"][name] = row
    results["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    print(f"load average {results['load_average_after']}")
    save_json(args.results or (RESULTS if args.write else None), results, indent=2,
              show=bool(args.results or args.write))


if __name__ == "__main__":
    main()
