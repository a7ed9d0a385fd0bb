"""Stochastic regularisers: dropout (inverted) and dropconnect.

Masks are drawn from ``visiongrad.random.get_generator()``, so ``vg.manual_seed`` fixes
them; NumPy's global random state is never touched.
"""

from __future__ import annotations

from ..autograd import Function, Tensor
from ..backend import array_module
from ..random import get_generator
from .linear import Linear


def _check_probability(name: str, p: float) -> None:
    if not 0 <= p <= 1:
        raise ValueError(f"{name}: drop probability p must be between 0 and 1, got {p}")


def inverted_dropout_mask(shape, p, like):
    """m = keep / (1 - p) with keep ~ Bernoulli(1 - p) per element (all zeros when p = 1),
    in ``like``'s namespace and dtype; the draw is the library's seeded host generator's."""
    xp, dtype = array_module(like), like.dtype
    keep = xp.asarray(get_generator().random(shape) >= p)
    scale = 0.0 if p == 1 else 1 / (1 - p)
    return keep * xp.asarray(scale, dtype=dtype)


class Dropout(Function):
    """Inverted dropout: drop each element with probability p, scale the survivors by 1/(1-p).

    Forward (training):   y = x * m, m = keep / (1 - p), keep ~ Bernoulli(1 - p)
    Forward (evaluation): y = x
    Backward:             dx = dy * m (training), dx = dy (evaluation)
    Since E[m] = 1, E[y] = x: the network needs no rescaling at test time.

    NOTE: p is the probability of *dropping* an element, as in PyTorch. The course's
    dropout takes the probability of *keeping* one; its p is our 1 - p.
    """

    def forward(self, x, p=0.5, training=True):
        _check_probability("dropout", p)
        self.mask = inverted_dropout_mask(x.shape, p, x) if training else None
        return x * self.mask if training else x

    def backward(self, grad_out):
        return grad_out if self.mask is None else grad_out * self.mask


class DropConnect(Linear):
    """DropConnect (Wan et al. 2013): a linear layer whose weights, not units, are dropped.

    Forward (training):   y = x (W * m)^T + b, m = keep / (1 - p), keep ~ Bernoulli(1 - p)
                          per weight entry (one mask for the whole batch)
    Forward (evaluation): y = x W^T + b
    Backward:             dx = dy (W * m),  dW = (dy^T x) * m,  db = sum of dy over the batch
    Shapes:               x (..., in), W (out, in), b (out,) -> y (..., out), as ``linear``

    NOTE: the masked weights are scaled by 1/(1-p) as in inverted dropout, so evaluation is
    the plain linear layer; the paper instead leaves them unscaled and approximates the
    average over masks at test time. Drawing one mask per batch rather than per example
    keeps this one matrix product.
    """

    def forward(self, x, weight, bias=None, p=0.5, training=True):
        _check_probability("dropconnect", p)
        self.mask = inverted_dropout_mask(weight.shape, p, weight) if training else None
        return super().forward(x, weight if self.mask is None else weight * self.mask, bias)

    def backward(self, grad_out):
        dx, dweight, *dbias = super().backward(grad_out)
        if dweight is not None and self.mask is not None:
            dweight = dweight * self.mask
        return (dx, dweight, *dbias)


# ----- functional forms (``torch.nn.functional``'s names and arguments) --------------


def dropout(x, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout; ``p`` is the probability of dropping (the course's p keeps).

    Examples
    --------
    >>> _ = vg.manual_seed(0)
    >>> F.dropout(vg.ones(2, 4), p=0.5)
    Tensor([[2. 0. 0. 0.]
     [2. 2. 2. 2.]])
    >>> F.dropout(vg.ones(4), p=0.5, training=False)
    Tensor([1. 1. 1. 1.])
    """
    return Dropout.apply(x, p=p, training=training)


def dropconnect(x, weight, bias=None, p: float = 0.5, training: bool = True) -> Tensor:
    """``linear`` with each weight entry dropped with probability ``p`` at training time.

    Examples
    --------
    >>> F.dropconnect(vg.ones(2, 3), vg.ones(4, 3), training=False)
    Tensor([[3. 3. 3. 3.]
     [3. 3. 3. 3.]])
    """
    tensors = (x, weight) if bias is None else (x, weight, bias)
    return DropConnect.apply(*tensors, p=p, training=training)
