"""Data-parallel training over MPI on this machine: time per epoch at 1 and 2 ranks, the
scaling efficiency, and the allreduce's share of a training step.

The course's three-layer convnet (conv 32 5x5 - relu - pool - fc100 - fc10) trains on the
first 4,096 images of the embedded Fashion-MNIST subset with a global batch of 128, SGD
with momentum, for 2 epochs; the second epoch is timed. Each rank is pinned to its share
of this process's cores (1 rank: all of them; 2 ranks: one each) with as many BLAS and
visiongrad threads, so K ranks use the same cores as one process. Scaling efficiency is
T_1 / (K T_K) for the same global work (strong scaling). The allreduce's share is the time
rank 0 spends in ``average_gradients`` and ``batch_totals`` (gradient buckets and the
batch's loss, waiting for the slower rank included) over its time per step.

    python -m benchmarks.distributed [--ranks 1,2] [--images 4096]

Writes benchmarks/results/distributed.json. On a shared machine the figures move with the
load around them; the file records the load average when the run started.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .saving import add_write_option, destination, save_json

RESULTS = Path(__file__).parent / "results" / "distributed.json"
BATCH = 128


def pin_this_rank() -> None:
    """Before NumPy loads: this rank's cores, and as many BLAS threads."""
    rank = int(os.environ.get("PMI_RANK", os.environ.get("OMPI_COMM_WORLD_RANK", "0")))
    ranks = int(os.environ.get("PMI_SIZE", os.environ.get("OMPI_COMM_WORLD_SIZE", "1")))
    cores = sorted(os.sched_getaffinity(0))
    mine = cores[rank::ranks] or cores[rank % len(cores):][:1]
    os.sched_setaffinity(0, mine)
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(len(mine))


def worker(images: int, out: str) -> None:
    """One rank's run (under mpiexec): train, time the second epoch and the reductions."""
    pin_this_rank()
    import numpy as np

    import visiongrad as vg
    from visiongrad import nn, optim
    from visiongrad.data import DataLoader, load_dataset
    from visiongrad.distributed import DistributedDataParallel
    from visiongrad.train import Trainer

    vg.manual_seed(0)
    data = load_dataset("fashion-mnist-mini")
    x, y = data.images[:images], data.labels[:images]
    model = nn.Sequential(nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(32 * 14 * 14, 100), nn.ReLU(),
                          nn.Linear(100, 10))
    parallel = DistributedDataParallel(model)
    spent = {"reduce": 0.0}

    def timed(method):
        def run(*args):
            started = time.perf_counter()
            result = method(*args)
            spent["reduce"] += time.perf_counter() - started
            return result
        return run

    parallel.average_gradients = timed(parallel.average_gradients)
    parallel.batch_totals = timed(parallel.batch_totals)
    trainer = Trainer(model, optim.Momentum(model.parameters(), lr=0.02), epochs=1,
                      progress=False, restore_best=False, ratio_every=0, distributed=parallel)
    loader = DataLoader((x, y), batch_size=BATCH, shuffle=True)
    trainer.fit(loader)  # warm-up epoch
    spent["reduce"], trainer.epochs = 0.0, 2
    started = time.perf_counter()
    trainer.fit(loader)
    seconds = time.perf_counter() - started
    if parallel.is_writer:
        steps = trainer.iteration // 2
        Path(out).write_text(json.dumps({
            "epoch_seconds": seconds, "steps": steps, "step_ms": 1e3 * seconds / steps,
            "allreduce_ms_per_step": 1e3 * spent["reduce"] / steps,
            "allreduce_share": spent["reduce"] / seconds,
            "cores_per_rank": len(os.sched_getaffinity(0)),
            "final_loss": float(np.mean(trainer.history["loss"][-steps:]))}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ranks", default="1,2")
    parser.add_argument("--images", type=int, default=4096)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    add_write_option(parser, "benchmarks/results/distributed.json")
    args = parser.parse_args()
    if args.worker is not None:
        worker(args.images, args.worker)
        return
    mpiexec = Path(sys.executable).parent / "mpiexec"
    load = os.getloadavg()[0]
    runs = {}
    for ranks in [int(k) for k in args.ranks.split(",")]:
        with tempfile.TemporaryDirectory(prefix="visiongrad-distributed-") as folder:
            out = Path(folder) / f"distributed-{ranks}.json"
            subprocess.run([str(mpiexec if mpiexec.exists() else "mpiexec"), "-n", str(ranks),
                            sys.executable, "-m", "benchmarks.distributed", "--images",
                            str(args.images), "--worker", str(out)], check=True, timeout=1800)
            runs[ranks] = json.loads(out.read_text())
        print(f"{ranks} rank(s): {runs[ranks]['epoch_seconds']:.2f} s per epoch, "
              f"{runs[ranks]['step_ms']:.1f} ms per step, allreduce "
              f"{runs[ranks]['allreduce_ms_per_step']:.2f} ms per step "
              f"({100 * runs[ranks]['allreduce_share']:.1f}% of the time)", flush=True)
    if 1 in runs:
        for ranks, run in runs.items():
            run["scaling_efficiency"] = runs[1]["epoch_seconds"] / (ranks
                                                                   * run["epoch_seconds"])
            print(f"{ranks} rank(s): scaling efficiency {run['scaling_efficiency']:.2f}")
    from mpi4py import MPI

    save_json(destination(args, RESULTS), {
        "model": "three-layer convnet", "images": args.images, "global_batch": BATCH,
        "cores": len(os.sched_getaffinity(0)), "load_average_at_start": load,
        "mpi": MPI.Get_library_version().splitlines()[0].strip(),
        "runs": {str(k): v for k, v in runs.items()}}, indent=2)


if __name__ == "__main__":
    main()
