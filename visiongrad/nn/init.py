"""Weight initialisation schemes, filling a tensor in place from the library's generator.

Every function draws from ``visiongrad.random.get_generator()`` (so ``vg.manual_seed``
makes it reproducible), keeps the tensor's dtype, and returns the tensor. Names follow
``torch.nn.init`` (the trailing underscore marks an in-place fill).

Fan-in and fan-out of a weight of shape (out, in, k1, k2, ...) are ``in * k1 * k2 ...``
and ``out * k1 * k2 ...``: for ``Linear`` (out, in) they are ``in`` and ``out``, for
``Conv2d`` (F, C, kh, kw) they are ``C kh kw`` and ``F kh kw``.

Examples
--------
>>> _ = vg.manual_seed(0)
>>> weight = nn.init.kaiming_normal_(vg.zeros(256, 128))   # std sqrt(2 / fan_in)
>>> nn.init.fan_in_and_fan_out(weight.shape), round(float(weight.data.std()), 2)
((128, 256), 0.12)
>>> nn.init.constant_(vg.zeros(1, 3), 0.5)
Tensor([[0.5 0.5 0.5]])
"""

from __future__ import annotations

import math

from ..backend import xp
from ..random import get_generator

__all__ = ["calculate_gain", "fan_in_and_fan_out", "uniform_", "normal_", "constant_", "zeros_",
           "ones_", "small_random_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
           "kaiming_normal_"]


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor by which ``nonlinearity`` shrinks the standard deviation, inverted.

    ``linear``/``conv2d``/``sigmoid``: 1, ``tanh``: 5/3, ``relu``: sqrt(2),
    ``leaky_relu`` with slope a (``param``, default 0.01): sqrt(2 / (1 + a^2)), ``selu``: 3/4.
    """
    if nonlinearity in ("linear", "identity", "conv1d", "conv2d", "conv_transpose2d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    raise ValueError(f"unknown nonlinearity {nonlinearity!r}; expected one of linear, conv2d, "
                     "sigmoid, tanh, relu, leaky_relu, selu")


def fan_in_and_fan_out(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of ``shape`` (out, in, *kernel)."""
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need a weight with at least 2 axes, got shape "
                         f"{tuple(shape)}")
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def _fill(tensor, values):
    tensor.data[...] = xp.asarray(values, dtype=tensor.data.dtype)
    return tensor


def uniform_(tensor, a: float = 0.0, b: float = 1.0):
    """Fill with U(a, b)."""
    if not a <= b:
        raise ValueError(f"uniform_ needs a <= b, got a={a}, b={b}")
    return _fill(tensor, get_generator().uniform(a, b, tensor.shape))


def normal_(tensor, mean: float = 0.0, std: float = 1.0):
    """Fill with N(mean, std^2)."""
    if std < 0:
        raise ValueError(f"std must be non-negative, got {std}")
    return _fill(tensor, get_generator().normal(mean, std, tensor.shape))


def constant_(tensor, value: float):
    """Fill with ``value``."""
    tensor.data[...] = value
    return tensor


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def small_random_(tensor, std: float = 0.01):
    """The course's first scheme: W = 0.01 * randn(...), i.e. N(0, std^2) with std 0.01.

    Fine for small networks; in deep ones the activations shrink towards zero layer by
    layer (the course's histogram demonstration), which Xavier and Kaiming fix.
    """
    return normal_(tensor, 0.0, std)


def xavier_uniform_(tensor, gain: float = 1.0):
    """Glorot & Bengio (2010): U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)).

    The standard deviation is gain * sqrt(2 / (fan_in + fan_out)).
    """
    fan_in, fan_out = fan_in_and_fan_out(tensor.shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain: float = 1.0):
    """Glorot & Bengio (2010): N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(tensor.shape)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _kaiming_std(shape, a: float, mode: str, nonlinearity: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(shape)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu"):
    """He et al. (2015): U(-b, b), b = sqrt(3) * gain / sqrt(fan), std = gain / sqrt(fan).

    ``fan`` is fan_in (``mode="fan_in"``, preserves the forward variance) or fan_out
    (preserves the backward variance); ``gain = calculate_gain(nonlinearity, a)``, e.g.
    sqrt(2) for ReLU. PyTorch's default for ``Linear`` and ``Conv2d`` is ``a=sqrt(5)``,
    which gives b = 1 / sqrt(fan_in).
    """
    bound = math.sqrt(3.0) * _kaiming_std(tensor.shape, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu"):
    """He et al. (2015): N(0, std^2), std = gain / sqrt(fan) (see ``kaiming_uniform_``)."""
    return normal_(tensor, 0.0, _kaiming_std(tensor.shape, a, mode, nonlinearity))
