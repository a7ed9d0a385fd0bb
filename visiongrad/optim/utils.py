"""Gradient clipping by global norm, and weight averaging (EMA / Polyak averaging)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

from ..backend import xp
from .optimizer import check_range, parameter_list


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> float:
    """Scale the gradients so that their global norm is at most ``max_norm``.

    total = ||(g_1, ..., g_n)||_p over all gradients as one vector (p = ``norm_type``,
    ``math.inf`` for the max); if total > max_norm every gradient becomes
    g * max_norm / (total + 1e-6), as PyTorch.

    Each parameter's ``.grad`` is replaced by a scaled copy rather than scaled in place, so
    an array shared by two parameters is not scaled twice; a parameter listed twice
    counts once.

    Parameters
    ----------
    parameters : Tensor, iterable of Tensor, or Module
    max_norm : float
    norm_type : float
    error_if_nonfinite : bool
        Raise ``RuntimeError`` when the total norm is NaN or infinite.

    Returns
    -------
    float
        The total norm before clipping.

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import optim
    >>> w = vg.tensor([0.0, 0.0], requires_grad=True)
    >>> w.grad = np.array([3.0, 4.0], dtype=np.float32)
    >>> float(optim.clip_grad_norm_([w], max_norm=1.0)), np.round(w.grad, 4)
    (5.0, array([0.6, 0.8], dtype=float32))
    """
    check_range("max_norm", max_norm)
    if not (norm_type == math.inf or norm_type > 0):
        raise ValueError(f"norm_type must be positive or inf, got {norm_type}")
    params = [p for p in parameter_list(parameters) if p.grad is not None]
    if not params:
        return 0.0
    if norm_type == math.inf:
        total = max(float(xp.abs(p.grad).max(initial=0.0)) for p in params)
    else:
        total = sum(float((xp.abs(p.grad) ** norm_type).sum()) for p in params) \
            ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"the total norm of order {norm_type} of the gradients is {total}; "
                           "set error_if_nonfinite=False to clip anyway")
    coefficient = max_norm / (total + 1e-6)
    if coefficient < 1:
        for p in params:
            p.grad = p.grad * xp.asarray(coefficient, dtype=p.grad.dtype)
    return total


class EMA:
    """An exponential moving average of the weights (Polyak averaging), for evaluation.

    After each optimizer step, ``update()`` moves the average towards the weights::

        x_avg <- decay * x_avg + (1 - decay) * x

    ``decay=None`` gives the plain Polyak-Ruppert mean of every iterate seen so far,
    x_avg <- x_avg + (x - x_avg) / (n + 1) after n updates (the initial weights count
    as the first iterate). The average starts at the current weights. Only parameters are
    averaged; buffers (batch norm's running statistics) are used as they are.

    >>> ema = EMA(model, decay=0.999)            # doctest: +SKIP
    >>> ...; optimizer.step(); ema.update()      # doctest: +SKIP
    >>> with ema.average_parameters():           # doctest: +SKIP
    ...     evaluate(model)                      # the averaged weights, swapped back after

    Parameters
    ----------
    parameters : Module or iterable of Tensor
    decay : float or None
        In [0, 1); the course's 0.995 - 0.999 are typical.
    """

    def __init__(self, parameters, decay: float | None = 0.999):
        if decay is not None:
            check_range("decay", decay, 0.0, 1.0)
        self.params = parameter_list(parameters)
        self.decay = decay
        self.num_updates = 0
        self.shadow = [p.data.copy() for p in self.params]

    def update(self) -> None:
        """Fold the current weights into the average."""
        self.num_updates += 1
        weight = 1 / (self.num_updates + 1) if self.decay is None else 1 - self.decay
        for average, p in zip(self.shadow, self.params, strict=True):
            average += weight * (p.data - average)

    def copy_to(self) -> None:
        """Overwrite the weights with the average (for good; see ``average_parameters``)."""
        for average, p in zip(self.shadow, self.params, strict=True):
            p.data[...] = average

    @contextlib.contextmanager
    def average_parameters(self) -> Iterator[None]:
        """Inside the block the weights are the average; afterwards they are restored."""
        saved = [p.data.copy() for p in self.params]
        self.copy_to()
        try:
            yield
        finally:
            for data, p in zip(saved, self.params, strict=True):
                p.data[...] = data

    def state_dict(self) -> dict:
        return {"decay": self.decay, "num_updates": self.num_updates,
                "shadow": [average.copy() for average in self.shadow]}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what :meth:`state_dict` returned; a state of another shape or kind (a
        crafted file's) is refused with a ValueError naming what is wrong."""
        shadow, decay, updates = (state_dict.get(key) if isinstance(state_dict, dict) else None
                                  for key in ("shadow", "decay", "num_updates"))
        if not isinstance(shadow, list) or not all(hasattr(a, "shape") for a in shadow):
            raise ValueError("the saved average must hold a list of arrays ('shadow')")
        if decay is not None:
            if not isinstance(decay, (int, float)) or isinstance(decay, bool):
                raise ValueError(f"the saved average's decay must be a number or null, got "
                                 f"{decay!r:.40}")
            check_range("the saved average's decay", decay, 0.0, 1.0)
        if not isinstance(updates, int) or isinstance(updates, bool) or updates < 0:
            raise ValueError(f"the saved average's num_updates must be a whole number >= 0, "
                             f"got {updates!r:.40}")
        if len(shadow) != len(self.params):
            raise ValueError(f"the saved average holds {len(shadow)} arrays, this EMA "
                             f"averages {len(self.params)} parameters")
        for i, (average, p) in enumerate(zip(shadow, self.params, strict=True)):
            if tuple(average.shape) != tuple(p.shape):
                raise ValueError(f"saved average {i} has shape {tuple(average.shape)}, its "
                                 f"parameter has shape {tuple(p.shape)}")
        self.decay, self.num_updates = decay, updates
        self.shadow = [xp.array(average, dtype=p.data.dtype) for average, p
                       in zip(shadow, self.params, strict=True)]


PolyakAverage = EMA
"""Another name for ``EMA`` (the course calls it Polyak averaging)."""
