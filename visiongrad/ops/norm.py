"""Normalisation: batch_norm (1d and spatial), layer_norm, group_norm, instance_norm.

All four standardise x over some axes, x_hat = (x - mu) * inv_std with
inv_std = 1 / sqrt(var + eps) (biased variance, as in PyTorch), then scale and shift:
y = gamma * x_hat + beta. They differ in the axes the statistics are taken over and the
axes gamma and beta run along. The backward pass through the standardisation, over a
group of M values, is

    dx = inv_std / M * (M * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat)),

with dx_hat = dy * gamma: the first term is the direct path, the second the path through
mu, the third the path through var (Ioffe and Szegedy 2015, simplified as in the course).

Layer, group and instance norm compute exactly this (``standardize``, ``standardize_backward``).
Batch norm, which runs on every convolution's output, computes the same sums on
channels-last rows with the scales folded together (its docstring derives each line);
``batch_norm_reference`` is its plain version, as the formulas read, and its tests compare
the two.
"""

from __future__ import annotations

import math

from .. import accel
from ..accel import map_rows
from ..accel.layout import (
    channel_rows,
    folded_sums,
    from_channel_rows,
    scale_and_shift,
    scale_both_and_shift,
    sums_and_dots,
    tiled,
    widen,
)
from ..autograd import Function, Tensor, array_of
from ..backend import array_module


def axis_sums(x, axes, times=None):
    """sum of x (or of x * times) over ``axes``, kept as size-1 axes: one ``einsum`` pass
    with no temporary (faster than ``sum`` over the batch axis of an (M, C) array)."""
    xp = array_module(x)
    index = list(range(x.ndim))
    kept = [a for a in index if a not in axes]
    operands = (x, index) if times is None else (x, index, times, index)
    sums = xp.einsum(*operands, kept)
    return sums.reshape([1 if a in axes else size for a, size in enumerate(x.shape)])


def standardize(x, axes, eps):
    """x_hat, inv_std, mean and biased variance of ``x`` over ``axes`` (kept as size-1 axes).

    The corrected two-pass algorithm (Chan, Golub and LeVeque 1983), in x's own dtype with
    no float64 upcast: after mu = mean(x), the centred values' mean delta is zero but for
    the rounding of mu, and it corrects both statistics,
        var = mean((x - mu)^2) - delta^2,   x_hat = (x - mu - delta) * inv_std.
    Three reading passes and three in-place ones over x's size; x_hat is the one new array,
    and float32 keeps full accuracy on data far from zero (a plain float32 mean loses about
    1e-3 of x_hat at an offset of 1e4 standard deviations).
    """
    xp = array_module(x)
    count = math.prod(x.shape[a] for a in axes)
    mu = axis_sums(x, axes) / count
    x_hat = x - mu
    delta = axis_sums(x_hat, axes) / count
    var = axis_sums(x_hat, axes, x_hat) / count - delta * delta
    inv_std = 1 / xp.sqrt(var + eps)
    x_hat -= delta
    x_hat *= inv_std
    return x_hat, inv_std, mu + delta, var


def standardize_backward(dx_hat, x_hat, inv_std, axes):
    """dx = inv_std / N * (N dx_hat - sum(dx_hat) - x_hat sum(dx_hat x_hat)), sums over ``axes``."""
    n = math.prod(dx_hat.shape[a] for a in axes)
    sum_dx_hat = axis_sums(dx_hat, axes)
    sum_dx_hat_x_hat = axis_sums(dx_hat, axes, x_hat)
    return (inv_std / n) * (n * dx_hat - sum_dx_hat - x_hat * sum_dx_hat_x_hat)


