"""Shared by the model tests: a few small composed scenes and a few-step training loop."""

from __future__ import annotations

import numpy as np

from visiongrad import optim
from visiongrad.detection import compose_detection_scenes
from visiongrad.recipes.detect import targets_of

SIZE = 32
TINY = (4, 8, 8, 8)


def scenes(count: int = 4, max_items: int = 3):
    return compose_detection_scenes(count, "train", 0, size=SIZE, max_items=max_items,
                                    min_scale=8, max_scale=16)


def losses_over_steps(model, data, steps: int = 6, lr: float = 3e-3) -> list[float]:
    """The loss of each of ``steps`` Adam steps on the same scenes (training mode)."""
    opt = optim.Adam(model.parameters(), lr=lr)
    model.train()
    values = []
    for _ in range(steps):
        loss, parts = model.loss(data.images, targets_of(data, range(len(data))))
        assert all(np.isfinite(v) for v in parts.values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        values.append(loss.item())
    return values


def assert_detections(found: list, count: int, size: int = SIZE) -> None:
    """``count`` per-image dicts of consistent boxes inside the image, scores, labels."""
    assert len(found) == count
    for entry in found:
        k = len(entry["boxes"])
        assert entry["boxes"].shape == (k, 4) and entry["scores"].shape == (k,)
        assert entry["labels"].shape == (k,) and entry["labels"].dtype == np.int64
        assert np.all(entry["labels"] >= 1)
        assert np.all(entry["boxes"] >= 0) and np.all(entry["boxes"] <= size)
        assert np.all(np.diff(entry["scores"]) <= 0) or k < 2
