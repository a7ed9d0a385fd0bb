"""Per-coordinate adaptive learning rates: AdaGrad, RMSProp, Adam and AdamW (PyTorch's forms)."""

from __future__ import annotations

import math

from .. import accel
from ..backend import xp
from .optimizer import Optimizer, check_range, with_weight_decay


class AdaGrad(Optimizer):
    """AdaGrad (Duchi et al. 2011): each coordinate's step shrinks with its gradient history.

    Algorithm, for each parameter x with gradient g, step t = 1, 2, ...
    (G starts at ``initial_accumulator_value``)::

        g <- g + weight_decay * x                (if weight_decay)
        lr_t <- lr / (1 + (t - 1) * lr_decay)
        G <- G + g * g
        x <- x - lr_t * g / (sqrt(G) + eps)

    Parameters
    ----------
    params : iterable of Tensor or of dict
    lr : float
    lr_decay : float
    weight_decay : float
    initial_accumulator_value : float
    eps : float
        Added to the denominator for numerical stability.

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import optim
    >>> w = vg.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.AdaGrad([w], lr=0.1)
    >>> (w * w).sum().backward()   # dL/dw = 2 w
    >>> opt.step(); np.round(w.data, 4)
    array([ 0.9, -1.9], dtype=float32)
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10):
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value,
                                  "eps": eps})

    def check_group(self, group: dict) -> None:
        super().check_group(group)
        for name in ("lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            check_range(name, group[name])

    def update(self, x, g, state: dict, group: dict) -> None:
        if not state:
            state["step"] = 0
            state["sum"] = xp.full_like(x, group["initial_accumulator_value"])
        state["step"] += 1
        g = with_weight_decay(g, x, group["weight_decay"])
        lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += g * g
        x -= lr * g / (xp.sqrt(state["sum"]) + group["eps"])


class RMSProp(Optimizer):
    """RMSProp (Hinton's lecture 6e): AdaGrad with a leaking sum, in PyTorch's form.

    Algorithm, for each parameter x with gradient g (s, m, b start at 0)::

        g <- g + weight_decay * x                    (if weight_decay)
        s <- alpha * s + (1 - alpha) * g * g
        if centered:                                 (divide by the gradient's std)
            m <- alpha * m + (1 - alpha) * g
            d <- sqrt(s - m * m) + eps
        else:
            d <- sqrt(s) + eps
        if momentum > 0:
            b <- momentum * b + g / d
            x <- x - lr * b
        else:
            x <- x - lr * g / d

    The course's RMSProp is this with alpha = decay_rate (0.99) and no momentum.

    Parameters
    ----------
    params : iterable of Tensor or of dict
    lr, alpha, eps, weight_decay, momentum : float
    centered : bool

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import optim
    >>> w = vg.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.RMSProp([w], lr=0.1)
    >>> (w * w).sum().backward()   # dL/dw = 2 w
    >>> opt.step(); np.round(w.data, 4)
    array([ 0., -1.], dtype=float32)
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False):
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps,
                                  "weight_decay": weight_decay, "momentum": momentum,
                                  "centered": centered})

    def check_group(self, group: dict) -> None:
        super().check_group(group)
        check_range("alpha", group["alpha"], 0.0, 1.0, high_inclusive=True)
        for name in ("eps", "weight_decay", "momentum"):
            check_range(name, group[name])

    def update(self, x, g, state: dict, group: dict) -> None:
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(x)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(x)
            if group["momentum"] > 0:
                state["momentum_buffer"] = xp.zeros_like(x)
        state["step"] += 1
        g = with_weight_decay(g, x, group["weight_decay"])
        alpha = group["alpha"]
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * g * g
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg *= alpha
            grad_avg += (1 - alpha) * g
            denominator = xp.sqrt(square_avg - grad_avg * grad_avg) + group["eps"]
        else:
            denominator = xp.sqrt(square_avg) + group["eps"]
        if group["momentum"] > 0:
            buffer = state["momentum_buffer"]
            buffer *= group["momentum"]
            buffer += g / denominator
            x -= group["lr"] * buffer
        else:
            x -= group["lr"] * g / denominator


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015): momentum plus RMSProp, with bias correction.

    Algorithm, for each parameter x with gradient g, step t = 1, 2, ...
    (m, v, v_max start at 0)::

        g <- g + weight_decay * x                (L2 penalty, if weight_decay)
        m <- beta1 * m + (1 - beta1) * g         (first moment)
        v <- beta2 * v + (1 - beta2) * g * g     (second moment)
        m_hat <- m / (1 - beta1^t),  v_hat <- v / (1 - beta2^t)     (bias correction)
        if amsgrad: v_max <- max(v_max, v); v_hat <- v_max / (1 - beta2^t)
        x <- x - lr * m_hat / (sqrt(v_hat) + eps)

    Parameters
    ----------
    params : iterable of Tensor or of dict
    lr : float
    betas : (float, float)
        beta1, beta2 in [0, 1); the course's 0.9 and 0.999.
    eps : float
    weight_decay : float
        L2 penalty folded into the gradient (``AdamW`` decouples it instead).
    amsgrad : bool
        Use the running maximum of v (Reddi et al. 2018).

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import optim
    >>> w = vg.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.Adam([w], lr=0.1)
    >>> (w * w).sum().backward()   # dL/dw = 2 w
    >>> opt.step(); np.round(w.data, 4)
    array([ 0.9, -1.9], dtype=float32)
    """

    decoupled_weight_decay = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False):
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay, "amsgrad": amsgrad})

    def check_group(self, group: dict) -> None:
        super().check_group(group)
        if len(group["betas"]) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {group['betas']}")
        for i, beta in enumerate(group["betas"]):
            check_range(f"beta{i + 1}", beta, 0.0, 1.0)
        check_range("eps", group["eps"])
        check_range("weight_decay", group["weight_decay"])

    def update(self, x, g, state: dict, group: dict) -> None:
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(x)
            state["exp_avg_sq"] = xp.zeros_like(x)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(x)
        state["step"] += 1
        t, lr, (beta1, beta2) = state["step"], group["lr"], group["betas"]
        if self.decoupled_weight_decay:
            x *= 1 - lr * group["weight_decay"]
        else:
            g = with_weight_decay(g, x, group["weight_decay"])
        coefficients = (lr / (1 - beta1**t), math.sqrt(1 - beta2**t), beta1, beta2,
                        group["eps"])
        if accel.adam_step(x, g, state["exp_avg"], state["exp_avg_sq"],
                           state["max_exp_avg_sq"] if group["amsgrad"] else None, beta1,
                           beta2, *coefficients[:2], group["eps"]):
            return  # the same update in one compiled pass (float32 arrays in C order)
        arrays = [x, g, state["exp_avg"], state["exp_avg_sq"]] + (
            [state["max_exp_avg_sq"]] if group["amsgrad"] else [])

        def lines(x, g, m, v, v_max=None):
            adam_lines(x, g, m, v, v_max, *coefficients)

        flat = accel.flat_views(*arrays)
        if flat is None:
            lines(*arrays)
        else:  # elementwise lines: the same on one part of the values per core
            accel.in_parts(lambda part: lines(*(a[part] for a in flat)), x.size,
                           len(arrays) * x.nbytes)


def adam_lines(x, g, m, v, v_max, step_size, correction2, beta1, beta2, eps) -> None:
    """Adam's update of x (and its moments m, v, v_max: None without amsgrad) in place.

    In place, through one scratch array per term: the same operations in the same order as
    the formulas of ``Adam``, so the same bits, with 3 temporaries instead of 8.
    ``step_size`` = lr / (1 - beta1^t), ``correction2`` = sqrt(1 - beta2^t).
    """
    scratch = xp.empty_like(g)   # an array even for a 0-d parameter
    xp.multiply(g, 1 - beta1, out=scratch)
    m *= beta1
    m += scratch
    xp.multiply(g, 1 - beta2, out=scratch)
    scratch *= g
    v *= beta2
    v += scratch
    if v_max is not None:
        xp.maximum(v_max, v, out=v_max)
        v = v_max
    denominator = xp.sqrt(v)
    denominator /= correction2
    denominator += eps
    step = xp.multiply(m, step_size)
    step /= denominator
    x -= step


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019).

    Algorithm: as ``Adam`` without the L2 term in the gradient; instead, before the update::

        x <- x * (1 - lr * weight_decay)

    so the decay does not pass through the adaptive scaling. Parameters are ``Adam``'s;
    ``weight_decay`` defaults to 1e-2.

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import optim
    >>> w = vg.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.AdamW([w], lr=0.1, weight_decay=0.01)
    >>> (w * w).sum().backward()   # dL/dw = 2 w
    >>> opt.step(); np.round(w.data, 4)
    array([ 0.899, -1.898], dtype=float32)
    """

    decoupled_weight_decay = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