class _ScaleShift(Function):
    """Shared tail of layer and group norm: y = gamma * x_hat + beta, and its parameter
    gradients.

    Subclasses call ``scale_shift`` at the end of forward with ``param_shape`` (gamma's
    shape broadcast against x), and turn dx_hat into dx in ``input_grad``.
    """

    def scale_shift(self, x_hat, weight, bias, param_shape):
        self.x_hat, self.param_shape, self.weight_shape = x_hat, param_shape, weight.shape
        self.gamma = weight.reshape(param_shape)
        return x_hat * self.gamma + bias.reshape(param_shape)

    def input_grad(self, dx_hat):
        raise NotImplementedError

    def backward(self, grad_out):
        # dgamma = sum dy * x_hat and dbeta = sum dy, over every axis gamma is broadcast on
        param_axes = tuple(a for a, size in enumerate(self.param_shape) if size == 1)
        dx = self.input_grad(grad_out * self.gamma) if self.needs_input_grad[0] else None
        dweight = dbias = None
        if self.needs_input_grad[1]:
            dweight = axis_sums(grad_out, param_axes, self.x_hat).reshape(self.weight_shape)
        if self.needs_input_grad[2]:
            dbias = axis_sums(grad_out, param_axes).reshape(self.weight_shape)
        return dx, dweight, dbias


def batch_norm_reference(x, gamma, beta, eps=1e-5):
    """Training-mode batch norm as its formula reads, per channel over N (and H, W):
    mu = mean(x), var = mean((x - mu)^2), y = gamma (x - mu) / sqrt(var + eps) + beta.

    Plain and slow, for arrays or for Tensors (then autograd derives its backward pass
    one primitive at a time): the reference ``BatchNorm`` is tested against.
    """
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    centred = x - x.mean(axis=axes, keepdims=True)
    var = (centred * centred).mean(axis=axes, keepdims=True)
    return centred / (var + eps) ** 0.5 * gamma.reshape(shape) + beta.reshape(shape)


