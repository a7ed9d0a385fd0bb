"""Knowledge distillation (Hinton et al., 2015): train a small student on a trained
teacher's softened class probabilities and the labels (``compress.DistillationLoss``).

>>> result = run(Config(temperature=4, alpha=0.9, epochs=5), teacher, student,
...              (x_train, y_train), (x_test, y_test))  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import visiongrad as vg

from .. import functional as F
from .. import nn, optim
from ..compress import DistillationLoss
from ..train.epochs import descend_epoch
from ..train.predict import evaluate, predict_logits


@dataclass
class Config:
    """Options of :func:`run` (validated on construction).

    temperature, alpha : the loss's T and the weight of its soft term; ``alpha=0`` trains
        on the labels alone (the baseline a distilled student is compared with)
    epochs, lr, batch_size : Adam's training of the student
    seed : seeds the shuffling (the student's initial weights are the caller's)
    """

    temperature: float = 4.0
    alpha: float = 0.9
    epochs: int = 5
    lr: float = 1e-3
    batch_size: int = 128
    seed: int = 0

    def __post_init__(self):
        DistillationLoss(self.temperature, self.alpha)  # raises for a bad T or alpha
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")


def train_student(config: Config, student: nn.Module, train: tuple,
                  teacher_logits: np.ndarray | None) -> nn.Module:
    """Train ``student`` (in place; left in eval mode) with Adam on ``train``'s images.

    ``teacher_logits`` (N, C) are the teacher's logits on those images, constants of
    ``DistillationLoss(T, alpha)``; with ``alpha=0`` they are not used (None is fine) and
    the loss is the labels' cross-entropy. The batches come from ``config.seed`` alone, so
    two students trained with the same seed see the same batches in the same order.
    """
    images, labels = train
    if config.alpha > 0 and (teacher_logits is None or len(teacher_logits) != len(labels)):
        raise ValueError(f"alpha={config.alpha} needs the teacher's logits on all "
                         f"{len(labels)} training images")
    loss = DistillationLoss(config.temperature, config.alpha)
    optimizer = optim.Adam(student.parameters(), lr=config.lr)
    rng = np.random.default_rng(config.seed)

    def loss_of(batch):
        logits = student(vg.tensor(images[batch]))
        if config.alpha == 0.0:
            return F.cross_entropy(logits, labels[batch])
        return loss(logits, teacher_logits[batch], labels[batch])

    student.train()
    for _ in range(config.epochs):
        descend_epoch(loss_of, len(labels), config.batch_size, optimizer, rng)
    student.eval()
    return student


def run(config: Config, teacher: nn.Module, student: nn.Module, train: tuple,
        test: tuple) -> dict:
    """Train ``student`` (in place) from ``teacher``'s logits on ``train``'s images.

    The teacher's logits are computed once (eval mode; not at all for ``alpha=0``) and are
    constants of the loss (:func:`train_student`).
    Returns ``{"teacher_accuracy", "student_accuracy", "teacher_parameters",
    "student_parameters"}`` on ``test``.
    """
    teacher.eval()
    teacher_logits = predict_logits(teacher, train[0]) if config.alpha > 0 else None
    train_student(config, student, train, teacher_logits)
    return {"teacher_accuracy": float(evaluate(teacher, *test)["accuracy"]),
            "student_accuracy": float(evaluate(student, *test)["accuracy"]),
            "teacher_parameters": sum(p.data.size for p in teacher.parameters()),
            "student_parameters": sum(p.data.size for p in student.parameters())}
