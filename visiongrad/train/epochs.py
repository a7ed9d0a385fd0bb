"""One epoch of mini-batch gradient descent over examples in a random order: the loop the
recipes that train on arrays of their own share (detection and segmentation on scenes, the
captioning encoder and captioner, the generative models' feature classifier). The
:class:`~visiongrad.train.Trainer` is the full-featured path for classifiers fed by a
``DataLoader``; this is the bare loop for models that compute their own loss.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import optim


def shuffled_batches(count: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The indices 0..count-1 in ``rng``'s random order, cut into batches of ``batch_size``
    (the last one smaller when ``batch_size`` does not divide ``count``)."""
    order = rng.permutation(count)
    return [order[start:start + batch_size] for start in range(0, count, batch_size)]


def descend_epoch(loss_of: Callable, count: int, batch_size: int, optimizer,
                  rng: np.random.Generator, *, schedule=None,
                  clip_norm: float | None = None,
                  on_batch: Callable[[int, int], None] | None = None) -> float:
    """One pass over ``count`` examples: for each batch of :func:`shuffled_batches`,
    ``loss_of(indices)`` (a scalar Tensor), backward, the gradients' global norm clipped to
    ``clip_norm`` when given, an optimizer step and, when given, a ``schedule`` step (so
    the schedule counts batches) and ``on_batch(batches done, batches in all)`` (progress,
    :meth:`~visiongrad.train.progress.Progress.during`). Returns the mean loss per example
    (each batch's loss weighed by its size)."""
    total = 0.0
    batches = shuffled_batches(count, batch_size, rng)
    for number, batch in enumerate(batches, 1):
        loss = loss_of(batch)
        optimizer.zero_grad()
        loss.backward()
        if clip_norm is not None:
            optim.clip_grad_norm_(optimizer.parameters(), clip_norm)
        optimizer.step()
        if schedule is not None:
            schedule.step()
        total += loss.item() * len(batch)
        if on_batch is not None:
            on_batch(number, len(batches))
    return total / count
