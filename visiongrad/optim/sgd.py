"""Stochastic gradient descent: PyTorch's ``SGD`` and the course's ``Momentum`` and
``Nesterov`` forms."""

from __future__ import annotations

from .. import accel
from ..backend import xp
from .optimizer import Optimizer, check_range, with_weight_decay


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, in PyTorch's form.

    Algorithm, for each parameter x with gradient g::

        g <- g + weight_decay * x                        (L2 penalty, if weight_decay)
        if momentum != 0:
            b <- g                                       (first step)
            b <- momentum * b + (1 - dampening) * g      (later steps)
            g <- g + momentum * b   if nesterov else   b
        x <- x - lr * g

    With a constant learning rate this momentum is the course's (``Momentum``) with
    v = -lr * b; the course's Nesterov form is ``Nesterov``. After the first step, float32
    parameters take the same update in one pass in C (``accel.sgd_momentum_step``) where it
    was built; the NumPy lines of ``update`` are the reference.

    Parameters
    ----------
    params : iterable of Tensor or of dict
    lr : float
    momentum : float
        mu in the course, typically 0.9 (0 is plain SGD).
    dampening : float
        Scales the new gradient in the buffer (must be 0 with Nesterov).
    weight_decay : float
        L2 penalty coefficient (``weight_decay * x`` added to the gradient).
    nesterov : bool
        Nesterov momentum (needs momentum > 0 and dampening = 0).

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import optim
    >>> w = vg.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.SGD([w], lr=0.1, momentum=0.9)
    >>> (w * w).sum().backward()   # dL/dw = 2 w
    >>> opt.step(); np.round(w.data, 4)
    array([ 0.8, -1.6], dtype=float32)
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov})

    def check_group(self, group: dict) -> None:
        super().check_group(group)
        check_range("momentum", group["momentum"])
        check_range("weight_decay", group["weight_decay"])
        check_range("dampening", group["dampening"], 0.0, 1.0, high_inclusive=True)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"Nesterov momentum requires momentum > 0 and dampening = 0, got "
                             f"momentum={group['momentum']}, dampening={group['dampening']}")

    def update(self, x, g, state: dict, group: dict) -> None:
        momentum = group["momentum"]
        buffer = state.get("momentum_buffer")
        if momentum and buffer is not None and accel.sgd_momentum_step(
                x, g, buffer, group["lr"], momentum, group["dampening"], group["weight_decay"],
                group["nesterov"]):
            return
        g = with_weight_decay(g, x, group["weight_decay"])
        if momentum:
            if buffer is None:
                buffer = state["momentum_buffer"] = g.copy()
            else:
                buffer *= momentum
                buffer += (1 - group["dampening"]) * g if group["dampening"] else g
            g = g + momentum * buffer if group["nesterov"] else buffer
        x -= group["lr"] * g


class Momentum(Optimizer):
    """SGD with momentum in the course's form: a velocity v integrates the gradient.

    Algorithm, for each parameter x with gradient g (v starts at 0)::

        g <- g + weight_decay * x        (if weight_decay)
        v <- mu * v - lr * g
        x <- x + v

    Parameters
    ----------
    params : iterable of Tensor or of dict
    lr : float
    momentum : float
        mu, in [0, 1); 0.9 is the course's usual value.
    weight_decay : float
        L2 penalty coefficient.

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import optim
    >>> w = vg.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.Momentum([w], lr=0.1)
    >>> (w * w).sum().backward()   # dL/dw = 2 w
    >>> opt.step(); np.round(w.data, 4)
    array([ 0.8, -1.6], dtype=float32)
    """

    lookahead = False  # Nesterov's correction, set by the subclass

    def __init__(self, params, lr: float = 1e-2, momentum: float = 0.9,
                 weight_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    def check_group(self, group: dict) -> None:
        super().check_group(group)
        check_range("momentum", group["momentum"], 0.0, 1.0)
        check_range("weight_decay", group["weight_decay"])

    def update(self, x, g, state: dict, group: dict) -> None:
        g = with_weight_decay(g, x, group["weight_decay"])
        mu = group["momentum"]
        v = state.setdefault("velocity", xp.zeros_like(x))
        v_prev = v.copy() if self.lookahead else None
        v *= mu
        v -= group["lr"] * g
        if self.lookahead:
            x += (1 + mu) * v - mu * v_prev
        else:
            x += v


class Nesterov(Momentum):
    """Nesterov momentum in the course's form (the "look-ahead" rewritten in x).

    Algorithm, for each parameter x with gradient g (v starts at 0)::

        g <- g + weight_decay * x        (if weight_decay)
        v_prev <- v
        v <- mu * v - lr * g
        x <- x - mu * v_prev + (1 + mu) * v

    Parameters are those of ``Momentum``.

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import optim
    >>> w = vg.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.Nesterov([w], lr=0.1)
    >>> (w * w).sum().backward()   # dL/dw = 2 w
    >>> opt.step(); np.round(w.data, 4)
    array([ 0.62, -1.24], dtype=float32)
    """

    lookahead = True
