"""Training: the Trainer, checkpoints, metrics, sanity checks, search and ensembles.

>>> from visiongrad import data, models, optim, train
>>> model = models.create("three_layer_convnet", input_shape=(1, 28, 28))
>>> trainer = train.Trainer(model, optim.Adam(model.parameters(), lr=1e-3),
...                         batch_size=64, epochs=5)                       # doctest: +SKIP
>>> loader = data.DataLoader(train_set, batch_size=64, shuffle=True)     # doctest: +SKIP
>>> trainer.fit(loader, x_val=x_val, y_val=y_val)                         # doctest: +SKIP
>>> trainer.evaluate(x_test, y_test)["accuracy"]                          # doctest: +SKIP

See :mod:`visiongrad.train.trainer` for the model protocol and the ``history`` layout.
Plots of a history live in :mod:`visiongrad.train.plots`.
"""

from .checkpoint import load_checkpoint, load_model_state, save_checkpoint
from .ensemble import Ensemble
from .metrics import accuracy, classification_scores, confusion_matrix, per_class_accuracy
from .sanity import check_initial_loss, overfit_small_subset
from .search import best, search
from .trainer import (
    Trainer,
    TrainingDiverged,
    evaluate,
    predict_logits,
    predict_proba,
)

__all__ = [
    "Ensemble", "Trainer", "TrainingDiverged", "accuracy", "best", "check_initial_loss",
    "classification_scores", "confusion_matrix", "evaluate", "load_checkpoint",
    "load_model_state", "overfit_small_subset", "per_class_accuracy", "predict_logits",
    "predict_proba", "save_checkpoint", "search",
]
