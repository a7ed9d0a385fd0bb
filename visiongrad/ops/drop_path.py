"""Drop-path: a whole example's (or the whole batch's) branch dropped at once, the
regulariser of FractalNet (Larsson et al. 2017) and stochastic depth (Huang et al. 2016).

Masks come from ``visiongrad.random.get_generator()``, so ``vg.manual_seed`` fixes them.
"""

from __future__ import annotations

from ..autograd import Function, Tensor
from .regularize import inverted_dropout_mask

DROP_PATH_MODES = ("row", "batch")


class DropPath(Function):
    """Drop each example's branch (``mode="row"``) or the whole batch's (``"batch"``) with
    probability p, scaling what survives by 1 / (1 - p) (torchvision's ``stochastic_depth``).

    Forward (training):   y = x * m, m = keep / (1 - p), keep ~ Bernoulli(1 - p), one draw
                          per example (m of shape (N, 1, ..., 1)) or one for the batch
    Forward (evaluation): y = x
    Backward:             dx = dy * m (training), dx = dy (evaluation)
    Since E[m] = 1, E[y] = x in training, equal to the evaluation output.
    """

    def forward(self, x, p=0.5, training=True, mode="row"):
        if not 0 <= p <= 1:
            raise ValueError(f"drop_path: drop probability p must be between 0 and 1, got {p}")
        if mode not in DROP_PATH_MODES:
            raise ValueError(f"drop_path: mode must be 'row' or 'batch', got {mode!r}")
        if x.ndim < 1:
            raise ValueError("drop_path expects input with a batch axis, got a scalar")
        shape = (x.shape[0] if mode == "row" else 1,) + (1,) * (x.ndim - 1)
        self.mask = inverted_dropout_mask(shape, p, x) if training and p else None
        return x if self.mask is None else x * self.mask

    def backward(self, grad_out):
        return grad_out if self.mask is None else grad_out * self.mask


# ----- functional forms (``torch.nn.functional``'s names and arguments) --------------


def drop_path(x, p: float = 0.5, training: bool = True, mode: str = "row") -> Tensor:
    """Zero each example's input (``mode="row"``) or the whole batch's (``"batch"``) with
    probability ``p``, scaling the rest by 1 / (1 - p): torchvision's ``stochastic_depth``.

    Examples
    --------
    >>> _ = vg.manual_seed(0)
    >>> F.drop_path(vg.ones(4, 2), p=0.5)
    Tensor([[2. 2.]
     [0. 0.]
     [0. 0.]
     [0. 0.]])
    """
    return DropPath.apply(x, p=p, training=training, mode=mode)
