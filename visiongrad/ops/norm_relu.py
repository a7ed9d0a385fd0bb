"""Batch norm and the ReLU after it as one op, with an optional residual added between
them: relu(batch_norm(x) + residual), the tail of every conv-BN-ReLU and of a residual
block; with ``negative_slope`` > 0, the leaky ReLU after a batch norm (a DCGAN
discriminator's conv-BN-LeakyReLU).

Composed of three ops, the tail writes z = batch_norm(x), then z + residual, then the
ReLU's output, and its backward pass writes the ReLU's gradient, then batch norm's: each
a pass over the activations, which cost as much as the convolutions' arithmetic on small
maps. As one op the scale, shift, residual and ReLU are one pass after batch norm's
statistics; without a residual, the backward pass gates dy by the ReLU's mask inside
batch norm's two passes (the mask recomputed from the saved x by the compiled kernels:
nothing is kept for it there). ``batch_norm_relu_reference`` is the composition it is
tested against.
"""

from __future__ import annotations

from .. import accel
from ..accel import channel_rows
from ..autograd import Tensor, array_of
from ..backend import array_module
from .activation import leaky_relu, relu
from .norm import BatchNorm, batch_norm, check_norm_input, weight_and_bias


def batch_norm_relu_reference(x, running_mean, running_var, weight=None, bias=None,
                              training=False, momentum=0.1, eps=1e-5, residual=None,
                              negative_slope=0.0):
    """relu(batch_norm(x) + residual) as three ops (no residual where it is None; a leaky
    ReLU where ``negative_slope`` is not 0): the composition ``BatchNormReLU`` is tested
    against."""
    z = batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)
    z = z if residual is None else z + residual
    return relu(z) if negative_slope == 0 else leaky_relu(z, negative_slope)


def leaky_slopes(y, slope):
    """1 where y > 0, else ``slope``, in y's dtype: the leaky ReLU's derivative."""
    return array_module(y).where(y > 0, 1, slope).astype(y.dtype)


class BatchNormReLU(BatchNorm):
    """relu(batch_norm(x) + r) in one node (r, the residual, optional), or the leaky ReLU
    of slope a >= 0 (a = 0: the ReLU).

    Forward:  z = gamma x_hat + beta as ``BatchNorm`` (its statistics and running
              statistics), y = z + r where z + r > 0, else a (z + r), in one pass after
              the statistics
    Backward: dz = dy where y > 0, else a dy;  dr = dz;  dx, dgamma, dbeta = ``BatchNorm``'s
              backward of dz (without r, on the compiled path, [y > 0] is [z > 0]
              recomputed from x inside batch norm's two backward passes: no dz array, y
              not kept)
    Shapes:   x (N, C) or (N, C, H, W) (any (N, C, ...)); r as x; gamma, beta (C,)
    """

    def forward(self, x, weight, bias, residual=None, negative_slope=0.0,
                **batch_norm_options):
        if residual is not None and (residual.shape != x.shape or residual.dtype != x.dtype):
            raise ValueError(f"batch_norm_relu: residual of shape {residual.shape} and dtype "
                             f"{residual.dtype} does not match the input's {x.shape} and "
                             f"{x.dtype}")
        self.residual, self.slope = residual, negative_slope
        y = super().forward(x, weight, bias, **batch_norm_options)
        self.has_residual, self.residual = residual is not None, None
        self.y = y if self.has_residual or not self.compiled else None  # the rectifier's mask
        return y

    def output_rows(self, rows):
        """y = z where z > 0, else slope z, z = scale c + shift + r per channel, as (wide)
        rows."""
        xp = array_module(rows)
        residual = None if self.residual is None else channel_rows(self.residual)
        if self.compiled:
            residual = None if residual is None else xp.ascontiguousarray(residual)
            return accel.batch_norm.channel_affine_relu(rows, self.mu, self.scale, self.shift,
                                                        residual, self.slope)
        y = super().output_rows(rows)
        if residual is not None:
            y += residual.reshape(y.shape)
        if self.slope == 0:
            return xp.maximum(y, 0, out=y)
        return xp.multiply(y, leaky_slopes(y, self.slope), out=y)

    def backward(self, grad_out):
        if self.compiled and not self.has_residual:
            return self.compiled_backward(grad_out, gate=(self.scale, self.shift, self.slope))
        if self.slope == 0:
            dz = accel.relu_backward(grad_out, self.y)
            dz = grad_out * (self.y > 0) if dz is None else dz
        else:  # y > 0 where z > 0: the slope is not negative
            dz = accel.leaky_relu_backward(grad_out, self.y, self.slope)
            dz = grad_out * leaky_slopes(self.y, self.slope) if dz is None else dz
        grads = super().backward(dz)
        return (*grads, dz) if self.has_residual else grads


def batch_norm_relu(x, running_mean, running_var, weight=None, bias=None,
                    training: bool = False, momentum: float = 0.1, eps: float = 1e-5,
                    residual=None, negative_slope: float = 0.0) -> Tensor:
    """relu(batch_norm(x) + residual) in one op (``BatchNormReLU``), with ``batch_norm``'s
    arguments; no residual where it is None; with ``negative_slope`` a > 0, the leaky ReLU
    (z where z > 0, else a z) instead. The same values as the three ops, to float32
    rounding.

    NOTE: PyTorch has no such op; ``nn.Sequential`` runs a ``BatchNorm`` followed by a
    ``ReLU`` or ``LeakyReLU`` through it, and ResNet's blocks their last batch norm,
    shortcut and ReLU.

    Examples
    --------
    >>> x = vg.tensor([[1.0, 2.0], [3.0, 6.0]])
    >>> F.batch_norm_relu(x, np.zeros(2), np.ones(2), training=True)
    Tensor([[0. 0.]
     [1. 1.]])
    """
    check_norm_input("batch_norm_relu", array_of(x), eps)
    if not 0 <= negative_slope < float("inf"):
        raise ValueError(f"batch_norm_relu: negative_slope must be a finite number >= 0, got "
                         f"{negative_slope!r}")
    weight, bias = weight_and_bias(x, weight, bias, (array_of(x).shape[1],))
    tensors = (x, weight, bias) if residual is None else (x, weight, bias, residual)
    return BatchNormReLU.apply(*tensors, running_mean=array_of(running_mean),
                               running_var=array_of(running_var), training=training,
                               momentum=momentum, eps=eps, negative_slope=float(negative_slope))
