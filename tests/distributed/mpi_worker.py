"""Training runs for the distributed tests: imported by the tests (one process) and run by
``mpiexec -n K python mpi_worker.py MODE OUT`` (K ranks).

Modes: ``equal`` trains the two configurations of :func:`configurations` for 20 steps and
rank 0 saves the weights; ``stall`` trains for a long time with a checkpoint per epoch and
a 5 s collective timeout, each rank writing its pid first (the test stops or kills one).
"""

from __future__ import annotations

import os
import sys

import numpy as np

import visiongrad as vg
from visiongrad import nn, optim
from visiongrad.data import DataLoader
from visiongrad.train import Trainer

STEPS = 20


def make_data(count: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(seed)
    images = generator.normal(size=(count, 2, 6, 6)).astype(np.float32)
    labels = (images[:, 0, :3].mean(axis=(1, 2)) > 0).astype(np.int64) \
        + 2 * (images[:, 1, 3:].mean(axis=(1, 2)) > 0)
    return images, labels


def make_model(batch_norm: bool):
    layers = [nn.Conv2d(2, 4, 3, padding=1)]
    layers += [nn.BatchNorm2d(4)] if batch_norm else []
    layers += [nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 4)]
    return nn.Sequential(*layers)


def configurations():
    """(name, batch norm, global batch, examples): 2 epochs of 10 steps each. The batch of
    9 splits 4 + 5 over two ranks, so uneven shards are weighed correctly too."""
    return [("plain", False, 8, 80), ("sync_bn", True, 9, 90)]


def train(batch_norm: bool, batch_size: int, examples: int, distributed: bool,
          seed: int = 3) -> dict[str, np.ndarray]:
    """Train for STEPS steps from ``seed``; return the state dict."""
    vg.manual_seed(seed)
    model = make_model(batch_norm)
    if distributed and batch_norm:
        from visiongrad.distributed import convert_sync_batchnorm
        model = convert_sync_batchnorm(model, timeout=60)
    images, labels = make_data(examples)
    loader = DataLoader((images, labels), batch_size=batch_size, shuffle=True)
    trainer = Trainer(model, optim.Momentum(model.parameters(), lr=0.05), progress=False,
                      epochs=STEPS * batch_size // examples, restore_best=False,
                      distributed=distributed)
    trainer.fit(loader)
    assert trainer.iteration == STEPS, trainer.iteration
    return model.state_dict()


def stall(out: str) -> None:
    """Train 'forever' with a checkpoint per epoch (the test stops a rank meanwhile)."""
    from visiongrad.distributed import DistributedDataParallel, world

    with open(os.path.join(out, f"pid.{world().Get_rank()}"), "w") as handle:
        handle.write(str(os.getpid()))
    vg.manual_seed(0)
    model = make_model(batch_norm=False)
    images, labels = make_data(64)
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.01), epochs=100000,
                      progress=False, checkpoint_path=os.path.join(out, "last.safetensors"),
                      distributed=DistributedDataParallel(model, timeout=5))
    trainer.fit(DataLoader((images, labels), batch_size=16, shuffle=True))


def main(mode: str, out: str) -> None:
    if mode == "equal":
        from visiongrad.distributed import world

        states = {f"{name}.{key}": value
                  for name, batch_norm, batch_size, examples in configurations()
                  for key, value in train(batch_norm, batch_size, examples, True).items()}
        if world().Get_rank() == 0:
            np.savez(os.path.join(out, "weights.npz"), **states)
    elif mode == "stall":
        stall(out)
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])
