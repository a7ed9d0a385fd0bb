"""Optimizers, learning-rate schedules, gradient clipping and weight averaging.

>>> from visiongrad import nn, optim
>>> model = nn.Linear(3, 2)
>>> opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
>>> schedule = optim.lr_scheduler.StepLR(opt, step_size=10)

Each optimizer's docstring shows its update rule. Updates change ``param.data`` in place
(float32 stays float32); state is keyed by parameter identity and saved by index in
``state_dict()``, as PyTorch does.
"""

from . import lr_scheduler
from .adaptive import AdaGrad, Adam, AdamW, RMSProp
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .sgd import SGD, Momentum, Nesterov
from .utils import EMA, PolyakAverage, clip_grad_norm_

__all__ = ["EMA", "LBFGS", "SGD", "AdaGrad", "Adam", "AdamW", "Momentum", "Nesterov",
           "Optimizer", "PolyakAverage", "RMSProp", "clip_grad_norm_", "lr_scheduler"]
