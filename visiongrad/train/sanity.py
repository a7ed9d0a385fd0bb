"""The course's sanity checks before a long run: the initial loss, and over-fitting a subset.

1. With small random weights every class is about equally likely, so the softmax loss
   starts near ``log(C)`` (2.303 for ten classes). Far off means a bug in the loss or the
   initialisation.
2. A correct network with no regularisation drives its training accuracy to 100% on a few
   dozen examples. If it cannot, something between the data and the update is broken.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd import no_grad, tensor
from .checkpoint import copy_model_state
from .trainer import Trainer


def check_initial_loss(model, x: np.ndarray, y: np.ndarray, num_classes: int | None = None,
                       loss_fn=None, tolerance: float = 0.1) -> dict:
    """Compare the model's loss on (x, y) with ``log(num_classes)``.

    The loss is computed in training mode (as at the first step) under ``no_grad``; the
    model's state (batch-norm running statistics included) is restored afterwards.

    Parameters
    ----------
    model : nn.Module
    x : ndarray, shape (N, C, H, W), float32
    y : ndarray of int, shape (N,)
    num_classes : int, optional
        Defaults to the width of the model's output.
    loss_fn : callable, optional
        ``loss_fn(logits, labels)``; softmax cross-entropy by default.
    tolerance : float
        Relative tolerance: ``ok`` is ``|loss - log C| <= tolerance * log C``.

    Returns
    -------
    dict
        ``"loss"``, ``"expected"`` (``log C``), ``"relative_error"`` and ``"ok"``.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import train
    >>> import visiongrad as vg
    >>> from visiongrad import nn, optim
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    >>> x = np.random.default_rng(0).random((6, 1, 2, 2)).astype(np.float32)
    >>> y = np.array([0, 1, 2, 0, 1, 2])
    >>> train.check_initial_loss(model, x, y)['ok']
    False
    """
    from .. import functional as F

    loss_fn = F.cross_entropy if loss_fn is None else loss_fn
    saved, was_training = copy_model_state(model), model.training
    model.train()
    try:
        with no_grad():
            logits = model(tensor(np.asarray(x, dtype=np.float32)))
            loss = float(loss_fn(logits, np.asarray(y)).item())
    finally:
        model.load_state_dict(saved)
        model.train(was_training)
    expected = math.log(logits.shape[1] if num_classes is None else num_classes)
    error = abs(loss - expected) / expected
    return {"loss": loss, "expected": expected, "relative_error": error,
            "ok": bool(error <= tolerance)}


def overfit_small_subset(model, optimizer, x: np.ndarray, y: np.ndarray,
                         num_samples: int = 50, epochs: int = 30, batch_size: int = 25,
                         **trainer_options) -> dict:
    """Train on the first ``num_samples`` examples only and report how well it memorised.

    Parameters
    ----------
    model, optimizer
        As for :class:`Trainer`; use no regularisation.
    x, y : ndarray
        Images (N, C, H, W) and labels (N,); the first ``num_samples`` are used.
    num_samples, epochs, batch_size : int
    **trainer_options
        Passed to :class:`Trainer` (``progress=False`` unless given).

    Returns
    -------
    dict
        ``"train_accuracy"`` (final accuracy on the subset; near 1.0 for a healthy
        network), ``"initial_loss"``, ``"final_loss"`` and the ``"trainer"``.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import train
    >>> import visiongrad as vg
    >>> from visiongrad import nn, optim
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    >>> x = np.random.default_rng(0).random((6, 1, 2, 2)).astype(np.float32)
    >>> y = np.array([0, 1, 2, 0, 1, 2])
    >>> opt = optim.Adam(model.parameters(), lr=0.1)
    >>> result = train.overfit_small_subset(model, opt, x, y, num_samples=6, epochs=30,
    ...                                     batch_size=6)
    >>> result['train_accuracy']
    1.0
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be positive, got {num_samples}")
    subset_x, subset_y = x[:num_samples], y[:num_samples]
    trainer_options.setdefault("progress", False)
    trainer = Trainer(model, optimizer, batch_size=batch_size, epochs=epochs,
                      restore_best=False, **trainer_options).fit(subset_x, subset_y)
    final = trainer.evaluate(subset_x, subset_y)
    return {"train_accuracy": final["accuracy"], "initial_loss": trainer.history["loss"][0],
            "final_loss": trainer.history["loss"][-1], "trainer": trainer}
