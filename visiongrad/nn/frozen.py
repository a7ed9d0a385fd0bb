"""Running a model held still: what every method that differentiates with respect to its
input (saliency, class visualisation, style transfer, adversarial attacks) needs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def frozen(model) -> Iterator:
    """Within the block ``model`` is in eval mode and its parameters take no gradient, so
    back-propagation reaches only the input; both are restored afterwards.

    This is the course's ``model.eval()`` and ``requires_grad = False`` on every parameter,
    undone at the end (each module's own mode, each parameter's own flag).

    Examples
    --------
    >>> from visiongrad import nn
    >>> model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    >>> with nn.frozen(model):
    ...     print(model.training, model[0].weight.requires_grad)
    False False
    >>> model.training, model[0].weight.requires_grad
    (True, True)
    """
    modes = [(module, module.training) for module in model.modules()]
    flags = [(param, param.requires_grad) for param in model.parameters()]
    model.eval()
    for param, _ in flags:
        param.requires_grad = False
    try:
        yield model
    finally:
        for module, training in modes:
            object.__setattr__(module, "training", training)
        for param, requires_grad in flags:
            param.requires_grad = requires_grad
