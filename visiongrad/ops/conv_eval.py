"""Convolution for inference: a convolution and the layers after it in one output pass.

In evaluation mode with no graph recorded (``vg.no_grad``), a convolution followed by
batch norm (which then uses its running statistics, a fixed per-channel affine map), the
sum with a residual block's shortcut and ReLU needs none of the maps in between:
``conv2d_eval`` runs the convolution (``ops/conv.py``'s ``Conv2d``, compiled where it fits)
and then makes one pass over its output,

    y = act((conv(x, W) + b) scale + shift + residual),

where the unfused layers take one pass each (the bias, batch norm, the sum, ReLU). The
pass is ``accel.epilogue.channel_epilogue`` on the output's channels-last rows where it
fits, else ``epilogue_reference`` (NumPy; also the reference the kernel is tested against).

NOTE: the batch norm is applied to the convolution's output, not folded into its weights
as some inference engines do: the pass over the output is needed anyway (the bias, ReLU),
so scaling there costs nothing, and there are no folded weights to keep in step with the
batch norm's parameters and statistics. What is kept between calls is the weight's
reordering for the kernels, checked against the weight's values on every call
(``accel.weight_cache``). ``nn/fusion.py`` decides which layers run through here.
"""

from __future__ import annotations

from .. import accel
from ..accel import as_nchw, channel_rows, is_channels_last
from ..accel.batched_conv import batched_fits
from ..accel.epilogue import channel_epilogue
from ..accel.weight_cache import weight_blocks
from ..autograd import Tensor, array_of, is_grad_enabled
from ..backend import array_module, is_host
from .conv import Conv2d, check_conv
from .window import check_window, pair


def batch_norm_scale_shift(running_mean, running_var, weight, bias, eps):
    """(scale, shift) per channel with eval-mode batch norm bn(z) = z scale + shift:
    scale = weight / sqrt(running_var + eps), shift = bias - running_mean scale (weight 1
    and bias 0 where None), in the running statistics' dtype.

    Examples
    --------
    >>> from visiongrad.ops.conv_eval import batch_norm_scale_shift
    >>> batch_norm_scale_shift(np.array([1.0]), np.array([4.0]), None, None, eps=0.0)
    (array([0.5]), array([-0.5]))
    """
    xp = array_module(running_var)
    scale = 1 / xp.sqrt(running_var + eps)
    if weight is not None:
        scale = weight * scale
    shift = -running_mean * scale
    if bias is not None:
        shift = bias + shift
    return scale.astype(running_var.dtype), shift.astype(running_var.dtype)


def convolution(x, weight, stride, padding, dilation, groups):
    """conv2d(x, weight) (no bias) as an array: by the compiled kernels from the weight's
    blocks kept between calls (``accel.weight_cache``) where they fit, else ``Conv2d``'s
    forward pass (the same sums; the reference)."""
    stride_hw, dilation_hw = check_conv("conv2d", x, weight, None, 1, stride, dilation, groups)
    if (groups == 1 and dilation_hw == (1, 1) and not isinstance(padding, str)
            and x.shape[0] > 0 and is_host(x) and is_host(weight)):
        padding_hw = pair(padding, "padding")
        f, kernel = weight.shape[0], weight.shape[2:]
        out_hw = check_window("conv2d", x.shape, kernel, stride_hw, padding_hw, dilation_hw)
        if accel.direct_conv_fits(x, f, out_hw) or batched_fits(
                x.shape[0], out_hw[0] * out_hw[1], f, kernel, x.dtype):
            return as_nchw(accel.direct_conv2d(x, weight, stride_hw, padding_hw, out_hw,
                                               weight_blocks(weight)))
    return Conv2d(()).forward(x, weight, None, stride, padding, dilation, groups)


def epilogue_reference(y, scale, shift, residual=None, relu=False):
    """act(y scale + shift + residual) for NCHW ``y`` and per-channel ``scale``, ``shift``
    (C,) in NumPy: the reference of the compiled pass (a new array)."""
    xp = array_module(y)
    per_channel = (1, -1) + (1,) * (y.ndim - 2)
    out = y * scale.reshape(per_channel) + shift.reshape(per_channel)
    if residual is not None:
        out = out + residual
    return xp.maximum(out, 0) if relu else out


def conv2d_eval(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, scale=None,
                shift=None, residual=None, relu=False) -> Tensor:
    """y = act((conv2d(x, weight) + bias) scale + shift + residual), with no graph: for
    inference under ``vg.no_grad()``.

    Parameters
    ----------
    x, weight, bias, stride, padding, dilation, groups
        As ``F.conv2d``: x (N, C, H, W), weight (F, C / groups, kh, kw), bias (F,) or None.
    scale, shift : (F,) or None
        A per-channel affine map after the convolution (1 and 0 where None): an eval-mode
        batch norm's (``batch_norm_scale_shift``).
    residual : (N, F, Ho, Wo) or None
        Added after the affine map (a residual block's shortcut).
    relu : bool
        ReLU at the end, else the identity.

    Raises
    ------
    RuntimeError
        Where gradients are being recorded: the op has no backward pass.

    Examples
    --------
    >>> from visiongrad.ops.conv_eval import conv2d_eval
    >>> with vg.no_grad():
    ...     y = conv2d_eval(vg.ones(1, 1, 3, 3), vg.ones(1, 1, 3, 3), padding=1,
    ...                     shift=np.array([-5.0], np.float32), relu=True)
    >>> y.numpy()[0, 0]
    array([[0., 1., 0.],
           [1., 4., 1.],
           [0., 1., 0.]], dtype=float32)
    """
    if is_grad_enabled():
        raise RuntimeError("conv2d_eval records no graph: call it under vg.no_grad() "
                           "(F.conv2d and the layers after it are the differentiable form)")
    x, weight = array_of(x), array_of(weight)
    xp = array_module(x)
    y = convolution(x, weight, stride, padding, dilation, groups)
    channels = y.shape[1]
    scale = xp.ones(channels, y.dtype) if scale is None else array_of(scale).astype(y.dtype)
    shift = xp.zeros(channels, y.dtype) if shift is None else array_of(shift).astype(y.dtype)
    if bias is not None:
        shift = array_of(bias) * scale + shift
    if residual is not None:
        residual = array_of(residual)
        if residual.shape != y.shape:
            raise ValueError(f"conv2d_eval: residual of shape {residual.shape} does not "
                             f"match the convolution's output of shape {y.shape}")
    if is_channels_last(y) and (residual is None or residual.dtype == y.dtype):
        rows = channel_rows(y)
        residual_rows = (None if residual is None
                         else xp.ascontiguousarray(channel_rows(residual)))
        if channel_epilogue(rows, scale, shift, residual_rows, relu):
            return Tensor._wrap(y)
    return Tensor._wrap(epilogue_reference(y, scale, shift, residual, relu))
