"""Ensembles: average the class probabilities of several models, or of snapshots of one run.

>>> ensemble = Ensemble([model_a, model_b, model_c])                # doctest: +SKIP
>>> ensemble.evaluate(x_test, y_test)["accuracy"]                   # doctest: +SKIP
>>> trainer = Trainer(model, optimizer, snapshot_every=1, ...)      # doctest: +SKIP
>>> snapshots = Ensemble.from_snapshots(build_model, trainer.snapshots)  # doctest: +SKIP

Averaging the predicted distributions of independently trained models (or of the weights
one run passed through) usually gains a point or two of accuracy over the best member.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from .checkpoint import load_model_state
from .metrics import classification_scores
from .trainer import predict_proba


class Ensemble:
    """Average of the softmax probabilities of several models.

    Parameters
    ----------
    models : sequence of nn.Module
        Each follows the Trainer's model protocol and predicts the same classes.
    weights : sequence of float, optional
        Weight of each model in the average (normalised to sum to 1); equal by default.

    Examples
    --------
    >>> _ = vg.manual_seed(0)
    >>> from visiongrad.train import Ensemble
    >>> members = [nn.Linear(4, 3), nn.Linear(4, 3)]
    >>> Ensemble(members).predict_proba(np.ones((2, 4), np.float32)).sum(axis=1)
    array([1., 1.])
    """

    def __init__(self, models: Sequence, weights: Sequence[float] | None = None):
        models = list(models)
        if not models:
            raise ValueError("an ensemble needs at least one model")
        weights = np.ones(len(models)) if weights is None else np.asarray(weights, float)
        if weights.shape != (len(models),) or np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError(f"weights must be {len(models)} non-negative numbers with a "
                             f"positive sum, got {weights.tolist()}")
        self.models, self.weights = models, weights / weights.sum()

    @classmethod
    def from_snapshots(cls, build_model: Callable[[], object],
                       snapshots: Sequence[Mapping[str, np.ndarray]]) -> Ensemble:
        """An ensemble of one architecture at several saved states.

        Parameters
        ----------
        build_model : callable
            Returns a fresh model of the architecture the snapshots came from.
        snapshots : sequence of state dicts
            For example ``Trainer.snapshots`` or ``load_checkpoint(p)["model"]`` of several
            checkpoints.
        """
        models = []
        for index, snapshot in enumerate(snapshots):
            model = build_model()
            load_model_state(model, snapshot, source=f"snapshot {index}")
            models.append(model)
        return cls(models)

    def predict_proba(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Weighted mean of the members' class probabilities, shape (N, num_classes)."""
        return sum(weight * predict_proba(model, x, batch_size)
                   for weight, model in zip(self.weights, self.models, strict=True))

    def predict(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """The class with the highest averaged probability, shape (N,)."""
        return self.predict_proba(x, batch_size).argmax(axis=1)

    def evaluate(self, x: np.ndarray, y: np.ndarray, num_classes: int | None = None,
                 batch_size: int = 256) -> dict:
        """Accuracy, loss, confusion matrix and per-class accuracy of the averaged prediction."""
        return classification_scores(y, probabilities=self.predict_proba(x, batch_size),
                                     num_classes=num_classes)