class BatchNorm(Function):
    """Batch normalisation over the batch axis (and the spatial axes of NCHW input).

    Forward (training):  mu = mean(x), var = mean((x - mu)^2) per channel over N (and H, W),
              x_hat = (x - mu) / sqrt(var + eps), y = gamma * x_hat + beta;
              running_mean <- (1 - momentum) running_mean + momentum mu,
              running_var  <- (1 - momentum) running_var + momentum var * M / (M - 1)
              (in place; the unbiased variance over the M values per channel, as PyTorch)
    Forward (evaluation): y = a x + b, a = gamma / sqrt(running_var + eps),
              b = beta - a running_mean
    Backward (training): with dx_hat = gamma dy, the course's
              dx = inv_std / M * (M dx_hat - sum(dx_hat) - x_hat sum(dx_hat x_hat))
              becomes, since gamma and inv_std are constant along each channel's sums,
              dx = a dy - (a / M) (sum(dy) + x_hat sum(dy x_hat)),  a = gamma inv_std
    Backward (evaluation): dx = a dy (the running statistics are constants)
    Both:     dgamma = sum(dy x_hat), dbeta = sum(dy), per channel
    Shapes:   x (N, C) or (N, C, H, W) (any (N, C, ...)); gamma, beta, running stats (C,)

    The work runs on x as (M, C) rows (``channel_rows``): a view of a convolution's
    channels-last output, so the statistics are column sums and the per-channel scales
    broadcast along rows (``widen``); y and dx come back in that same layout. The
    statistics are those of ``standardize`` (corrected two-pass, no float64), but x_hat is
    never stored: the op keeps c = x - mu, and with x_hat = (c - delta) inv_std every use
    of x_hat is rewritten in c: y = a c + (beta - a delta), and
    sum(dy x_hat) = inv_std (sum(dy c) - delta sum(dy)). Fewer passes over the
    activations than x_hat would take: 5 forward, 6 backward. The compiled passes take c =
    x - a shift near the mean (a sample of rows' mean, ``accel.batch_norm.shift_estimate``;
    delta carries the rest), which saves the exact mean's pass: 2 forward, 2 backward.
    """

    def forward(self, x, weight, bias, running_mean=None, running_var=None, training=False,
                momentum=0.1, eps=1e-5):
        xp = array_module(x)
        check_norm_input("batch_norm", x, eps)
        channels = x.shape[1]
        for name, array in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                            ("running_var", running_var)):
            if array is not None and array.shape != (channels,):
                raise ValueError(f"batch_norm: {name} of shape {array.shape} does not match "
                                 f"the {channels} channels of the input of shape {x.shape}")
        rows = channel_rows(x)
        count = rows.shape[0]
        self.x_shape, self.training, self.gamma = x.shape, training, weight
        self.compiled = accel.batch_norm_fits(rows)
        if self.compiled:  # the same lines by the compiled passes, on x itself
            self.rows = rows
        else:
            wide, self.k = widen(rows)
        if training:
            if count < 2:
                raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                                 f"training, got input of shape {x.shape}")
            if self.compiled:  # sum(c), sum(c^2) in float64, c = x - a shift near the mean
                self.mu = accel.batch_norm.shift_estimate(rows)
                sum_c, sum_c2 = accel.channel_sums(rows, self.mu)
            else:
                mu = folded_sums(wide, self.k) / count
                self.centred = xp.empty_like(wide)  # c = x - mu, with sum(c) and sum(c^2)
                sum_c, sum_c2 = sums_and_dots(wide, self.k, self.centred, subtract=mu)
            self.delta = sum_c / count
            var = sum_c2 / count - self.delta ** 2
            if self.compiled:
                self.delta, var = self.delta.astype(x.dtype), var.astype(x.dtype)
                mu = self.mu
            self.inv_std = 1 / xp.sqrt(var + eps)
            if running_mean is not None:
                running_mean *= 1 - momentum
                running_mean += momentum * (mu + self.delta)
            if running_var is not None:
                running_var *= 1 - momentum
                running_var += (momentum * count / (count - 1)) * var
        else:
            if running_mean is None or running_var is None:
                raise ValueError("batch_norm: running_mean and running_var are required "
                                 "in evaluation mode (training=False)")
            self.inv_std = (1 / xp.sqrt(running_var + eps)).astype(x.dtype)
            if self.compiled:  # c = x - mu, mu = the running mean, delta = 0
                self.mu, self.delta = running_mean, xp.zeros_like(self.inv_std)
            else:
                self.centred, self.delta = wide, running_mean.astype(x.dtype)  # c = x
        self.scale = weight * self.inv_std  # y = scale c + shift: a and beta - a delta
        self.shift = bias - self.delta * self.scale
        return from_channel_rows(self.output_rows(rows).reshape(rows.shape), x.shape)

    def output_rows(self, rows):
        """y = scale c + shift per channel, as rows (wide rows on the NumPy path)."""
        xp = array_module(rows)
        if self.compiled:
            return accel.channel_affine(rows, self.mu, self.scale, self.shift)
        return map_rows(scale_and_shift, xp.empty_like(self.centred), self.centred,
                        tiled(self.scale, self.k), tiled(self.shift, self.k))

    def backward(self, grad_out):
        xp = array_module(grad_out)
        if self.compiled:
            return self.compiled_backward(grad_out)
        dy = channel_rows(grad_out).reshape(self.centred.shape)
        needs, k = self.needs_input_grad, self.k
        sum_dy, sum_dy_c = sums_and_dots(dy, k, self.centred)
        sum_dy_x_hat = self.inv_std * (sum_dy_c - self.delta * sum_dy)
        dx = None
        if needs[0]:
            a = self.gamma * self.inv_std
            if self.training:  # dx = a dy - c (a inv_std S / M) - (a / M)(sum dy - delta inv_std S)
                per_value = a / (dy.size // a.size)
                c_scale = per_value * self.inv_std * sum_dy_x_hat
                shift = per_value * (sum_dy - self.delta * self.inv_std * sum_dy_x_hat)
                dx = map_rows(scale_both_and_shift, xp.empty_like(dy), dy, tiled(a, k),
                              self.centred, tiled(-c_scale, k), tiled(-shift, k))
            else:
                dx = map_rows(xp.multiply, xp.empty_like(dy), dy, tiled(a, k))
            dx = from_channel_rows(dx.reshape(-1, a.size), self.x_shape)
        return (dx, sum_dy_x_hat if needs[1] else None, sum_dy if needs[2] else None)

    def compiled_backward(self, grad_out, gate=None):
        """``backward``'s lines by the compiled passes: c = x - mu from the saved x as it
        goes, the sums in float64, and dx in one pass, (x - mu) (-c_scale) + a dy - shift.
        ``gate`` (``BatchNormReLU``): dy counts only where the ReLU of gate's affine was on."""
        xp = array_module(grad_out)
        dy = xp.ascontiguousarray(channel_rows(grad_out))
        needs, dtype = self.needs_input_grad, self.rows.dtype
        sum_dy, sum_dy_c = accel.channel_sums(dy, None, self.rows, self.mu, gate=gate)
        sum_dy, sum_dy_c = sum_dy.astype(dtype), sum_dy_c.astype(dtype)
        sum_dy_x_hat = self.inv_std * (sum_dy_c - self.delta * sum_dy)
        dx = None
        if needs[0]:
            a = self.gamma * self.inv_std
            if self.training:
                per_value = a / len(dy)
                c_scale = per_value * self.inv_std * sum_dy_x_hat
                shift = per_value * (sum_dy - self.delta * self.inv_std * sum_dy_x_hat)
                dx = accel.channel_affine(self.rows, self.mu, -c_scale, -shift, dy, a, gate)
            else:
                zeros = xp.zeros_like(a)  # dx = a dy (gated: 0 (x - mu) + a dy where on)
                dx = (accel.channel_affine(dy, zeros, a, zeros) if gate is None else
                      accel.channel_affine(self.rows, self.mu, zeros, zeros, dy, a, gate))
            dx = from_channel_rows(dx, self.x_shape)
        return (dx, sum_dy_x_hat if needs[1] else None, sum_dy if needs[2] else None)


class LayerNorm(_ScaleShift):
    """Layer normalisation over the trailing ``normalized_shape`` axes of each example.

    Forward:  mu, var over the last k = len(normalized_shape) axes;
              x_hat = (x - mu) / sqrt(var + eps), y = gamma * x_hat + beta
    Backward: dx = inv_std / M * (M dx_hat - sum(dx_hat) - x_hat sum(dx_hat x_hat)), the sums
              over the M = prod(normalized_shape) values of one example; dx_hat = dy * gamma;
              dgamma = sum(dy * x_hat), dbeta = sum(dy) over the leading axes
    Shapes:   x (..., *normalized_shape); gamma, beta normalized_shape
    """

    def forward(self, x, weight, bias, normalized_shape=None, eps=1e-5):
        normalized_shape = tuple(normalized_shape)
        k = len(normalized_shape)
        if k == 0 or x.shape[x.ndim - k:] != normalized_shape:
            raise ValueError(f"layer_norm: input of shape {x.shape} does not end in the "
                             f"normalized_shape {normalized_shape}")
        for name, array in (("weight", weight), ("bias", bias)):
            if array.shape != normalized_shape:
                raise ValueError(f"layer_norm: {name} of shape {array.shape} does not match "
                                 f"normalized_shape {normalized_shape}")
        self.axes = tuple(range(x.ndim - k, x.ndim))
        x_hat, self.inv_std, _, _ = standardize(x, self.axes, eps)
        return self.scale_shift(x_hat, weight, bias, (1,) * (x.ndim - k) + normalized_shape)

    def input_grad(self, dx_hat):
        return standardize_backward(dx_hat, self.x_hat, self.inv_std, self.axes)


class GroupNorm(_ScaleShift):
    """Group normalisation: channels split into G groups, statistics per example and group.

    Forward:  x viewed as (N, G, C/G, ...); mu, var over each (n, g) group's M = C/G * H * W
              values; x_hat = (x - mu) / sqrt(var + eps); y = gamma_c * x_hat + beta_c
    Backward: dx = inv_std / M * (M dx_hat - sum(dx_hat) - x_hat sum(dx_hat x_hat)), the sums
              over each group, dx_hat = dy * gamma; dgamma = sum(dy * x_hat),
              dbeta = sum(dy), per channel over N, H, W
    Shapes:   x (N, C, ...) with C divisible by G; gamma, beta (C,)
    """

    def forward(self, x, weight, bias, num_groups=1, eps=1e-5):
        if x.ndim < 2 or num_groups < 1 or x.shape[1] % num_groups:
            raise ValueError(f"group_norm: the channels (axis 1) of the input of shape "
                             f"{x.shape} do not split into {num_groups} groups")
        channels = x.shape[1]
        for name, array in (("weight", weight), ("bias", bias)):
            if array.shape != (channels,):
                raise ValueError(f"group_norm: {name} of shape {array.shape} does not match "
                                 f"the {channels} channels of the input of shape {x.shape}")
        self.x_shape = x.shape
        self.grouped_shape = (x.shape[0], num_groups, -1)
        grouped = x.reshape(self.grouped_shape)
        grouped_hat, self.inv_std, _, _ = standardize(grouped, (2,), eps)
        self.grouped_hat = grouped_hat
        x_hat = grouped_hat.reshape(x.shape)
        return self.scale_shift(x_hat, weight, bias, (1, channels) + (1,) * (x.ndim - 2))

    def input_grad(self, dx_hat):
        grouped = standardize_backward(dx_hat.reshape(self.grouped_shape), self.grouped_hat,
                                       self.inv_std, (2,))
        return grouped.reshape(self.x_shape)


def check_norm_input(op: str, x, eps, min_ndim: int = 2) -> None:
    """A floating-point input with axes (N, C, ...) and eps >= 0 (PyTorch allows 0), or a
    ValueError / TypeError naming what is wrong."""
    xp = array_module(x)
    shape = tuple(x.shape)
    if len(shape) < min_ndim:
        axes = "(N, C, ...)" if min_ndim == 2 else "(N, C, L, ...)"
        raise ValueError(f"{op}: input of shape {shape} needs axes {axes}")
    dtype = x.dtype if hasattr(x, "dtype") else xp.asarray(x).dtype
    if dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got dtype {dtype}")
    if not eps >= 0:
        raise ValueError(f"{op}: eps must be non-negative, got {eps}")


class InstanceNorm(_ScaleShift):
    """Instance normalisation: each example's channels standardised over their own spatial
    axes (group norm with one channel per group), then a per-channel scale and shift.

    Forward:  mu, var per (n, c) over the M = H W (or L, ...) values of x[n, c];
              x_hat = (x - mu) / sqrt(var + eps), y = gamma_c x_hat + beta_c;
              with running statistics (in place, averaged over the batch as PyTorch):
              running_mean <- (1 - momentum) running_mean + momentum mean_n(mu),
              running_var  <- (1 - momentum) running_var + momentum mean_n(var M / (M - 1))
    Backward: dx = inv_std / M * (M dx_hat - sum(dx_hat) - x_hat sum(dx_hat x_hat)), sums
              over each (n, c), dx_hat = dy gamma; dgamma = sum(dy x_hat), dbeta = sum(dy)
              per channel over N and the spatial axes
    Shapes:   x (N, C, L) or (N, C, H, W) (any (N, C, ...)); gamma, beta, running stats (C,)
    """

    def forward(self, x, weight, bias, running_mean=None, running_var=None, momentum=0.1,
                eps=1e-5):
        check_norm_input("instance_norm", x, eps, min_ndim=3)
        channels = x.shape[1]
        self.axes = tuple(range(2, x.ndim))
        count = math.prod(x.shape[2:])
        if count < 2:
            raise ValueError(f"instance_norm: expected more than 1 spatial element per "
                             f"channel, got input of shape {x.shape}")
        x_hat, self.inv_std, mu, var = standardize(x, self.axes, eps)
        for stat, batch_stat in ((running_mean, mu), (running_var, var * count / (count - 1))):
            if stat is not None:
                stat *= 1 - momentum
                stat += momentum * batch_stat.reshape(x.shape[:2]).mean(axis=0)
        return self.scale_shift(x_hat, weight, bias, (1, channels) + (1,) * (x.ndim - 2))

    def input_grad(self, dx_hat):
        return standardize_backward(dx_hat, self.x_hat, self.inv_std, self.axes)


def weight_and_bias(x, weight, bias, shape):
    """``weight`` and ``bias``, with the identity (ones, zeros of ``shape``) for a missing one.

    The norms always take gamma and beta; an absent one becomes a constant that needs no
    gradient, so y = x_hat * 1 + 0 is exactly the unscaled normalisation.
    """
    xp = array_module(x)
    dtype = x.dtype if hasattr(x, "dtype") else xp.asarray(x).dtype
    return (xp.ones(shape, dtype=dtype) if weight is None else weight,
            xp.zeros(shape, dtype=dtype) if bias is None else bias)


# ----- functional forms (``torch.nn.functional``'s names and arguments) --------------


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation as ``torch.nn.functional.batch_norm``; in training mode the
    running statistics (arrays or tensors, or None) are updated in place.

    Examples
    --------
    >>> x = vg.tensor([[1.0, 2.0], [3.0, 6.0]])
    >>> F.batch_norm(x, np.zeros(2), np.ones(2), training=True)
    Tensor([[-1. -1.]
     [ 1.  1.]])
    """
    check_norm_input("batch_norm", array_of(x), eps)
    weight, bias = weight_and_bias(x, weight, bias, (array_of(x).shape[1],))
    return BatchNorm.apply(x, weight, bias, running_mean=array_of(running_mean),
                           running_var=array_of(running_var), training=training,
                           momentum=momentum, eps=eps)


def instance_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats: bool = True, momentum: float = 0.1,
                  eps: float = 1e-5) -> Tensor:
    """Instance normalisation as ``torch.nn.functional.instance_norm``: each (n, c) over
    its spatial axes; with ``use_input_stats=False`` the running statistics normalise
    instead (as ``batch_norm`` in evaluation), else they are updated in place if given.

    Examples
    --------
    >>> F.instance_norm(vg.tensor([[[[1.0, 3.0], [5.0, 7.0]]]]))
    Tensor([[[[-1.3416 -0.4472]
       [ 0.4472  1.3416]]]])
    """
    check_norm_input("instance_norm", array_of(x), eps, min_ndim=3)
    if not use_input_stats:
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    weight, bias = weight_and_bias(x, weight, bias, (array_of(x).shape[1],))
    return InstanceNorm.apply(x, weight, bias, running_mean=array_of(running_mean),
                              running_var=array_of(running_var), momentum=momentum, eps=eps)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` axes, then scale by ``weight`` and
    shift by ``bias`` (both of ``normalized_shape``; None: 1 and 0).

    Examples
    --------
    >>> F.layer_norm(vg.tensor([[1.0, 2.0, 3.0]]), (3,))
    Tensor([[-1.2247  0.      1.2247]])
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    weight, bias = weight_and_bias(x, weight, bias, shape)
    return LayerNorm.apply(x, weight, bias, normalized_shape=shape, eps=eps)


def group_norm(x, num_groups: int, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Normalise x (N, C, ...) over each group of C / ``num_groups`` channels, then scale by
    ``weight`` (C,) and shift by ``bias`` (C,) (None: 1 and 0).

    Examples
    --------
    >>> F.group_norm(vg.randn(2, 4, 3, 3), num_groups=2).shape
    (2, 4, 3, 3)
    """
    weight, bias = weight_and_bias(x, weight, bias, (array_of(x).shape[1],))
    return GroupNorm.apply(x, weight, bias, num_groups=num_groups, eps=eps)
